"""Secrets (API key, the API's tokens, the HTTP bearer token) never reach a result or a log."""

from __future__ import annotations

import logging

import pytest

from shared_client.simulator import Fault, Simulator

from .conftest import LINK, Answers, Harness

CALLS: list[tuple[str, dict[str, object]]] = [
    ("check_connection", {}),
    ("get_credit", {}),
    ("list_services", {}),
    ("place_order", {"service_id": 10, "link": LINK, "count": 100}),
    ("get_order_status", {"order_id": 1}),
    ("list_orders", {}),
    ("confirm_price", {"service_id": 10}),
    ("recheck_order", {"order_id": 1}),
    ("cancel_order", {"order_id": 1}),
    ("cancel_order", {"order_id": 1}),  # refused: already cancelled
    ("get_order_status", {"order_id": 404}),
    ("place_order", {"service_id": 10, "link": LINK, "count": 50}),  # outcome unknown
    ("get_credit", {}),  # expired token: refreshed
    ("get_credit", {}),  # error echoing the key
]


async def test_no_secret_in_any_result_or_log(
    harness: Harness,
    simulator: Simulator,
    api_key: str,
    mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with harness.client(mode, Answers()) as client:
        for name, arguments in CALLS:
            if name == "place_order" and arguments["count"] == 50:
                simulator.inject("order", Fault.PROCESS_THEN_DROP)
            if (name, arguments) == CALLS[-2]:
                simulator.expire_tokens()
            if (name, arguments) == CALLS[-1]:
                simulator.inject("credit", Fault.ERROR_MESSAGE, message=f"bad key {api_key}")
            result = await client.call_tool(name, arguments)
            texts.append(result.model_dump_json())
        texts.append((await client.read_resource("happy-follower://orders/1")).model_dump_json())
    secrets = {api_key}
    for request in simulator.requests:
        for header in ("Authorization", "refresh-token", "old-token"):
            value = request.headers.get(header)
            if value:
                secrets.add(value.removeprefix("Bearer "))
    assert len(secrets) >= 4  # the key, two access tokens and a refresh token
    assert any("may or may not have been placed" in text for text in texts)
    assert any("***" in text for text in texts)  # the echoed key was redacted
    for secret in secrets:
        for text in texts:
            assert secret not in text
        assert secret not in caplog.text
        assert secret not in harness.ledger.read_text(encoding="utf-8")
