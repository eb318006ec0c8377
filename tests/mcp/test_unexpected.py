"""Failures nobody planned for, on the paths that spend: each is a clear tool error that
says whether anything may have been placed, never a bare one."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from shared_client.errors import HappyFollowerLedgerError
from shared_client.guard import SpendGuard
from shared_client.simulator import Simulator

from .conftest import LINK, Answers, Harness

ORDER = {"service_id": 10, "link": LINK, "count": 100}


def _crash(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("a bug, not the vendor")


async def _error_text(harness: Harness, answers: Answers | None = None, **changes: Any) -> str:
    async with harness.client("auto", answers, **changes) as client:
        result = await client.call_tool("place_order", ORDER)
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    assert "a bug, not the vendor" not in text  # the server's log has it, not the model
    return text.removeprefix("Error executing tool place_order: ")


async def test_a_crash_while_placing_says_the_order_may_have_been_placed(
    harness: Harness, simulator: Simulator, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SpendGuard, "place_order", _crash)
    text = await _error_text(harness, allow_unconfirmed_orders=True)
    assert "it may or may not have been placed" in text
    assert "do not retry" in text.lower()


async def test_a_crash_before_sending_says_nothing_was_placed(
    harness: Harness, simulator: Simulator, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SpendGuard, "quote", _crash)
    text = await _error_text(harness, Answers())
    assert text.startswith("Nothing was placed: checking the order failed on this server")
    assert not simulator.orders(api_key)


async def test_a_refusal_that_cannot_be_audited_says_so(
    harness: Harness, simulator: Simulator, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unwritable(*args: Any, **kwargs: Any) -> NoReturn:
        raise HappyFollowerLedgerError("the ledger file is read-only")

    monkeypatch.setattr(SpendGuard, "record_refusal", unwritable)
    text = await _error_text(harness, Answers("decline"))
    assert text.startswith("Nothing was placed: the user did not confirm the order.")
    assert "could not be written to the audit ledger: the ledger file is read-only" in text
    assert not simulator.orders(api_key)
