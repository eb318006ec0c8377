"""Spend safety: caps under concurrency, the ledger, read-only mode, tool lists."""

from __future__ import annotations

import asyncio
import json

import pytest
from mcp import Client

from mcp_server import SettingsError
from mcp_server.tools import TOOL_NAMES, enabled_tools
from shared_client.simulator import Simulator

from .conftest import LINK, Answers, Harness

READS = ["check_connection", "get_credit", "list_services", "get_order_status", "list_orders"]


async def _place_many(client: Client, counts: list[int]) -> tuple[int, list[str]]:
    """Place orders concurrently (distinct links); return how many succeeded and the errors."""
    results = await asyncio.gather(
        *(
            client.call_tool(
                "place_order", {"service_id": 10, "link": f"{LINK}{i}", "count": count}
            )
            for i, count in enumerate(counts)
        )
    )
    errors = [r.content[0].text for r in results if r.is_error]  # type: ignore[union-attr]
    return len(results) - len(errors), errors


async def test_orders_per_day_cap_holds_under_concurrency(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    caps = {"max_orders_per_day": 3}
    async with harness.client(mode, Answers(), **caps) as client:
        placed, errors = await _place_many(client, [20] * 40)
        listed = await client.call_tool("list_orders", {})
    assert placed == 3
    assert len(errors) == 37
    assert all("the most allowed is 3" in e for e in errors)
    assert len(simulator.orders(api_key)) == 3
    assert listed.structured_content is not None
    assert listed.structured_content["orders_last_24h"] == 3
    assert listed.structured_content["max_orders_per_day"] == 3


async def test_spend_per_day_cap_holds_under_concurrency(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    # The operator's price of service 10 (2 per like, as the simulator charges) bounds
    # each order of 100 at 200: two fit under 500, a third would not.
    caps = {"max_spend_per_day": 500, "unit_prices": "10=2"}
    async with harness.client(mode, allow_unconfirmed_orders=True, **caps) as client:
        placed, errors = await _place_many(client, [100, 100, 100, 100])
        listed = await client.call_tool("list_orders", {})
    assert placed == 2
    assert len(errors) == 2
    assert all("of the spend cap of 500 is left" in e for e in errors)
    assert sum(order.cost for order in simulator.orders(api_key)) == 400
    assert listed.structured_content is not None
    assert listed.structured_content["spent_last_24h"] == 400
    assert listed.structured_content["reserved_last_24h"] == 0


async def test_count_cap_is_in_the_schema_and_enforced(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    caps = {"max_count_per_order": 50}
    async with harness.client(mode, allow_unconfirmed_orders=True, **caps) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["place_order"].input_schema["properties"]["count"]["maximum"] == 50
        placed, errors = await _place_many(client, [50, 51, 50])
    assert placed == 2
    assert len(errors) == 1
    assert [order.count for order in simulator.orders(api_key)] == [50, 50]


async def test_caps_count_orders_from_before_a_restart(
    harness: Harness, simulator: Simulator, api_key: str
) -> None:
    caps = {"max_orders_per_day": 1}
    async with harness.client("auto", allow_unconfirmed_orders=True, **caps) as client:
        assert (await _place_many(client, [20]))[0] == 1
    async with harness.client("auto", Answers(), **caps) as client:
        placed, errors = await _place_many(client, [20])
        listed = await client.call_tool("list_orders", {})
    assert placed == 0
    assert "the most allowed is 1" in errors[0]
    assert listed.structured_content is not None
    assert len(listed.structured_content["orders"]) == 1
    assert len(simulator.orders(api_key)) == 1


async def test_cap_refusal_comes_before_asking_the_user(harness: Harness) -> None:
    answers = Answers()
    async with harness.client(
        "legacy", allow_unconfirmed_orders=True, max_orders_per_day=1
    ) as client:
        assert (await _place_many(client, [20]))[0] == 1
    async with harness.client("legacy", answers, max_orders_per_day=1) as client:
        result = await client.call_tool(
            "place_order", {"service_id": 10, "link": LINK, "count": 20}
        )
    assert result.is_error
    assert answers.messages == []  # the human was not bothered with an order that cannot pass


async def test_ledger_records_every_attempt_without_secrets(
    harness: Harness, simulator: Simulator, api_key: str
) -> None:
    async with harness.client("auto", Answers(), max_orders_per_day=1) as client:
        await _place_many(client, [20])
        await _place_many(client, [20])
    lines = harness.ledger.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    # Written ahead, then the outcome; the second order refused by the cap.
    assert [r["event"] for r in records] == ["attempt", "placed", "refused"]
    assert {r["source"] for r in records} == {"mcp"}
    assert records[0]["confirmed_by"] == "user (MCP elicitation)"
    assert records[0]["attempt_id"] == records[1]["attempt_id"]
    assert records[1]["cost"] == 40
    assert api_key not in harness.ledger.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"read_only": True}, READS),
        ({"read_only": True, "tools": frozenset({"place_order", "get_credit"})}, ["get_credit"]),
        ({"tools": frozenset({"get_credit", "place_order"})}, ["get_credit", "place_order"]),
        (
            {"exclude_tools": frozenset({"cancel_order", "place_order"})},
            [*READS, "recheck_order", "confirm_price"],
        ),
        (
            {"tools": frozenset({"get_credit", "list_orders"}), "exclude_tools": {"list_orders"}},
            ["get_credit"],
        ),
    ],
)
async def test_read_only_mode_and_tool_lists(
    harness: Harness,
    simulator: Simulator,
    api_key: str,
    changes: dict[str, object],
    expected: list[str],
) -> None:
    async with harness.client(
        "legacy", Answers(), allow_unconfirmed_orders=True, **changes
    ) as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
        refused = await client.call_tool(
            "place_order", {"service_id": 10, "link": LINK, "count": 5}
        )
    assert listed == expected
    if "place_order" not in expected:
        assert refused.is_error
        assert simulator.orders(api_key) == []


@pytest.mark.parametrize("field", ["tools", "exclude_tools"])
def test_unknown_tool_names_stop_the_start(harness: Harness, field: str) -> None:
    with pytest.raises(SettingsError, match=r"unknown tool name.*place_ordr"):
        enabled_tools(harness.settings(**{field: frozenset({"place_ordr"})}))
    assert "place_order" in TOOL_NAMES
