"""Whatever the service answers, every client method raises only HappyFollowerError.

One scripted server and one session per test; hypothesis swaps the answers in the
server's slot between examples. Each test runs its own event loop (hypothesis and
function-scoped async fixtures do not mix).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared_client import (
    HappyFollowerClient,
    HappyFollowerError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerResponseError,
    OrderStatus,
    Service,
)
from shared_client import protocol as p

from .scripted import Answer, ScriptedServer

ROOT = "/api/v1"
LINK = "https://www.instagram.com/mehdifeizi"
ENDPOINTS = ("auth", "ref-auth", "services", "order", "status", "cancel", "recheck", "credit")
GOOD_AUTH = Answer(200, b'{"operation": "success", "refreshToken": "r", "token": "t"}')
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def endpoint_of(path: str) -> str:
    rel = path.removeprefix(ROOT)
    if rel.startswith("/status/"):
        return "status"
    return rel.strip("/")


# --- strategies ----------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 10**400, 2**63, 1.5, 1e308, 1e-300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "12", "۱۲", "1,000", "1e999", "nan", "-5", "success", "توکن"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
api_keys = st.sampled_from(
    [
        "operation",
        "token",
        "refreshToken",
        "services",
        "serviceId",
        "name",
        "orderId",
        "status",
        "statusTitle",
        "remain",
        "oldCount",
        "count",
        "cost",
        "link",
        "credit",
        "message",
        "msg",
        "error",
    ]
)
shaped = st.dictionaries(
    api_keys,
    st.one_of(
        json_values,
        st.sampled_from(["success", "error", "registered", p.MESSAGE_NOT_ENOUGH_CREDIT]),
        st.lists(st.dictionaries(api_keys, json_values, max_size=3), max_size=3),
    ),
    max_size=8,
)
bodies = st.one_of(
    shaped.map(lambda body: json.dumps(body, ensure_ascii=False).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"",
            b"<html><body>502 Bad Gateway</body></html>",
            b'\xef\xbb\xbf{"operation": "success", "credit": 5}',
            b"[" * 100_000,
            b'{"operation": "success", "credit": 1' + b"0" * 400 + b"}",
            b'{"operation": "success", "orderId": ' + b"9" * 5000 + b"}",
            b'{"operation": "success", "credit": NaN, "orderId": -Infinity}',
            '{"operation": "error", "message": "خطا"}'.encode(),
        ]
    ),
)
statuses = st.one_of(
    st.sampled_from([200, 201, 400, 401, 403, 404, 422, 429, 500, 502, 503]),
    st.integers(min_value=200, max_value=599).filter(lambda s: s not in (204, 205, 304)),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
        "Content-Type": st.sampled_from(
            ["application/json", "text/html", "application/json; charset=windows-1256"]
        ),
    },
)
answers = st.builds(Answer, status=statuses, body=bodies, headers=headers)


# --- harness -------------------------------------------------------------------

Call = Callable[[HappyFollowerClient], Awaitable[object]]
CALLS: dict[str, Call] = {
    "authenticate": lambda c: c.authenticate(),
    "refresh_token": lambda c: c.refresh_token(),
    "get_services": lambda c: c.get_services(),
    "place_order": lambda c: c.place_order(service_id=10, link=LINK, count=100),
    "get_order_status": lambda c: c.get_order_status(1),
    "cancel_order": lambda c: c.cancel_order(1),
    "recheck_order": lambda c: c.recheck_order(1),
    "get_credit": lambda c: c.get_credit(),
}


def check_result(name: str, result: object) -> None:
    """A success must be the documented type, never raw data."""
    if name == "get_services":
        assert isinstance(result, list)
        assert all(isinstance(item, Service) for item in result)
    elif name == "place_order":
        assert type(result) is int
        assert result > 0
    elif name == "get_order_status":
        assert isinstance(result, OrderStatus)
        assert 0 <= result.delivered <= max(result.count, 0)
        assert 0 <= result.progress <= 100
    elif name == "get_credit":
        assert type(result) in (int, float)
    else:
        assert result is None


class Harness:
    """A scripted server and a session living in one event loop for a whole test."""

    def __init__(self, runner: asyncio.Runner) -> None:
        self.runner = runner
        self.server = ScriptedServer()
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        await self.server.__aenter__()
        self.session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self.server.__aexit__(None, None, None)

    async def exercise(self, names: list[str], *, sandbox: bool = False) -> None:
        async with HappyFollowerClient(
            "the-key",
            session=self.session,
            sandbox=sandbox,
            base_url=self.server.origin + ROOT,
            read_retries=1,
            retry_backoff=0,
            request_timeout=5,
        ) as client:
            for name in names:
                try:
                    result = await CALLS[name](client)
                except HappyFollowerError:
                    continue
                check_result(name, result)


@pytest.fixture
def harness() -> Iterator[Harness]:
    with asyncio.Runner() as runner:
        harness = Harness(runner)
        runner.run(harness.start())
        try:
            yield harness
        finally:
            runner.run(harness.stop())


def test_any_answer_to_any_endpoint(harness: Harness) -> None:
    """Authentication works; every other endpoint answers anything at all."""

    @FUZZ
    @given(answer=answers, name=st.sampled_from(sorted(CALLS)))
    def example(answer: Answer, name: str) -> None:
        def respond(method: str, path: str) -> Answer:
            return GOOD_AUTH if endpoint_of(path) == "auth" else answer

        harness.server.responder = respond
        harness.runner.run(harness.exercise([name]))

    example()


def test_any_answer_to_authentication(harness: Harness) -> None:
    """Authentication itself answers anything; each endpoint may answer differently."""

    @FUZZ
    @given(script=st.fixed_dictionaries({name: answers for name in ENDPOINTS}))
    def example(script: dict[str, Answer]) -> None:
        def respond(method: str, path: str) -> Answer:
            return script.get(endpoint_of(path), Answer(404))

        harness.server.responder = respond
        harness.runner.run(harness.exercise(sorted(CALLS)))

    example()


def test_answers_changing_between_retries(harness: Harness) -> None:
    """A sequence of answers (retries, refresh, re-auth) still ends in a typed outcome."""

    @FUZZ
    @given(
        script=st.lists(answers, min_size=1, max_size=8),
        names=st.lists(st.sampled_from(sorted(CALLS)), min_size=1, max_size=4),
    )
    def example(script: list[Answer], names: list[str]) -> None:
        queue = list(script)

        def respond(method: str, path: str) -> Answer:
            return queue.pop(0) if queue else GOOD_AUTH

        harness.server.responder = respond
        harness.runner.run(harness.exercise(names))

    example()


HUGE = b"1" + b"0" * 400  # a JSON int that float() cannot hold
REGRESSIONS = [
    ("get_credit", b'{"operation": "success", "credit": ' + HUGE + b"}", None),
    ("get_credit", b"[" * 100_000, HappyFollowerResponseError),  # RecursionError in json
    ("get_credit", b'{"operation": "success", "credit": Infinity}', HappyFollowerResponseError),
    ("get_credit", b'{"operation": "success", "credit": "1e999"}', HappyFollowerResponseError),
    (
        "get_services",
        b'{"operation": "success", "services": [{"serviceId": ' + HUGE + b', "name": "x"}]}',
        None,
    ),
    (
        "get_order_status",
        b'{"operation": "success", "status": "x", "remain": ' + HUGE + b', "count": 1}',
        None,
    ),
    ("place_order", b'{"operation": "success", "orderId": ' + HUGE + b"}", None),
    (
        "place_order",
        b'{"operation": "success", "orderId": 0}',
        HappyFollowerOrderOutcomeUnknownError,
    ),
    (
        "place_order",
        b'{"operation": "success", "orderId": -3}',
        HappyFollowerOrderOutcomeUnknownError,
    ),
    ("place_order", b"[" * 100_000, HappyFollowerOrderOutcomeUnknownError),
    ("place_order", b"<html>OK</html>", HappyFollowerOrderOutcomeUnknownError),
]


@pytest.mark.parametrize(
    ("name", "body", "error"),
    REGRESSIONS,
    ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(REGRESSIONS)],
)
def test_regressions(
    harness: Harness, name: str, body: bytes, error: type[HappyFollowerError] | None
) -> None:
    """Answers the fuzzing found (or should find), pinned."""

    def respond(method: str, path: str) -> Answer:
        return GOOD_AUTH if endpoint_of(path) == "auth" else Answer(200, body)

    harness.server.responder = respond

    async def run() -> object:
        async with HappyFollowerClient(
            "k", session=harness.session, base_url=harness.server.origin + ROOT, read_retries=0
        ) as client:
            return await CALLS[name](client)

    if error is None:
        check_result(name, harness.runner.run(run()))
    else:
        with pytest.raises(error):
            harness.runner.run(run())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("12", 12.0),
        ("inf", None),
        ("nan", None),
        ("-1", None),
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),
    ],
)
def test_retry_after_is_finite_or_none(
    harness: Harness, header: str, expected: float | None
) -> None:
    def respond(method: str, path: str) -> Answer:
        if endpoint_of(path) == "auth":
            return GOOD_AUTH
        return Answer(429, b"{}", {"Retry-After": header})

    harness.server.responder = respond

    async def run() -> None:
        async with HappyFollowerClient(
            "k", session=harness.session, base_url=harness.server.origin + ROOT
        ) as client:
            await client.get_credit()

    with pytest.raises(HappyFollowerRateLimitError) as caught:
        harness.runner.run(run())
    assert caught.value.retry_after == expected


def test_parsing_models_never_raises_anything_else() -> None:
    """The models only ever fail with pydantic's ValidationError."""
    from pydantic import ValidationError

    @FUZZ
    @given(data=shaped)
    def example(data: dict[str, Any]) -> None:
        for model in (OrderStatus, Service):
            with contextlib.suppress(ValidationError):
                model.model_validate(data)

    example()
