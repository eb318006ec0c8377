"""Each alternative the vendor's documentation leaves open, switched on in the simulator and
seen over raw HTTP: the default dialect is protocol.py's assumptions, the others differ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from shared_client import protocol as p
from shared_client.simulator import (
    DIALECTS,
    PANEL_STATUS_WORDS,
    BodyEncoding,
    Dialect,
    ErrorShape,
    Fault,
    Simulator,
)

LINK = "https://www.instagram.com/mehdifeizi"
ORDER = {"serviceId": "10", "link": LINK, "count": "100"}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator() as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def answer(
    http: aiohttp.ClientSession, method: str, url: str, token: str | None = None, **kwargs: Any
) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, url, headers=headers, **kwargs) as response:
        return response.status, response.content_type, await response.text()


async def token_of(http: aiohttp.ClientSession, sim: Simulator, key: str) -> str:
    async with http.get(
        sim.base_url + p.PATH_AUTH, headers={"Authorization": f"Bearer {key}"}
    ) as r:
        token: str = (await r.json())["token"]
    return token


def test_the_default_dialect_is_the_assumed_one() -> None:
    assert Dialect() == DIALECTS["assumed"]
    assert Dialect().credential_refused_status == p.HTTP_STATUS_UNAUTHORIZED
    assert Dialect().not_enough_credit_message == p.MESSAGE_NOT_ENOUGH_CREDIT
    dialects = list(DIALECTS.values())
    assert all(dialects.count(d) == 1 for d in dialects)  # each name is its own behaviour


@pytest.mark.parametrize(
    ("bodies", "form_ok", "json_ok"),
    [
        (BodyEncoding.FORM_OR_JSON, True, True),
        (BodyEncoding.FORM, True, False),
        (BodyEncoding.JSON, False, True),
    ],
)
async def test_body_encodings(
    sim: Simulator, http: aiohttp.ClientSession, bodies: BodyEncoding, form_ok: bool, json_ok: bool
) -> None:
    sim.dialect = Dialect(bodies=bodies)
    key = sim.add_account()
    token = await token_of(http, sim, key)
    url = sim.base_url + p.PATH_ORDER
    form = await answer(http, "POST", url, token, data=ORDER)
    as_json = await answer(http, "POST", url, token, json=ORDER)
    for (status, _, text), ok in ((form, form_ok), (as_json, json_ok)):
        assert (status == 200) is ok, text
        if not ok:  # an unread body is an empty one: the parameters are missing
            assert status == p.HTTP_STATUS_REFUSED
            assert p.MESSAGE_INVALID_INPUT in text
    assert len(sim.orders(key)) == form_ok + json_ok
    # What was sent is recorded whatever the service read of it.
    assert [r.form for r in sim.requests if r.endpoint == "order"] == [ORDER, ORDER]


@pytest.mark.parametrize("status", [401, 403, 200])
async def test_refused_token_and_key_status(
    sim: Simulator, http: aiohttp.ClientSession, status: int
) -> None:
    sim.dialect = Dialect(credential_refused_status=status)
    for path, token in ((p.PATH_CREDIT, "made-up-token"), (p.PATH_AUTH, "made-up-key")):
        got, content_type, text = await answer(http, "GET", sim.base_url + path, token)
        assert got == status
        assert content_type == "application/json"
        assert '"operation": "error"' in text
        assert "made-up" not in text  # not echoed unless the dialect says so


async def test_unauthenticated_wording(sim: Simulator, http: aiohttp.ClientSession) -> None:
    sim.dialect = DIALECTS["token-refused-unauthenticated"]
    status, _, text = await answer(http, "GET", sim.base_url + p.PATH_CREDIT, "made-up")
    assert status == 200
    assert "Unauthenticated." in text
    assert "توکن" not in text


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (
            ErrorShape.OPERATION_MESSAGE,
            {"operation": "error", "message": p.MESSAGE_ORDER_NOT_FOUND},
        ),
        (ErrorShape.OPERATION_MSG, {"operation": "error", "msg": p.MESSAGE_ORDER_NOT_FOUND}),
        (ErrorShape.OPERATION_ERROR, {"operation": "error", "error": p.MESSAGE_ORDER_NOT_FOUND}),
        (ErrorShape.STATUS_MESSAGE, {"status": "error", "message": p.MESSAGE_ORDER_NOT_FOUND}),
    ],
)
async def test_error_shapes(
    sim: Simulator, http: aiohttp.ClientSession, shape: ErrorShape, expected: dict[str, str]
) -> None:
    sim.dialect = Dialect(error_shape=shape)
    token = await token_of(http, sim, sim.add_account())
    async with http.get(
        sim.base_url + "/status/999/", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == p.HTTP_STATUS_NOT_FOUND
        assert await response.json() == expected


async def test_plain_text_errors_with_http_200(sim: Simulator, http: aiohttp.ClientSession) -> None:
    sim.dialect = Dialect(error_shape=ErrorShape.PLAIN_TEXT, errors_with_http_200=True)
    token = await token_of(http, sim, sim.add_account())
    status, content_type, text = await answer(http, "GET", sim.base_url + "/status/9/", token)
    assert (status, content_type, text) == (200, "text/plain", p.MESSAGE_ORDER_NOT_FOUND)


async def test_rate_limit_keeps_429_with_http_200_errors(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    sim.dialect = Dialect(errors_with_http_200=True)
    sim.inject("auth", Fault.RATE_LIMITED, retry_after=3)
    async with http.get(sim.base_url + p.PATH_AUTH) as response:
        assert response.status == p.RATE_LIMITED_STATUS
        assert response.headers["Retry-After"] == "3"


async def test_panel_status_words(sim: Simulator, http: aiohttp.ClientSession) -> None:
    sim.dialect = Dialect(status_words=PANEL_STATUS_WORDS)
    key = sim.add_account()
    token = await token_of(http, sim, key)
    async with http.post(
        sim.base_url + p.PATH_ORDER, data=ORDER, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        order_id = (await response.json())["orderId"]
    url = sim.base_url + p.PATH_STATUS.format(order_id=order_id)
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(url, headers=headers) as response:
        assert (await response.json())["status"] == "Pending"
    sim.advance(100)  # within the token's lifetime
    async with http.get(url, headers=headers) as response:
        assert (await response.json())["status"] == "Completed"
    assert sim.orders(key)[0].status == p.STATUS_COMPLETED  # only the word sent changes


async def test_not_enough_credit_wording(sim: Simulator, http: aiohttp.ClientSession) -> None:
    sim.dialect = DIALECTS["credit-wording-english"]
    key = sim.add_account(credit=10)
    token = await token_of(http, sim, key)
    status, _, text = await answer(http, "POST", sim.base_url + p.PATH_ORDER, token, data=ORDER)
    assert status == p.HTTP_STATUS_REFUSED
    assert "enough funds" in text
    assert not any(marker in text for marker in p.NOT_ENOUGH_CREDIT_MARKERS)


async def test_echo_credentials(sim: Simulator, http: aiohttp.ClientSession) -> None:
    sim.dialect = DIALECTS["echo-credentials"]
    status, _, text = await answer(http, "GET", sim.base_url + p.PATH_CREDIT, "leaky-token-123")
    assert status == p.HTTP_STATUS_UNAUTHORIZED
    assert "leaky-token-123" in text
