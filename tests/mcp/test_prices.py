"""Prices (I10) and what a status's cost says (I9) over MCP: confirm_price asks the user and
writes a price only on their yes, bound to its dialog; refusals point to it; status reads
show a cost anomaly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.server.mcpserver import Elicit
from mcp.server.mcpserver.resolve import _render_request, _request_digest

from mcp_server.models import PriceConfirmation
from mcp_server.prices import question_digest
from shared_client.simulator import Dialect, Simulator, StatusCost

from .conftest import LINK, Answers, Harness
from .test_confirmation import held_dialogs, text_of, ticket_of

ORDER = {"service_id": 10, "link": LINK, "count": 100}
CAPPED = {"max_spend_per_day": 1000}
ACCEPT = types.ElicitResult(action="accept", content={"confirm": True})


def _records(ledger: Path) -> list[dict[str, Any]]:
    if not ledger.exists():
        return []
    return [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]


def _prices(ledger: Path) -> list[tuple[int, float, str]]:
    """The price lines: (service, price per unit, who confirmed it)."""
    return [
        (r["service_id"], r["unit_price"], r["confirmed_by"])
        for r in _records(ledger)
        if r["event"] == "price"
    ]


async def _error(client: Client, name: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(name, arguments)
    assert result.is_error, result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    return text


async def _ok(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def _place_uncapped(harness: Harness, mode: str, **order: Any) -> int:
    """An order placed with no spend cap: the vendor is then seen to charge its price."""
    async with harness.client(mode, Answers()) as client:
        placed = await _ok(client, "place_order", {**ORDER, **order})
    return int(placed["order_id"])


async def test_a_price_the_user_accepts_is_written_and_bounds_a_capped_order(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    answers = Answers()
    async with harness.client(mode, answers, **CAPPED) as client:
        refused = await _error(client, "place_order", ORDER)
        confirmed = await _ok(client, "confirm_price", {"service_id": 10, "unit_price": "۲"})
        placed = await _ok(client, "place_order", ORDER)
        services = (await _ok(client, "list_services", {}))["services"]
    assert "cannot be bounded" in refused
    assert "confirm_price" not in refused  # no price was seen: nothing to offer yet
    assert confirmed["unit_price"] == 2
    assert confirmed["bounding_unit_price"] == 2
    assert confirmed["bounding_basis"] == "price per unit confirmed by user (MCP elicitation)"
    assert confirmed["confirmed_by"] == "user"
    assert confirmed["seen_from"] is None
    assert confirmed["hold_lifted"] is False
    question = answers.messages[0]
    assert "Service: 10 - لایک ایرانی(سرعت متوسط)" in question
    assert "Price per unit: 2\n" in question
    assert "Seen: never charged here; the assistant gave this price" in question
    assert "reserves its count times 2 against the spend cap (1,000 per 24 hours)" in question
    assert "100 units reserve 200." in question
    assert "Toman" not in question  # the server knows no currency: it names none
    assert ticket_of(question)
    assert placed["cost"] == 200
    assert {"service_id": 10, "unit_price": 2.0}.items() <= services[0].items()
    assert _prices(harness.ledger) == [(10, 2.0, "user (MCP elicitation)")]
    assert len(simulator.orders(api_key)) == 1


async def test_the_refusal_offers_the_price_seen_and_confirm_price_confirms_it(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    order_id = await _place_uncapped(harness, mode)
    answers = Answers()
    async with harness.client(mode, answers, **CAPPED) as client:
        refused = await _error(client, "place_order", {**ORDER, "link": f"{LINK}2"})
        confirmed = await _ok(client, "confirm_price", {"service_id": 10})
        placed = await _ok(client, "place_order", {**ORDER, "link": f"{LINK}2"})
    assert "cannot be bounded" in refused
    assert f"2 per unit (charged per unit by order {order_id})" in refused
    assert "call confirm_price with service_id 10" in refused
    assert "--unit-prices" in refused
    question = answers.messages[0]  # the refused order asked nothing
    assert f"Seen: charged per unit by order {order_id}" in question
    assert confirmed["seen_from"] == f"charged per unit by order {order_id}"
    assert placed["cost"] == 200
    assert _prices(harness.ledger) == [(10, 2.0, "user (MCP elicitation)")]
    assert len(simulator.orders(api_key)) == 2


async def test_a_price_rise_stops_the_service_until_the_user_confirms_the_new_price(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    answers = Answers()
    caps = {**CAPPED, "unit_prices": "10=2"}
    async with harness.client(mode, answers, **caps) as client:
        await _ok(client, "place_order", ORDER)
        simulator.set_unit_price(10, 3)
        overcharged = await _ok(client, "place_order", {**ORDER, "link": f"{LINK}2"})
        stopped = await _error(client, "place_order", {**ORDER, "link": f"{LINK}3"})
        confirmed = await _ok(client, "confirm_price", {"service_id": 10})
        placed = await _ok(client, "place_order", {**ORDER, "link": f"{LINK}3"})
    assert overcharged["cost"] == 300
    assert "charged 3 per unit" in stopped
    assert f"charged per unit by order {overcharged['order_id']}" in stopped
    assert "call confirm_price with service_id 10" in stopped
    assert "(`happy-follower confirm-price 10`)" in stopped  # --unit-prices lifts no stop
    assert "--unit-prices" not in stopped
    question = answers.messages[2]
    assert "Orders of this service are stopped: it charged 3 per unit" in question
    assert "Price now: 2 (operator's price per unit)" in question
    assert confirmed["hold_lifted"] is True
    assert confirmed["bounding_unit_price"] == 3
    assert placed["cost"] == 300
    assert len(simulator.orders(api_key)) == 3


async def test_a_lower_price_than_the_operators_says_the_operators_still_bounds(
    harness: Harness, mode: str
) -> None:
    answers = Answers()
    async with harness.client(mode, answers, unit_prices="10=3", **CAPPED) as client:
        confirmed = await _ok(client, "confirm_price", {"service_id": 10, "unit_price": 2.3})
    (question,) = answers.messages
    assert "Price now: 3 (operator's price per unit)" in question
    assert "the operator's price (3) stays higher" in question
    assert "100 units reserve 300." in question
    assert confirmed["unit_price"] == 2.3
    assert confirmed["bounding_unit_price"] == 3
    assert confirmed["bounding_basis"] == "operator's price per unit"
    assert _prices(harness.ledger) == [(10, 2.3, "user (MCP elicitation)")]


@pytest.mark.parametrize("answer", [Answers("decline"), Answers(content={"confirm": False})])
async def test_a_price_the_user_does_not_accept_is_not_written(
    harness: Harness, simulator: Simulator, api_key: str, mode: str, answer: Answers
) -> None:
    async with harness.client(mode, answer, **CAPPED) as client:
        text = await _error(client, "confirm_price", {"service_id": 10, "unit_price": 2})
        refused = await _error(client, "place_order", ORDER)
    assert "the user did not confirm the price" in text
    assert "cannot be bounded" in refused
    assert _prices(harness.ledger) == []
    assert simulator.orders(api_key) == []


async def test_no_elicitation_is_refused_even_when_unconfirmed_orders_are_allowed(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    await _place_uncapped(harness, mode)
    async with harness.client(mode, allow_unconfirmed_orders=True, **CAPPED) as client:
        text = await _error(client, "confirm_price", {"service_id": 10})
        refused = await _error(client, "place_order", {**ORDER, "link": f"{LINK}2"})
    assert "does not support MCP elicitation" in text
    assert "--allow-unconfirmed-orders does not change this: it approves orders, not prices" in (
        text
    )
    assert "--unit-prices" in text
    assert "cannot be bounded" in refused
    assert _prices(harness.ledger) == []
    assert len(simulator.orders(api_key)) == 1


async def test_read_only_mode_hides_it_and_a_deny_list_keeps_it_out_of_refusals(
    harness: Harness, mode: str
) -> None:
    async with harness.client(mode, Answers(), read_only=True) as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
        text = await _error(client, "confirm_price", {"service_id": 10, "unit_price": 2})
    assert "confirm_price" not in listed
    assert "Unknown tool" in text
    await _place_uncapped(harness, mode)
    denied = {"exclude_tools": frozenset({"confirm_price"})}
    async with harness.client(mode, Answers(), **denied, **CAPPED) as client:
        refused = await _error(client, "place_order", {**ORDER, "link": f"{LINK}2"})
    assert "cannot be bounded" in refused
    assert "confirm_price" not in refused
    assert _prices(harness.ledger) == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"service_id": 10, "unit_price": 0},
            "unit_price: the price per unit must be a finite number above 0",
        ),
        (
            {"service_id": 10, "unit_price": "-1"},
            "unit_price: the price per unit must be a finite number above 0",
        ),
        (
            {"service_id": 10, "unit_price": "nan"},
            "unit_price: the price per unit must be a finite number above 0",
        ),
        (
            {"service_id": 10, "unit_price": True},
            "unit_price: the price per unit must be a finite number above 0",
        ),
        ({"service_id": 10, "unit_price": 10**400}, "the price per unit must be at most 1,000,"),
        ({"service_id": 99, "unit_price": 2}, "service 99 is not among the active services"),
        ({"service_id": 10}, "service 10 was not seen to charge a price here yet"),
        ({"service_id": 10, "max_cost": 1}, "unknown argument 'max_cost'"),
    ],
)
async def test_what_cannot_be_asked_is_refused_before_asking(
    harness: Harness, arguments: dict[str, Any], expected: str
) -> None:
    answers = Answers()
    async with harness.client("auto", answers) as client:
        text = await _error(client, "confirm_price", arguments)
    assert expected in text
    assert answers.messages == []
    assert _prices(harness.ledger) == []


async def test_a_replayed_answer_writes_nothing_more(harness: Harness) -> None:
    """2026-07-28: the answer rides a retry; replaying it is refused (each counts once)."""
    async with harness.client("auto", Answers()) as client:
        session = client.session
        arguments = {"service_id": 10, "unit_price": 2}
        first = await session.call_tool("confirm_price", arguments, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult)
        assert first.input_requests is not None
        kwargs: dict[str, Any] = {
            "input_responses": dict.fromkeys(first.input_requests, ACCEPT),
            "request_state": first.request_state,
            "allow_input_required": True,
        }
        written = await session.call_tool("confirm_price", arguments, **kwargs)
        replay = await session.call_tool("confirm_price", arguments, **kwargs)
    (question,) = first.input_requests.values()
    ticket = ticket_of(question.params.message)  # type: ignore[union-attr]
    assert isinstance(written, types.CallToolResult)
    assert not written.is_error, written.content
    assert f"confirmation {ticket} was already used" in text_of(replay)
    assert len(_prices(harness.ledger)) == 1


async def test_an_older_price_question_never_confirms_a_newer_one(
    harness: Harness, mode: str
) -> None:
    """Two questions about service 10 open (2, then 5): a yes to the older writes nothing;
    the newer still counts, and writes its own price."""
    async with held_dialogs(mode) as dialogs, harness.client(mode, dialogs) as client:
        prices = _confirm_price(client)
        older = await dialogs.show(prices, {"service_id": 10, "unit_price": 2})
        newer = await dialogs.show(prices, {"service_id": 10, "unit_price": 5})
        refused = await dialogs.answer(prices, older, ACCEPT)
        written = await dialogs.answer(prices, newer, ACCEPT)
    assert "Price per unit: 2\n" in older.message
    assert "older question" in text_of(refused)
    assert not written.is_error, written.content  # type: ignore[union-attr]
    assert _prices(harness.ledger) == [(10, 5.0, "user (MCP elicitation)")]


class _ConfirmPrice:
    """A client whose tool calls go to confirm_price: ``Dialogs`` calls place_order."""

    def __init__(self, call: Any, session: Any = None) -> None:
        self._call = call
        self.session = session

    async def call_tool(self, _name: str, arguments: dict[str, Any], **kwargs: Any) -> Any:
        return await self._call("confirm_price", arguments, **kwargs)


def _confirm_price(client: Client) -> Any:
    return _ConfirmPrice(client.call_tool, _ConfirmPrice(client.session.call_tool))


async def test_an_answer_to_a_question_that_now_reads_differently_writes_nothing(
    harness: Harness, mode: str
) -> None:
    """Another program confirms a price while the dialog is open: the price in force it
    showed is stale, so its yes writes nothing (legacy: refused; 2026: asked again)."""
    async with held_dialogs(mode) as dialogs, harness.client(mode, dialogs) as client:
        shown = await dialogs.show(_confirm_price(client), {"service_id": 10, "unit_price": 2})
        async with harness.backend() as other:  # e.g. the command line, on the same ledger
            await other.guard.confirm_price(10, 7, confirmed_by="operator (test)")
        result = await dialogs.answer(_confirm_price(client), shown, ACCEPT)
    assert "Price now: none" in shown.message
    ticket = ticket_of(shown.message)
    if mode == "legacy":
        assert f"since confirmation {ticket} was shown, what it says changed" in text_of(result)
    else:
        assert isinstance(result, types.InputRequiredResult)
        assert result.input_requests is not None
        (question,) = result.input_requests.values()
        message = question.params.message  # type: ignore[union-attr]
        assert "Price now: 7 (price per unit confirmed by operator (test))" in message
        assert ticket_of(message) != ticket
    assert _prices(harness.ledger) == [(10, 7.0, "operator (test)")]


def test_the_question_digest_is_the_sdks() -> None:
    for message in ("Stand behind it?\nConfirmation ABC123: once.", "\u06f1\u06f2 \ud800 x"):
        expected = _request_digest(_render_request(Elicit(message, PriceConfirmation)))
        assert question_digest(message) == expected


@pytest.mark.parametrize(
    ("status_cost", "unit_prices", "anomaly"),
    [
        (StatusCost.ZERO, None, "the status gave a cost of 0"),
        (StatusCost.NEGATIVE, None, "the status gave a cost of -200"),
        (StatusCost.MISSING, None, "the status gave no cost"),
        (StatusCost.PER_UNIT, "10=2", "the status gave a cost of 2, below the order's bound"),
    ],
)
async def test_a_status_whose_cost_lies_shows_a_cost_anomaly(
    harness: Harness,
    simulator: Simulator,
    mode: str,
    status_cost: StatusCost,
    unit_prices: str | None,
    anomaly: str,
) -> None:
    simulator.dialect = Dialect(status_cost=status_cost)
    prices = {"unit_prices": unit_prices} if unit_prices else {}
    async with harness.client(mode, Answers(), **prices) as client:
        placed = await _ok(client, "place_order", ORDER)
        status = await _ok(client, "get_order_status", {"order_id": placed["order_id"]})
        again = await _ok(client, "get_order_status", {"order_id": placed["order_id"]})
        listed = await _ok(client, "list_orders", {})
    assert anomaly in status["cost_anomaly"]
    assert again["cost_anomaly"] == status["cost_anomaly"]  # every read says it
    (order,) = listed["orders"]
    assert any(anomaly in text for text in order["anomalies"])
    assert listed["spent_last_24h"] + listed["reserved_last_24h"] >= (200 if unit_prices else 0)


async def test_a_truthful_status_shows_no_anomaly(harness: Harness, mode: str) -> None:
    async with harness.client(mode, Answers(), unit_prices="10=2") as client:
        placed = await _ok(client, "place_order", ORDER)
        status = await _ok(client, "get_order_status", {"order_id": placed["order_id"]})
        listed = await _ok(client, "list_orders", {})
    assert status["cost"] == 200
    assert status["cost_anomaly"] is None
    assert listed["orders"][0]["anomalies"] == []
