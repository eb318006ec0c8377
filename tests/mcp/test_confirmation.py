"""Confirmation before an order: accepted, declined, cancelled, unsupported, replayed, and
an answer bound to the dialog it answers (I12) in both protocol eras.

Over stdio through the console entry: tests/mcp/test_confirmation_stdio.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client, MCPError
from mcp.client.session import ClientRequestContext
from mcp.server.mcpserver import Elicit
from mcp.server.mcpserver.resolve import _render_request, _request_digest

from mcp_server.backend import ConfirmationBook
from mcp_server.models import OrderConfirmation
from mcp_server.orders import question_digest
from shared_client import HappyFollowerClient
from shared_client.guard import Ledger, SpendGuard
from shared_client.simulator import Fault, Simulator

from .conftest import LINK, Answers, Harness

ORDER = {"service_id": 10, "link": LINK, "count": 100}
OUTCOME_UNKNOWN = "outcome unknown — do not retry"
ACCEPT = types.ElicitResult(action="accept", content={"confirm": True})
DECLINE = types.ElicitResult(action="decline")


def _ledger_events(harness: Harness) -> list[tuple[str, str | None]]:
    return ledger_events(harness.ledger)


def ledger_events(ledger: Path) -> list[tuple[str, str | None]]:
    lines = ledger.read_text(encoding="utf-8").splitlines()
    return [(record["event"], record["reason"]) for record in map(json.loads, lines)]


def ticket_of(message: str) -> str:
    """The code on the question's last line, 'Confirmation <code>: ...'."""
    last = message.splitlines()[-1]
    assert last.startswith("Confirmation ")
    return last.split()[1].rstrip(":")


def text_of(result: types.CallToolResult | types.InputRequiredResult) -> str:
    assert isinstance(result, types.CallToolResult), result
    return result.content[0].text  # type: ignore[union-attr]


@dataclasses.dataclass
class Shown:
    """One place_order call whose confirmation dialog is open (not answered yet)."""

    arguments: dict[str, Any]
    message: str
    # legacy: the call waits for the answer inside its own tools/call
    call: asyncio.Task[types.CallToolResult] | None = None
    reply: asyncio.Future[types.ElicitResult] | None = None
    # 2026-07-28: the call returned; the answer is a retry carrying these
    first: types.InputRequiredResult | None = None


class Dialogs:
    """A person with several confirmation dialogs open at once, answering them in any order,
    in either protocol era. Legacy: each call blocks on its elicitation/create request until
    answered. 2026-07-28: each call returns its question; answering is a retry."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._asked: list[tuple[str, asyncio.Future[types.ElicitResult]]] = []
        self._question_came = asyncio.Event()

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        reply: asyncio.Future[types.ElicitResult] = asyncio.get_running_loop().create_future()
        self._asked.append((params.message, reply))
        self._question_came.set()
        return await reply

    async def show(self, client: Client, arguments: dict[str, Any]) -> Shown:
        """Call place_order and return once its dialog is shown (still open)."""
        if self.mode == "legacy":
            before = len(self._asked)
            call = asyncio.create_task(client.call_tool("place_order", arguments))
            async with asyncio.timeout(30):
                while len(self._asked) == before:
                    self._question_came.clear()
                    question = asyncio.create_task(self._question_came.wait())
                    await asyncio.wait({call, question}, return_when=asyncio.FIRST_COMPLETED)
                    question.cancel()
                    assert len(self._asked) > before or not call.done(), (
                        f"no dialog was shown: {call.result()}"
                    )
            message, reply = self._asked[-1]
            return Shown(arguments, message, call=call, reply=reply)
        first = await client.session.call_tool("place_order", arguments, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult), first
        assert first.input_requests is not None
        (question,) = first.input_requests.values()
        return Shown(arguments, question.params.message, first=first)  # type: ignore[union-attr]

    async def answer(
        self, client: Client, shown: Shown, answer: types.ElicitResult
    ) -> types.CallToolResult | types.InputRequiredResult:
        """Answer this dialog; the place_order result that answer leads to."""
        if shown.call is not None and shown.reply is not None:
            shown.reply.set_result(answer)
            return await shown.call
        assert shown.first is not None
        assert shown.first.input_requests is not None
        result: types.CallToolResult | types.InputRequiredResult = await client.session.call_tool(
            "place_order",
            shown.arguments,
            input_responses=dict.fromkeys(shown.first.input_requests, answer),
            request_state=shown.first.request_state,
            allow_input_required=True,
        )
        return result

    def close(self) -> None:
        """Cancel every dialog still open, so that no call outlives a failed test."""
        for _, reply in self._asked:
            if not reply.done():
                reply.set_result(types.ElicitResult(action="cancel"))


@asynccontextmanager
async def held_dialogs(mode: str) -> AsyncIterator[Dialogs]:
    dialogs = Dialogs(mode)
    try:
        yield dialogs
    finally:
        dialogs.close()


async def reported_sequence(client: Client, dialogs: Dialogs, simulator: Simulator) -> str:
    """The bug report's steps: dialog 1 left open; dialog 2 accepted, its answer lost
    (outcome unknown); dialog 3 (the same order) warns of a duplicate; dialog 1 accepted;
    dialog 3 declined. Returns dialog 1's ticket, checking every step."""
    first = await dialogs.show(client, ORDER)
    second = await dialogs.show(client, ORDER)
    assert ticket_of(first.message) != ticket_of(second.message)  # a ticket per dialog
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    lost = await dialogs.answer(client, second, ACCEPT)
    assert OUTCOME_UNKNOWN in text_of(lost)
    third = await dialogs.show(client, ORDER)
    assert "WARNING: the same order was sent" in third.message
    old = await dialogs.answer(client, first, ACCEPT)
    refusal = text_of(old)
    assert "Nothing was placed: this answer is to an older confirmation question" in refusal
    assert ticket_of(first.message) in refusal
    declined = await dialogs.answer(client, third, DECLINE)
    assert "the user did not confirm" in text_of(declined)
    return ticket_of(first.message)


