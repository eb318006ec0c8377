"""Confirmation before an order: accepted, declined, cancelled, unsupported, replayed."""

from __future__ import annotations

import asyncio
import json

import mcp_types as types
import pytest
from mcp import MCPError

from mcp_server.backend import ConfirmationBook
from shared_client.simulator import Simulator

from .conftest import LINK, Answers, Harness

ORDER = {"service_id": 10, "link": LINK, "count": 100}


def _ledger_events(harness: Harness) -> list[tuple[str, str | None]]:
    lines = harness.ledger.read_text(encoding="utf-8").splitlines()
    return [(record["event"], record["reason"]) for record in map(json.loads, lines)]


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_declined_or_cancelled_places_nothing(
    harness: Harness, simulator: Simulator, api_key: str, mode: str, action: str
) -> None:
    answers = Answers(action)
    async with harness.client(mode, answers) as client:
        result = await client.call_tool("place_order", ORDER)
    assert result.is_error
    assert "the user did not confirm" in result.content[0].text  # type: ignore[union-attr]
    assert len(answers.messages) == 1
    assert simulator.orders(api_key) == []
    assert _ledger_events(harness) == [("refused", f"not confirmed by the user ({action})")]


async def test_accepted_without_consent_places_nothing(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    async with harness.client(mode, Answers(content={"confirm": False})) as client:
        result = await client.call_tool("place_order", ORDER)
    assert result.is_error
    assert simulator.orders(api_key) == []
    assert _ledger_events(harness) == [("refused", "not confirmed by the user (confirm: no)")]


async def test_client_without_elicitation_is_refused_with_an_explanation(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    async with harness.client(mode) as client:
        result = await client.call_tool("place_order", ORDER)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "does not support MCP elicitation" in text
    assert "--allow-unconfirmed-orders" in text
    assert simulator.orders(api_key) == []
    assert _ledger_events(harness)[0][0] == "refused"


async def test_operator_may_allow_unconfirmed_orders(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    async with harness.client(mode, allow_unconfirmed_orders=True) as client:
        result = await client.call_tool("place_order", ORDER)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["confirmed_by"] == "operator"
    assert len(simulator.orders(api_key)) == 1


async def test_user_is_still_asked_when_unconfirmed_orders_are_allowed(
    harness: Harness, mode: str
) -> None:
    answers = Answers("decline")
    async with harness.client(mode, answers, allow_unconfirmed_orders=True) as client:
        result = await client.call_tool("place_order", ORDER)
    assert result.is_error
    assert len(answers.messages) == 1


async def _first_round(session: object, arguments: dict[str, object]) -> types.InputRequiredResult:
    first = await session.call_tool("place_order", arguments, allow_input_required=True)  # type: ignore[attr-defined]
    assert isinstance(first, types.InputRequiredResult)
    assert first.input_requests is not None
    return first


def _accept_all(first: types.InputRequiredResult) -> dict[str, types.InputResponse]:
    assert first.input_requests is not None
    return {
        key: types.ElicitResult(action="accept", content={"confirm": True})
        for key in first.input_requests
    }


async def test_replayed_confirmation_places_nothing(
    harness: Harness, simulator: Simulator, api_key: str
) -> None:
    """A 2026-era client answers in a retry; replaying that retry must not order again."""
    async with harness.client("auto", Answers()) as client:
        session = client.session
        first = await _first_round(session, ORDER)
        (question,) = first.input_requests.values()  # type: ignore[union-attr]
        assert "Confirmation" in question.params.message  # type: ignore[union-attr]
        responses = _accept_all(first)
        placed = await session.call_tool(
            "place_order",
            ORDER,
            input_responses=responses,
            request_state=first.request_state,
            allow_input_required=True,
        )
        assert isinstance(placed, types.CallToolResult)
        assert not placed.is_error, placed.content
        replay = await session.call_tool(
            "place_order",
            ORDER,
            input_responses=responses,
            request_state=first.request_state,
            allow_input_required=True,
        )
        # The server asks again, with a new confirmation: nothing was placed.
        assert isinstance(replay, types.InputRequiredResult)
        (again,) = replay.input_requests.values()  # type: ignore[union-attr]
        assert again.params.message != question.params.message  # type: ignore[union-attr]
    assert len(simulator.orders(api_key)) == 1


async def test_confirmation_is_bound_to_its_order(
    harness: Harness, simulator: Simulator, api_key: str
) -> None:
    async with harness.client("auto", Answers()) as client:
        session = client.session
        first = await _first_round(session, ORDER)
        other = {**ORDER, "count": 900}
        # The SDK binds the state to the request, and our ticket to the order.
        with pytest.raises(MCPError, match="requestState"):
            await session.call_tool(
                "place_order",
                other,
                input_responses=_accept_all(first),
                request_state=first.request_state,
                allow_input_required=True,
            )
        second = await _first_round(session, other)
        (question,) = second.input_requests.values()  # type: ignore[union-attr]
        assert "Count: 900" in question.params.message  # type: ignore[union-attr]
    assert simulator.orders(api_key) == []


async def test_concurrent_identical_confirmations_place_once(
    harness: Harness, simulator: Simulator, api_key: str
) -> None:
    """Two retries carrying the same confirmation: one places, the other is refused."""
    async with harness.client("auto", Answers()) as client:
        session = client.session
        first = await _first_round(session, ORDER)
        kwargs = {
            "input_responses": _accept_all(first),
            "request_state": first.request_state,
            "allow_input_required": True,
        }
        results = await asyncio.gather(
            session.call_tool("place_order", ORDER, **kwargs),
            session.call_tool("place_order", ORDER, **kwargs),
        )
    placed = [r for r in results if isinstance(r, types.CallToolResult) and not r.is_error]
    assert len(placed) == 1
    (other,) = [r for r in results if r is not placed[0]]
    # The other retry finds the ticket used: refused, or asked again with a new code.
    if isinstance(other, types.CallToolResult):
        assert "already used" in other.content[0].text  # type: ignore[union-attr]
    else:
        assert isinstance(other, types.InputRequiredResult)
    assert len(simulator.orders(api_key)) == 1


def test_confirmation_book_tickets_expire_and_are_single_use() -> None:
    now = [0.0]
    book = ConfirmationBook(ttl=60, clock=lambda: now[0])
    order = (10, LINK, 100)
    ticket = book.ticket_for(order)
    assert book.ticket_for(order) == ticket
    assert book.ticket_for((10, LINK, 101)) != ticket
    redeemed = book.redeem(order)
    assert redeemed is not None
    assert redeemed.ticket_id == ticket
    assert not redeemed.duplicate_warned
    assert book.redeem(order) is None
    stale = book.ticket_for(order)
    assert stale != ticket
    now[0] = 61
    assert book.redeem(order) is None
    assert book.ticket_for(order) != stale


def test_a_duplicate_warning_makes_a_new_ticket_that_remembers_it() -> None:
    book = ConfirmationBook()
    order = (10, LINK, 100)
    plain = book.ticket_for(order)
    warned = book.ticket_for(order, duplicate_warned=True)
    assert warned != plain  # a different question: an answer to the plain one does not count
    redeemed = book.redeem(order)
    assert redeemed is not None
    assert redeemed.duplicate_warned
