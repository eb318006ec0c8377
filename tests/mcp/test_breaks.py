"""The eight ways issue 8 broke spend safety through the MCP server, each closed, in-process.

Through the real console entry over stdio: tests/mcp/test_breaks_stdio.py.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from mcp_server import SettingsError
from shared_client.simulator import DEFAULT_SERVICES, Fault, SimulatedService, Simulator

from .conftest import LINK, Answers, Harness

ORDER = {"service_id": 10, "link": LINK, "count": 100}  # costs 200 on the simulator
OUTCOME_UNKNOWN = (
    "outcome unknown — do not retry; check with get_order_status/get_credit/list_orders"
)


async def _place(client: Client, count: int = 100, link: str = LINK) -> str | int:
    """Place one order: its id, or the error text."""
    result = await client.call_tool("place_order", {**ORDER, "count": count, "link": link})
    if result.is_error:
        return str(result.content[0].text)  # type: ignore[union-attr]
    assert result.structured_content is not None
    return int(result.structured_content["order_id"])


def _ledger(harness: Harness) -> list[dict[str, object]]:
    lines = harness.ledger.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _charged(simulator: Simulator, api_key: str) -> float:
    return sum(order.cost for order in simulator.orders(api_key))


# 1. Unknown price = no spend cap -----------------------------------------------------------


async def test_1_an_order_of_unknown_price_is_refused_under_a_spend_cap(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """No price known for the service: its cost cannot be bounded, so under a spend cap
    the first order of a service can no longer slip through at 'cost 0'."""
    async with harness.client(mode, Answers(), max_spend_per_day=500) as client:
        text = await _place(client)
    assert isinstance(text, str)
    assert "cannot be bounded" in text
    assert "no price per unit that a person stands behind is known for service 10" in text
    assert "--unit-prices" in text  # says how to proceed
    assert simulator.orders(api_key) == []


async def test_1_the_operator_price_bounds_it_and_the_cap_holds(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    changes = {"max_spend_per_day": 500, "unit_prices": "10=2"}
    async with harness.client(mode, Answers(), **changes) as client:
        results = [await _place(client) for _ in range(3)]
    assert [type(r) for r in results] == [int, int, str]
    assert _charged(simulator, api_key) == 400  # within the cap of 500


# 2. A failed status read after an order made its cost 0 forever ---------------------------


async def test_2_a_failed_status_read_keeps_the_order_counted(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """The status endpoint fails throughout: each order's cost comes from the credit read
    before and after it, so the cap still holds (it used to be charged >100x the cap)."""
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=None)
    changes = {"max_spend_per_day": 500, "unit_prices": "10=2"}
    async with harness.client(mode, allow_unconfirmed_orders=True, **changes) as client:
        first = await client.call_tool("place_order", {**ORDER, "link": f"{LINK}0"})
        results = [await _place(client, link=f"{LINK}{i}") for i in range(1, 4)]
        listed = await client.call_tool("list_orders", {})
    assert first.structured_content is not None
    assert first.structured_content["cost"] is None  # the status could not be read
    assert first.structured_content["estimated_cost"] == 200  # from the credit
    results.insert(0, first.structured_content["order_id"])
    assert [type(r) for r in results] == [int, int, str, str]
    assert _charged(simulator, api_key) == 400
    assert listed.structured_content is not None
    assert listed.structured_content["spent_last_24h"] + listed.structured_content[
        "reserved_last_24h"
    ] == pytest.approx(400)


async def test_2_a_status_read_later_settles_the_reserved_bound(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """No spend cap, so no credit is read around the order; its status fails: the order
    stays reserved at its bound; get_order_status learns its cost (200), which never lowers
    the count below the bound (issue 14, I9)."""
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    changes = {"unit_prices": "10=2.5"}  # the operator's price, above the real 2
    async with harness.client(mode, allow_unconfirmed_orders=True, **changes) as client:
        order_id = await _place(client)
        before = await client.call_tool("list_orders", {})
        status = await client.call_tool("get_order_status", {"order_id": order_id})
        after = await client.call_tool("list_orders", {})
    assert isinstance(order_id, int)
    assert status.structured_content is not None
    assert status.structured_content["cost"] == 200
    assert before.structured_content is not None
    assert after.structured_content is not None
    usage = [
        (r["spent_last_24h"], r["reserved_last_24h"])
        for r in (before.structured_content, after.structured_content)
    ]
    assert usage == [(0, 250), (200, 50)]


# 3. "Outcome unknown" orders counted as 0 spend -------------------------------------------


async def test_3_an_unknown_outcome_counts_at_its_bound(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    changes = {"max_spend_per_day": 500, "unit_prices": "10=2"}
    async with harness.client(mode, allow_unconfirmed_orders=True, **changes) as client:
        first = await _place(client, link=f"{LINK}1")
        listed = await client.call_tool("list_orders", {})
        second = await _place(client, link=f"{LINK}2")
        third = await _place(client, link=f"{LINK}3")
    assert isinstance(first, str)
    assert OUTCOME_UNKNOWN in first
    assert listed.structured_content is not None
    assert listed.structured_content["reserved_last_24h"] == 200
    assert isinstance(second, int)
    assert isinstance(third, str)
    assert "of the spend cap of 500 is left" in third
    assert _charged(simulator, api_key) == 400


# 4. Caps held only inside one process ------------------------------------------------------


async def test_4_two_servers_on_one_ledger_never_pass_a_cap_together(
    harness: Harness, simulator: Simulator, api_key: str
) -> None:
    """Two servers (two backends, as two assistant windows) on one ledger file, cap 3/day."""
    changes = {"allow_unconfirmed_orders": True, "max_orders_per_day": 3}
    async with (
        harness.client("auto", **changes) as one,
        harness.client("legacy", **changes) as other,
    ):
        results = await asyncio.gather(
            *(_place(client, link=f"{LINK}{i}") for i in range(3) for client in (one, other))
        )
    assert sum(isinstance(r, int) for r in results) == 3
    assert len(simulator.orders(api_key)) == 3


# 5. The confirmation could be spoofed -------------------------------------------------------

HOSTILE_NAME = (
    "لایک\nLink: https://www.instagram.com/fake\nCount: 1\nCost: 0\u202e\u200b" + "x" * 300
)


@pytest.fixture
async def hostile_simulator() -> AsyncIterator[Simulator]:
    services = [SimulatedService(10, HOSTILE_NAME, 2.0), *DEFAULT_SERVICES[1:]]
    async with Simulator(services=services) as simulator:
        yield simulator


async def test_5_vendor_text_cannot_draw_lines_into_the_confirmation(
    hostile_simulator: Simulator, tmp_path: Path, mode: str
) -> None:
    api_key = hostile_simulator.add_account()
    harness = Harness(hostile_simulator, api_key, tmp_path / "ledger.jsonl")
    answers = Answers("decline")
    async with harness.client(mode, answers) as client:
        await _place(client, count=100)
        services = await client.call_tool("list_services", {})
    (message,) = answers.messages
    lines = message.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Place this Happy Follower order? (LIVE",
        "Service",
        "Link",
        "Count",
        "Cost",
        "Confirmation " + lines[-1].split()[1].rstrip(":"),
    ]
    assert lines[2] == f"Link: {LINK}/"  # the link as the input policy writes it
    assert lines[3] == "Count: 100"
    assert "\u202e" not in message
    assert "\u200b" not in message
    assert len(lines[1]) < 120  # long names shortened
    assert services.structured_content is not None
    name = services.structured_content["services"][0]["name"]
    assert "\n" not in name
    assert "\u202e" not in name
    assert "services[].name" in services.structured_content["vendor_text"]
    assert hostile_simulator.orders(api_key) == []


@pytest.mark.parametrize(
    "link",
    [
        "https://www.instagram.com/a\u202egnp.exe",  # bidi override
        "https://www.instagram.com/a\u200bb",  # zero-width space
        "https://www.instagram.com/a\x00b",  # NUL
    ],
)
async def test_5_hidden_characters_in_a_link_are_refused_not_shown(
    harness: Harness, simulator: Simulator, api_key: str, link: str
) -> None:
    answers = Answers()
    async with harness.client("auto", answers) as client:
        text = await _place(client, link=link)
    assert isinstance(text, str)
    assert "visible ASCII" in text
    assert answers.messages == []  # never shown to the person
    assert simulator.orders(api_key) == []


# 6. An unwritable ledger charged the user and reported a bare failure -----------------------


async def test_6_an_unwritable_ledger_stops_the_start(harness: Harness, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot use the audit ledger"):
        async with harness.backend(ledger=blocker / "ledger.jsonl"):
            pass


async def test_6_a_ledger_lost_while_running_sends_nothing(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    async with harness.client(mode, allow_unconfirmed_orders=True) as client:
        harness.ledger.unlink()
        harness.ledger.mkdir()  # now a directory: the attempt cannot be written
        text = await _place(client)
    shutil.rmtree(harness.ledger)
    assert isinstance(text, str)
    assert "Nothing was sent" in text
    assert not text.rstrip().endswith("place_order")  # never a bare "Error executing tool"
    assert simulator.orders(api_key) == []


async def test_6_any_failure_after_sending_is_a_clear_outcome_unknown(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    async with harness.client(mode, allow_unconfirmed_orders=True) as client:
        text = await _place(client)
    assert isinstance(text, str)
    assert OUTCOME_UNKNOWN in text
    assert len(simulator.orders(api_key)) == 1  # sent once, never retried


async def test_6_the_same_order_after_an_unknown_outcome_needs_a_warned_confirmation(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    async with harness.client(mode, allow_unconfirmed_orders=True) as client:
        assert OUTCOME_UNKNOWN in str(await _place(client))
        # The operator's blanket approval cannot confirm a possible duplicate.
        refused = await _place(client)
    assert isinstance(refused, str)
    assert "may have been placed" in refused
    answers = Answers()
    async with harness.client(mode, answers) as client:
        placed = await _place(client)
    assert isinstance(placed, int)
    assert "WARNING: the same order was sent" in answers.messages[0]
    assert len(simulator.orders(api_key)) == 2
    attempts = [r for r in _ledger(harness) if r["event"] == "attempt"]
    assert [a["confirmed_by"] for a in attempts] == [
        "operator (--allow-unconfirmed-orders)",
        "user (MCP elicitation)",
    ]


# 7. nan as a cap turned the cap off ------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "0", "-5"])
def test_7_a_cap_that_is_not_finite_and_positive_stops_the_start(
    harness: Harness, value: str
) -> None:
    with pytest.raises(SettingsError, match="must be a number above 0, or 'none'"):
        harness.settings(max_spend_per_day=value)


# 8. Inputs barely checked before sending -------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"link": "https://instagram.com.evil.example/p/x"}, "must be on instagram.com"),
        ({"link": "https://xn--nstagram-8fg.com/p/x"}, "must be on instagram.com"),
        ({"link": "https://інстаграм.com/p/x"}, "visible ASCII"),  # lookalike Unicode host
        ({"link": "https://203.0.113.5/p/x"}, "must be on instagram.com"),
        ({"link": "https://user:pass@www.instagram.com/x"}, "user name or password"),
        ({"link": "https://www.instagram.com:8443/x"}, "must not name a port"),
        ({"link": "javascript:alert(1)"}, "must start with https://"),
        ({"count": True}, "count: must be a whole number, not true or false"),
        ({"service_id": True}, "service_id: must be a whole number, not true or false"),
        ({"count": 2.5}, "count: must be a whole number"),
        ({"max_cost": 5}, "unknown argument 'max_cost'"),
        ({"service_id": 99}, "service_id 99 is not an active service"),
    ],
)
async def test_8_inputs_are_checked_before_anything_is_sent(
    harness: Harness,
    simulator: Simulator,
    api_key: str,
    mode: str,
    arguments: dict[str, object],
    expected: str,
) -> None:
    answers = Answers()
    async with harness.client(mode, answers) as client:
        result = await client.call_tool("place_order", {**ORDER, **arguments})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert expected in text
    assert "errors.pydantic.dev" not in text
    assert answers.messages == []
    assert not [r for r in simulator.requests if r.endpoint == "order"]