def assert_reported_sequence_placed_once(ledger: Path, ticket: str) -> None:
    assert ledger_events(ledger) == [
        ("attempt", None),
        ("outcome_unknown", ledger_events(ledger)[1][1]),
        ("refused", f"confirmation {ticket} answered after a newer question for the same order"),
        ("refused", "not confirmed by the user (decline)"),
    ]
    records = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]
    assert records[2]["confirmed_by"] == "user (MCP elicitation)"  # who answered, audited


async def test_reported_sequence_places_the_order_at_most_once(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """I12: accepting an old dialog never confirms a newer one (here: a duplicate warning)."""
    async with held_dialogs(mode) as dialogs, harness.client(mode, dialogs) as client:
        ticket = await reported_sequence(client, dialogs, simulator)
    assert len(simulator.orders(api_key)) == 1  # only the one whose answer was lost
    assert_reported_sequence_placed_once(harness.ledger, ticket)


async def test_an_older_dialog_never_confirms_a_newer_one(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """Two dialogs of one order open: the older answer is refused, the newer still counts."""
    async with held_dialogs(mode) as dialogs, harness.client(mode, dialogs) as client:
        older = await dialogs.show(client, ORDER)
        newer = await dialogs.show(client, ORDER)
        refused = await dialogs.answer(client, older, ACCEPT)
        placed = await dialogs.answer(client, newer, ACCEPT)
    assert "older confirmation question" in text_of(refused)
    assert isinstance(placed, types.CallToolResult)
    assert not placed.is_error, placed.content
    assert len(simulator.orders(api_key)) == 1
    assert [event for event, _ in _ledger_events(harness)] == ["refused", "attempt", "placed"]


async def test_a_question_that_now_reads_differently_places_nothing(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """Dialog 1 carries no duplicate warning; then another process on the same ledger sends
    the same order and loses its answer, so the question asked now would warn. Dialog 1's yes
    places nothing. 2026: the SDK asks the new question (with the warning, a new ticket).
    Legacy: the answer counts for the dialog its call showed, which did not warn, so the
    guard refuses the possible duplicate."""
    async with held_dialogs(mode) as dialogs, harness.client(mode, dialogs) as client:
        first = await dialogs.show(client, ORDER)
        assert "WARNING" not in first.message
        simulator.inject("order", Fault.PROCESS_THEN_DROP)
        async with harness.client(mode, allow_unconfirmed_orders=True) as elsewhere:
            lost = await elsewhere.call_tool("place_order", ORDER)
        assert OUTCOME_UNKNOWN in text_of(lost)
        result = await dialogs.answer(client, first, ACCEPT)
    if mode == "legacy":
        assert "may have been placed" in text_of(result)
    else:
        assert isinstance(result, types.InputRequiredResult)
        assert result.input_requests is not None
        (question,) = result.input_requests.values()
        message = question.params.message  # type: ignore[union-attr]
        assert "WARNING: the same order was sent" in message
        assert ticket_of(message) != ticket_of(first.message)
    assert len(simulator.orders(api_key)) == 1  # only the lost one


async def test_accepted_places_once(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    answers = Answers()
    async with harness.client(mode, answers) as client:
        result = await client.call_tool("place_order", ORDER)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["confirmed_by"] == "user"
    (question,) = answers.messages
    assert ticket_of(question)
    assert len(simulator.orders(api_key)) == 1
    assert [event for event, _ in _ledger_events(harness)] == ["attempt", "placed"]


@pytest.mark.parametrize("smuggled", ["dialog", "confirmation"])
async def test_the_dialog_cannot_be_passed_as_an_argument(
    harness: Harness, simulator: Simulator, api_key: str, mode: str, smuggled: str
) -> None:
    """The resolved parameters are the server's: a model cannot hand one in."""
    async with harness.client(mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        result = await client.call_tool("place_order", {**ORDER, smuggled: "operator"})
    assert set(tools["place_order"].input_schema["properties"]) == {"service_id", "link", "count"}
    assert result.is_error
    assert simulator.orders(api_key) == []


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


async def test_replayed_confirmation_is_refused(
    harness: Harness, simulator: Simulator, api_key: str
) -> None:
    """A 2026-era client answers in a retry; replaying that retry must not order again: the
    answer was used, and is refused (audited). A 2025-era client cannot replay an answer:
    it is the reply to one elicitation request, inside its call."""
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
        again = await session.call_tool("place_order", ORDER, allow_input_required=True)
    ticket = ticket_of(question.params.message)  # type: ignore[union-attr]
    assert f"confirmation {ticket} was already used" in text_of(replay)
    # Asked again, it is a new dialog with a new ticket.
    assert isinstance(again, types.InputRequiredResult)
    (fresh,) = again.input_requests.values()  # type: ignore[union-attr]
    assert ticket_of(fresh.params.message) != ticket  # type: ignore[union-attr]
    assert len(simulator.orders(api_key)) == 1
    assert _ledger_events(harness)[-1] == ("refused", f"confirmation {ticket} already used")


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

        async def retry() -> types.CallToolResult | types.InputRequiredResult:
            result: types.CallToolResult | types.InputRequiredResult = await session.call_tool(
                "place_order",
                ORDER,
                input_responses=_accept_all(first),
                request_state=first.request_state,
                allow_input_required=True,
            )
            return result

        results = await asyncio.gather(retry(), retry())
    placed = [r for r in results if isinstance(r, types.CallToolResult) and not r.is_error]
    assert len(placed) == 1
    (other,) = [r for r in results if r is not placed[0]]
    # The other retry finds the ticket used: refused, and audited.
    assert "was already used" in text_of(other)
    events = sorted(event for event, _ in _ledger_events(harness))
    assert events == ["attempt", "placed", "refused"]
    assert len(simulator.orders(api_key)) == 1


def test_the_answer_digest_is_the_sdks() -> None:
    """The server finds a 2026 retry's dialog by the SDK's digest of the question asked."""
    for message in ("Place this order?\nConfirmation ABC123: once.", "\u06f1\u06f2 \ud800 x"):
        expected = _request_digest(_render_request(Elicit(message, OrderConfirmation)))
        assert question_digest(message) == expected


def _render(ticket: str) -> str:
    return f"Place it?\nConfirmation {ticket}: once."


def test_each_dialog_has_its_own_ticket_and_a_newer_one_supersedes_it() -> None:
    book = ConfirmationBook()
    order, other = (10, LINK, 100), (10, LINK, 101)
    first = book.open(order, _render, duplicate_warned=False)
    elsewhere = book.open(other, _render, duplicate_warned=False)
    second = book.open(order, _render, duplicate_warned=True)
    assert len({first.ticket, second.ticket, elsewhere.ticket}) == 3
    assert second.message == _render(second.ticket)
    assert book.status(first) == "superseded"
    assert book.status(elsewhere) is None  # another order's dialog stays open
    assert book.redeem(first) == "superseded"
    assert book.redeem(second) is None
    assert second.duplicate_warned
    assert book.redeem(second) == "used"
    assert book.redeem(elsewhere) is None


def test_find_gives_the_dialog_whose_text_was_shown() -> None:
    book = ConfirmationBook()
    order = (10, LINK, 100)
    first = book.open(order, _render, duplicate_warned=False)
    second = book.open(order, _render, duplicate_warned=False)
    assert book.find(order, lambda text: text == first.message) is first
    assert book.find(order, lambda text: text == second.message) is second
    assert book.find((10, LINK, 101), lambda text: True) is None
    assert book.find(order, lambda text: False) is None


def test_dialogs_expire_and_are_forgotten_later() -> None:
    now = [0.0]
    book = ConfirmationBook(ttl=60, clock=lambda: now[0])
    order = (10, LINK, 100)
    dialog = book.open(order, _render, duplicate_warned=False)
    now[0] = 61
    assert book.status(dialog) == "expired"
    assert book.find(order, lambda text: True) is dialog  # remembered, to say why
    now[0] = 121
    assert book.find(order, lambda text: True) is None
    assert book.redeem(dialog) == "expired"


async def test_an_answer_never_places_above_the_cost_its_question_showed(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """Dialog 1 says "at most 200"; then a person elsewhere stands behind a higher price
    (3 per unit) on the same ledger. Its yes places nothing. Legacy: the guard refuses an
    order above the confirmed cost; 2026: the SDK asks the new question (at most 300)."""
    caps = {"max_spend_per_day": 5000, "unit_prices": "10=2"}
    async with held_dialogs(mode) as dialogs, harness.client(mode, dialogs, **caps) as client:
        first = await dialogs.show(client, ORDER)
        assert "at most 200" in first.message
        async with HappyFollowerClient(api_key, base_url=simulator.base_url) as other:
            elsewhere = SpendGuard(other, Ledger(harness.ledger), source="tests")
            await elsewhere.confirm_price(10, 3, confirmed_by="someone else")
        result = await dialogs.answer(client, first, ACCEPT)
    if mode == "legacy":
        assert "may now cost up to 300" in text_of(result)
    else:
        assert isinstance(result, types.InputRequiredResult)
        assert result.input_requests is not None
        (question,) = result.input_requests.values()
        assert "at most 300" in question.params.message  # type: ignore[union-attr]
    assert simulator.orders(api_key) == []
