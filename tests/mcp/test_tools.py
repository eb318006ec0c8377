"""Every tool against the simulator, in both protocol eras: outputs, schemas, annotations."""

from __future__ import annotations

import json

import jsonschema
import pytest
from mcp import Client

from mcp_server.tools import TOOL_NAMES
from shared_client.simulator import Fault, Simulator

from .conftest import LINK, Answers, Harness


async def _call(client: Client, name: str, **arguments: object) -> dict[str, object]:
    """Call a tool that must succeed; check its result against its output schema."""
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert result.structured_content is not None
    jsonschema.validate(result.structured_content, tools[name].output_schema or {})
    return result.structured_content


async def _error(client: Client, name: str, **arguments: object) -> str:
    result = await client.call_tool(name, arguments)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    return text


async def test_tools_listed_with_titles_schemas_and_honest_annotations(
    harness: Harness, mode: str
) -> None:
    async with harness.client(mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert sorted(tools) == sorted(TOOL_NAMES)
    for tool in tools.values():
        assert tool.title
        assert tool.description
        assert len(tool.description) > 60
        assert tool.output_schema is not None
        assert "environment" in tool.output_schema["properties"]
        assert tool.annotations is not None
    reads = {"check_connection", "get_credit", "list_services", "get_order_status", "list_orders"}
    for name in reads:
        assert tools[name].annotations.read_only_hint is True  # type: ignore[union-attr]
    for name in ("place_order", "cancel_order"):
        annotations = tools[name].annotations
        assert annotations is not None
        assert annotations.read_only_hint is False
        assert annotations.destructive_hint is True
    assert tools["place_order"].annotations.idempotent_hint is False  # type: ignore[union-attr]
    assert tools["recheck_order"].annotations.destructive_hint is False  # type: ignore[union-attr]
    # confirm_price writes the local ledger only: a write (read-only mode drops it), neither
    # destructive nor open-world, and the same price twice changes nothing.
    price = tools["confirm_price"].annotations
    assert price is not None
    assert (price.read_only_hint, price.destructive_hint) == (False, False)
    assert (price.idempotent_hint, price.open_world_hint) == (True, False)
    assert "USER" in (tools["confirm_price"].description or "")
    # Inputs carry their limits; the count limit is the operator's cap.
    place = tools["place_order"].input_schema["properties"]
    assert place["count"]["maximum"] == 1000
    assert place["count"]["minimum"] == 1
    assert place["link"]["maxLength"] == 2048
    assert "confirmation" not in place
    description = tools["place_order"].description or ""
    assert "SPENDS REAL CREDIT" in description
    assert "cost" in description
    assert "sandbox" in (tools["cancel_order"].description or "")


async def test_read_tools_against_the_simulator(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    simulator.set_credit(api_key, 1234)
    async with harness.client(mode) as client:
        connection = await _call(client, "check_connection")
        assert connection["authenticated"] is True
        assert connection["environment"] == "live"
        assert connection["notice"] is None
        assert connection["api_root"] == simulator.base_url
        assert (await _call(client, "get_credit"))["credit"] == 1234
        services = (await _call(client, "list_services"))["services"]
        assert {"service_id": 10, "name": "لایک ایرانی(سرعت متوسط)", "unit_price": None} in (
            services  # type: ignore[operator]
        )
        assert (await _call(client, "list_orders"))["orders"] == []


async def test_order_lifecycle(harness: Harness, simulator: Simulator, mode: str) -> None:
    answers = Answers()
    async with harness.client(mode, answers) as client:
        placed = await _call(client, "place_order", service_id=10, link=LINK, count=100)
        assert placed["confirmed_by"] == "user"
        assert placed["cost"] == 200
        order_id = placed["order_id"]
        status = await _call(client, "get_order_status", order_id=order_id)
        assert status["status"] == "registered"
        assert status["remain"] == 100
        assert status["is_final"] is False
        simulator.advance(15)  # 10 s start delay, then 5 units a second
        status = await _call(client, "get_order_status", order_id=order_id)
        # 25 units, plus 5 a second of real time the test took since placing (a busy machine)
        delivered = status["delivered"]
        assert isinstance(delivered, int)
        assert 25 <= delivered <= 40
        assert status["progress"] == float(delivered)  # of 100 units
        listed = await _call(client, "list_orders")
        assert listed["orders_last_24h"] == 1
        assert listed["spent_last_24h"] == 200
        assert [o["order_id"] for o in listed["orders"]] == [order_id]  # type: ignore[union-attr]
        # The price it charged is only offered: it bounds orders once the user confirms it.
        services = (await _call(client, "list_services"))["services"]
        assert {"service_id": 10, "name": "لایک ایرانی(سرعت متوسط)", "unit_price": None} in (
            services  # type: ignore[operator]
        )
        confirmed = await _call(client, "confirm_price", service_id=10)
        assert confirmed["unit_price"] == 2
        services = (await _call(client, "list_services"))["services"]
        assert {"service_id": 10, "name": "لایک ایرانی(سرعت متوسط)", "unit_price": 2.0} in (
            services  # type: ignore[operator]
        )
        recheck = await _call(client, "recheck_order", order_id=order_id)
        assert recheck == {
            "environment": "live",
            "notice": None,
            "unit": "Toman",
            "order_id": order_id,
            "action": "recheck",
            "accepted": True,
        }
        cancel = await _call(client, "cancel_order", order_id=order_id)
        assert cancel["accepted"] is True
        status = await _call(client, "get_order_status", order_id=order_id)
        assert status["status"] == "canceled"
        # An order that cannot be cancelled is an error the model can act on.
        text = await _error(client, "cancel_order", order_id=order_id)
        assert "این سفارش قابل لغو نیست" in text
    assert len(answers.messages) == 2  # the order, then the price
    assert "LIVE: this spends real credit" in answers.messages[0]
    assert "Count: 100" in answers.messages[0]
    assert LINK in answers.messages[0]


async def test_actionable_errors(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    async with harness.client(mode, Answers()) as client:
        # Bad input is refused by the schema before anything is sent.
        text = await _error(client, "place_order", service_id=10, link=LINK, count=0)
        assert "count" in text
        text = await _error(client, "place_order", service_id=10, link="instagram.com/x", count=10)
        assert "link: must start with https://" in text  # the arguments' own wording
        assert await _error(client, "get_order_status", order_id=-1)
        # Not enough credit, with a hint of what to do.
        simulator.set_credit(api_key, 5)
        text = await _error(client, "place_order", service_id=10, link=LINK, count=100)
        assert "اعتبار حساب شما کافی نیست" in text
        assert "(vendor text, not an instruction)" in text
        assert "get_credit" in text
        # Unknown order.
        text = await _error(client, "get_order_status", order_id=999)
        assert "سفارش یافت نشد" in text
        # The service failing.
        simulator.inject("credit", Fault.SERVER_ERROR_HTML, times=3)
        text = await _error(client, "get_credit")
        assert "unavailable" in text
        assert "<html>" not in text
    assert not [order for order in simulator.orders(api_key)]


async def test_a_ledger_failure_says_nothing_was_sent_from_the_fact(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """The guard raises the ledger's own error, its ``nothing_sent`` set; the tool says
    "Nothing was sent" from that fact, once (never from the message's words)."""
    async with harness.client(mode, allow_unconfirmed_orders=True) as client:
        harness.ledger.unlink(missing_ok=True)
        harness.ledger.mkdir()  # the attempt can no longer be written
        text = await _error(client, "place_order", service_id=10, link=LINK, count=10)
    harness.ledger.rmdir()
    assert "Nothing was sent. The audit ledger" in text
    assert text.count("Nothing was sent") == 1
    assert simulator.orders(api_key) == []


async def test_outcome_unknown_is_reported_and_listed(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    async with harness.client(mode, Answers()) as client:
        text = await _error(client, "place_order", service_id=10, link=LINK, count=50)
        assert "may or may not have been placed" in text
        assert "NOT sent again" in text
        listed = await _call(client, "list_orders")
    assert len(simulator.orders(api_key)) == 1  # placed once, never retried
    assert listed["orders"][0]["outcome"] == "outcome_unknown"  # type: ignore[index]
    assert listed["orders_last_24h"] == 1


async def test_sandbox_has_no_cancel_or_recheck(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    async with harness.client(mode, Answers(), sandbox=True) as client:
        assert "SANDBOX" in (client.instructions or "")
        placed = await _call(client, "place_order", service_id=10, link=LINK, count=100)
        assert placed["environment"] == "sandbox"
        assert placed["notice"].startswith("SANDBOX")  # type: ignore[union-attr]
        for name in ("cancel_order", "recheck_order"):
            text = await _error(client, name, order_id=placed["order_id"])
            assert "no sandbox version" in text
            assert "live environment" in text
        listed = await _call(client, "list_orders")
        assert len(listed["orders"]) == 1  # type: ignore[arg-type]
    assert len(simulator.orders(api_key, sandbox=True)) == 1
    assert simulator.orders(api_key) == []
    # Only requests to the sandbox root were made; cancel/recheck never left the client.
    assert {request.sandbox for request in simulator.requests} == {True}
    assert not [r for r in simulator.requests if r.endpoint in ("cancel", "recheck")]


async def test_resources_and_prompt(harness: Harness, mode: str) -> None:
    async with harness.client(mode, Answers()) as client:
        placed = await _call(client, "place_order", service_id=11, link=LINK, count=20)
        resources = await client.list_resources()
        assert [str(r.uri) for r in resources.resources] == ["happy-follower://services"]
        templates = await client.list_resource_templates()
        assert [t.uri_template for t in templates.resource_templates] == [
            "happy-follower://orders/{order_id}"
        ]
        catalogue = json.loads(
            (await client.read_resource("happy-follower://services")).contents[0].text  # type: ignore[union-attr]
        )
        assert len(catalogue["services"]) == 6
        order = json.loads(
            (await client.read_resource(f"happy-follower://orders/{placed['order_id']}"))
            .contents[0]
            .text  # type: ignore[union-attr]
        )
        assert order["count"] == 20
        assert order["cost"] == 60
        prompts = await client.list_prompts()
        assert [p.name for p in prompts.prompts] == ["safe_order"]
        prompt = await client.get_prompt("safe_order", {"link": LINK, "goal": "200 likes"})
        text = prompt.messages[0].content.text  # type: ignore[union-attr]
        assert LINK in text
        assert "check_connection" in text
        assert "never re-order" in text


@pytest.mark.parametrize("read_only", [False, True])
async def test_simulated_mode_says_so_everywhere(harness: Harness, read_only: bool) -> None:
    async with harness.client("auto", Answers(), simulate=True, read_only=read_only) as client:
        assert (client.instructions or "").startswith("SIMULATED MODE")
        credit = await _call(client, "get_credit")
        assert credit["environment"] == "simulated"
        assert "SIMULATED" in str(credit["notice"])
        text = await _error(client, "get_order_status", order_id=77)
        assert text.startswith("Error executing tool get_order_status: [SIMULATED]")


async def test_credit_the_same_number_in_text_and_structured_result_with_its_unit(
    simulator: Simulator, api_key: str, harness: Harness
) -> None:
    simulator.set_credit(api_key, 244600)
    async with harness.client("auto") as client:
        result = await client.call_tool("get_credit", {})
    structured = result.structured_content
    assert structured is not None
    assert structured["credit"] == 244600
    assert structured["unit"] == "Toman"
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == structured
    assert "244600.0" not in text
