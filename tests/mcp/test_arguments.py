"""Tool arguments: declared once, checked strictly, refused in the server's own words."""

from __future__ import annotations

import json

import pytest

from mcp_server import tools as tools_module
from mcp_server.tools import READ_ONLY_TOOLS, TOOLS, ToolSpec, enabled_tools
from shared_client.simulator import Simulator

from .conftest import LINK, Answers, Harness

ORDER = {"service_id": 10, "link": LINK, "count": 100}


async def _error(harness: Harness, mode: str, name: str, arguments: dict[str, object]) -> str:
    async with harness.client(mode, Answers(), allow_unconfirmed_orders=True) as client:
        result = await client.call_tool(name, arguments)
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith(f"Error executing tool {name}: Nothing was sent: ")
    assert "pydantic" not in text
    assert "[type=" not in text
    return text


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("place_order", {**ORDER, "max_cost": 5}, "unknown argument 'max_cost'"),
        ("get_credit", {"dry_run": True}, "unknown argument 'dry_run' (this tool takes no"),
        ("get_order_status", {"order_id": 1, "x": 1}, "unknown argument 'x'"),
        ("place_order", {**ORDER, "count": True}, "count: must be a whole number, not true"),
        ("place_order", {**ORDER, "service_id": False}, "service_id: must be a whole number"),
        ("get_order_status", {"order_id": True}, "order_id: must be a whole number"),
        ("place_order", {**ORDER, "count": 12.5}, "count: must be a whole number"),
        ("place_order", {**ORDER, "count": "1e3"}, "count: must be a whole number"),
        (
            "place_order",
            {**ORDER, "count": "۱۰۰۰۰"},
            "count: must be a whole number from 1 to 1000, got '۱۰۰۰۰'",
        ),
        ("place_order", {"service_id": 10, "link": LINK}, "count is required"),
        ("list_orders", {"limit": 0}, "limit: must be a whole number from 1 to 200, got 0"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_sent(
    harness: Harness,
    simulator: Simulator,
    api_key: str,
    mode: str,
    name: str,
    arguments: dict[str, object],
    expected: str,
) -> None:
    text = await _error(harness, mode, name, arguments)
    assert expected in text
    assert simulator.orders(api_key) == []
    assert not [r for r in simulator.requests if r.endpoint == "order"]


async def test_every_bad_argument_of_a_call_is_named_at_once(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    """Issue 15: a bad service_id, count AND link are all reported by the one call, the
    link by the shared link policy (not later by the guard); nothing reaches the service,
    and the ledger holds the refusal."""
    bad = {"service_id": 0, "link": "https://evil.example/p", "count": "12.5"}
    answers = Answers()
    async with harness.client(mode, answers, allow_unconfirmed_orders=True) as client:
        result = await client.call_tool("place_order", bad)
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("Error executing tool place_order: Nothing was sent: ")
    assert "service_id: must be a whole number from 1 to" in text
    assert "count: must be a whole number from 1 to" in text
    assert "link: must be on instagram.com or instagr.am" in text  # the policy's words
    assert answers.messages == []  # never asked
    assert simulator.orders(api_key) == []
    assert not [r for r in simulator.requests if r.endpoint == "order"]
    # No order line; the refused attempt is audited, as asked (a whole number kept as
    # it came, text that is not one left out).
    lines = [json.loads(line) for line in harness.ledger.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["refused"]
    (refused,) = lines
    assert refused["service_id"] == 0
    assert refused["count"] is None
    assert refused["link"] == bad["link"]
    for field in ("service_id", "count", "link"):
        assert field in refused["reason"]


async def test_the_link_argument_is_read_with_the_operators_hosts(
    harness: Harness, simulator: Simulator, api_key: str
) -> None:
    """The argument type reads the link for the guard's hosts, in its canonical spelling:
    what the guard prices, the ledger records and the service receives."""
    typed = "HTTPS://Example.ORG./p?x=1#top"
    async with harness.client("auto", link_hosts="example.org") as client:
        placed = await client.call_tool(
            "place_order", {"service_id": 10, "link": typed, "count": 5}
        )
        refused = await client.call_tool("place_order", {**ORDER, "link": "https://x.test/p"})
    assert placed.is_error  # no elicitation here: refused after the arguments passed
    assert "Nothing was placed: this client cannot show the user a confirmation" in (
        placed.content[0].text  # type: ignore[union-attr]
    )
    assert "link: must be on instagram.com or instagr.am or example.org" in (
        refused.content[0].text  # type: ignore[union-attr]
    )
    lines = [json.loads(line) for line in harness.ledger.read_text().splitlines()]
    assert [(line["event"], line["link"]) for line in lines] == [
        ("refused", "https://example.org/p?x=1"),  # in its canonical spelling
        ("refused", "https://x.test/p"),  # as asked: its arguments were refused
    ]
    assert simulator.orders(api_key) == []


@pytest.mark.parametrize("name", [spec.name for spec in TOOLS])
async def test_every_tool_refuses_an_unknown_argument(
    harness: Harness, simulator: Simulator, api_key: str, name: str
) -> None:
    arguments: dict[str, object] = {"order_id": 1} if "order" in name else {}
    if name == "place_order":
        arguments = {**ORDER}
    if name == "list_orders":
        arguments = {}
    text = await _error(harness, "auto", name, {**arguments, "max_cost": 1})
    assert "unknown argument 'max_cost'" in text
    assert simulator.orders(api_key) == []


async def test_every_tool_forbids_unknown_arguments_in_its_schema(harness: Harness) -> None:
    async with harness.client("auto") as client:
        listed = (await client.list_tools()).tools
    assert [tool.name for tool in listed] == [spec.name for spec in TOOLS]
    for tool in listed:
        assert tool.input_schema["additionalProperties"] is False, tool.name


async def test_persian_and_arabic_indic_digits_are_accepted(
    harness: Harness, simulator: Simulator, api_key: str, mode: str
) -> None:
    async with harness.client(mode, Answers()) as client:
        placed = await client.call_tool(
            "place_order", {"service_id": "۱۰", "link": LINK, "count": "٢٠"}
        )
        assert not placed.is_error, placed.content
        order_id = placed.structured_content["order_id"]  # type: ignore[index]
        persian = "".join("۰۱۲۳۴۵۶۷۸۹"[int(digit)] for digit in str(order_id))
        status = await client.call_tool("get_order_status", {"order_id": persian})
        resource = await client.read_resource(f"happy-follower://orders/{persian}")
    assert '"count":20' in resource.contents[0].text  # type: ignore[union-attr]
    assert not status.is_error, status.content
    assert status.structured_content["count"] == 20  # type: ignore[index]
    assert [(o.service_id, o.count) for o in simulator.orders(api_key)] == [(10, 20)]


def test_read_only_mode_follows_the_tools_own_annotation(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool added without readOnlyHint: true is dropped by read-only mode, with no list
    to update anywhere else."""
    assert tuple(s.name for s in TOOLS if s.annotations.read_only_hint) == READ_ONLY_TOOLS
    get_credit = next(spec for spec in TOOLS if spec.name == "get_credit")
    unannotated = ToolSpec(
        "new_tool",
        "New",
        get_credit.annotations.model_copy(update={"read_only_hint": None}),
        get_credit.make_handler,
    )
    monkeypatch.setattr(tools_module, "TOOLS", (*TOOLS, unannotated))
    monkeypatch.setattr(tools_module, "TOOL_NAMES", (*tools_module.TOOL_NAMES, "new_tool"))
    names = [spec.name for spec in enabled_tools(harness.settings(read_only=True))]
    assert names == list(READ_ONLY_TOOLS)
    assert "new_tool" in [spec.name for spec in enabled_tools(harness.settings())]


def test_the_table_is_consistent() -> None:
    for spec in TOOLS:
        if spec.spends:
            assert spec.annotations.destructive_hint is True, spec.name
            assert spec.annotations.idempotent_hint is False, spec.name
            assert not spec.read_only
    assert [spec.name for spec in TOOLS if spec.spends] == ["place_order"]
