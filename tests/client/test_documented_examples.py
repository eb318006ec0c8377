"""The documentation's own example answers, served over HTTP, parse into the models."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shared_client import HappyFollowerClient, OrderStatus, Service
from shared_client import protocol as p

from .scripted import Answer, ScriptedServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "api_v1"
SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "happy-follower-api-v1.fa.txt"
# The order in which the vendor's page documents the endpoints.
DOCUMENTED_ORDER = (
    "auth",
    "ref-auth",
    "services",
    "order",
    "status",
    "cancel",
    "recheck",
    "credit",
)
ROOT = "/api/v1"


def example(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def endpoint_of(path: str) -> str | None:
    rel = path.removeprefix(ROOT)
    if re.fullmatch(r"/status/[^/]+/", rel):
        return "status"
    fixed = {
        p.PATH_AUTH: "auth",
        p.PATH_REFRESH: "ref-auth",
        p.PATH_SERVICES: "services",
        p.PATH_ORDER: "order",
        p.PATH_CANCEL: "cancel",
        p.PATH_RECHECK: "recheck",
        p.PATH_CREDIT: "credit",
    }
    return fixed.get(rel)


def documented(method: str, path: str) -> Answer:
    name = endpoint_of(path)
    if name is None:
        return Answer(404, b"not documented")
    return Answer(200, example(name), {"Content-Type": "application/json; charset=utf-8"})


@pytest.mark.skipif(not SEED.exists(), reason="the vendor's documentation is not beside the repo")
def test_fixtures_are_the_documentation_examples() -> None:
    text = SEED.read_text(encoding="utf-8")
    bodies = re.findall(r"پاسخ مثال:\s*(\{.*?\n\})", text, flags=re.DOTALL)
    assert len(bodies) == len(DOCUMENTED_ORDER)
    for name, body in zip(DOCUMENTED_ORDER, bodies, strict=True):
        assert json.loads(example(name)) == json.loads(body), name


async def test_every_documented_example_parses() -> None:
    async with (
        ScriptedServer(documented) as server,
        HappyFollowerClient("the-key", base_url=server.origin + ROOT, retry_backoff=0) as client,
    ):
        await client.authenticate()
        await client.refresh_token()
        services = await client.get_services()
        order_id = await client.place_order(
            service_id=10, link="https://www.instagram.com/mehdifeizi", count=100
        )
        status = await client.get_order_status(order_id)
        await client.cancel_order(order_id)
        await client.recheck_order(order_id)
        credit = await client.get_credit()

    assert services == [Service(service_id=10, name="لایک ایرانی(سرعت متوسط)")]
    assert order_id == 1
    assert status == OrderStatus(
        status="registered",
        status_title="در انتظار",
        remain=100,
        old_count=577,
        count=100,
        cost=200,
        link="https://www.instagram.com/mehdifeizi",
    )
    assert (status.delivered, status.progress, status.is_final) == (0, 0.0, False)
    assert credit == 598
    assert isinstance(credit, int)
    # The documented token "..." goes back exactly as the documentation says.
    paths = [seen.path.removeprefix(ROOT) for seen in server.seen]
    assert paths == [
        "/auth",
        "/ref-auth",
        "/services",
        "/order",
        "/status/1/",
        "/cancel",
        "/recheck",
        "/credit/",
    ]
    assert server.seen[0].headers["Authorization"] == "Bearer the-key"
    assert server.seen[1].headers["refresh-token"] == "Bearer ..."
    assert server.seen[1].headers["old-token"] == "Bearer ..."
    assert all(seen.headers["Authorization"] == "Bearer ..." for seen in server.seen[2:])


def numeric_strings(body: dict[str, Any]) -> bytes:
    """The same answer with every number as a (Persian-digit) string."""
    digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    converted = {
        key: str(value).translate(digits) if isinstance(value, int) else value
        for key, value in body.items()
    }
    return json.dumps(converted, ensure_ascii=False).encode()


async def test_numbers_sent_as_strings_parse_too() -> None:
    """The documentation does not fix number types: numeric strings must parse."""

    def answer(method: str, path: str) -> Answer:
        name = endpoint_of(path)
        assert name is not None
        body = json.loads(example(name))
        return Answer(200, numeric_strings(body) if name != "auth" else example(name))

    async with (
        ScriptedServer(answer) as server,
        HappyFollowerClient("the-key", base_url=server.origin + ROOT) as client,
    ):
        status = await client.get_order_status(1)
        credit = await client.get_credit()
        order_id = await client.place_order(
            service_id=10, link="https://www.instagram.com/mehdifeizi", count=100
        )
    assert (status.remain, status.old_count, status.count, status.cost) == (100, 577, 100, 200)
    assert credit == 598
    assert order_id == 1
