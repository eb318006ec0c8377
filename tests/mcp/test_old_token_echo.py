"""A vendor error echoing a token the client replaced long ago never reaches a tool result."""

from __future__ import annotations

import logging

import pytest

from shared_client.simulator import Fault, Simulator

from .conftest import LINK, Answers, Harness


def credentials_sent(simulator: Simulator) -> list[str]:
    """Every key and token sent, in the order they were first sent."""
    found: list[str] = []
    for request in simulator.requests:
        for header in ("Authorization", "refresh-token", "old-token"):
            value = request.headers.get(header)
            if value and (secret := value.removeprefix("Bearer ")) not in found:
                found.append(secret)
    return found


async def test_an_echoed_old_token_stays_out_of_results_logs_and_ledger(
    harness: Harness, simulator: Simulator, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with harness.client("auto", Answers()) as client:
        await client.call_tool("get_credit", {})  # authenticated: token 1
        simulator.expire_tokens()
        await client.call_tool("get_credit", {})  # refreshed: token 2
        simulator.expire_tokens()
        simulator.expire_refresh_tokens()
        await client.call_tool("get_credit", {})  # authenticated again: token 3
        held = credentials_sent(simulator)
        old_tokens = [secret for secret in held if secret != api_key][:3]
        echo = " ".join(f"request {old} rejected" for old in old_tokens)
        for endpoint, name, arguments in (
            ("credit", "get_credit", {}),
            ("status", "get_order_status", {"order_id": 1}),
            ("order", "place_order", {"service_id": 10, "link": LINK, "count": 100}),
        ):
            simulator.inject(endpoint, Fault.ERROR_MESSAGE, message=echo)
            result = await client.call_tool(name, arguments)
            assert result.is_error, name
            texts.append(result.model_dump_json())
    assert len(old_tokens) == 3  # token 1, its refresh token, token 2
    assert all("request *** rejected" in text for text in texts)
    ledger = harness.ledger.read_text(encoding="utf-8")
    assert "rejected" in ledger  # the refused order's reason was written, redacted
    for secret in held:
        for text in texts:
            assert secret not in text
        assert secret not in caplog.text
        assert secret not in ledger
