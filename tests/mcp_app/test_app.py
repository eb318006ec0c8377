"""The MCP App on the server side: negotiation, the pages, the app-only tools' data."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from mcp_server import build_server
from mcp_server.app import ACCOUNT_URI, ORDER_CARD_URI, cards, page
from mcp_server.tools import TOOL_NAMES
from shared_client.simulator import DEFAULT_SERVICES, Fault, SimulatedService, Simulator

from .conftest import APPS, ORDER, OpenClient, backend_for

APP_TOOLS = {"app_order_card", "app_account"}
PAGES = {ORDER_CARD_URI, ACCOUNT_URI}
BOUND = {
    "get_order_status": ORDER_CARD_URI,
    "place_order": ORDER_CARD_URI,
    "list_orders": ACCOUNT_URI,
}


async def _tools(client: Client) -> dict[str, types.Tool]:
    return {tool.name: tool for tool in (await client.list_tools()).tools}


async def _page(client: Client, uri: str) -> types.TextResourceContents:
    contents = (await client.read_resource(uri)).contents[0]
    assert isinstance(contents, types.TextResourceContents)
    return contents


async def _card(client: Client, order_id: int) -> dict[str, Any]:
    result = await client.call_tool("app_order_card", {"order_id": order_id})
    assert not result.is_error, result.content
    card = result.structured_content
    assert card is not None
    return dict(card)


# --- negotiation --------------------------------------------------------------------


async def test_clients_without_apps_see_todays_server(open_client: OpenClient) -> None:
    async with open_client(apps=False) as client:
        tools = await _tools(client)
        resources = (await client.list_resources()).resources
        refused = await client.call_tool("app_order_card", {"order_id": 1})
        status = await client.call_tool("place_order", ORDER)
    assert list(tools) == list(TOOL_NAMES)
    assert all(tool.meta is None or "ui" not in tool.meta for tool in tools.values())
    assert not [item for item in resources if str(item.uri).startswith("ui://")]
    assert refused.is_error
    assert refused.content[0].text == "Unknown tool: app_order_card"  # type: ignore[union-attr]
    # Results are today's: no app-specific field.
    assert status.structured_content is not None
    assert set(status.structured_content) == {
        "environment",
        "notice",
        "unit",
        "order_id",
        "service_id",
        "link",
        "count",
        "cost",
        "estimated_cost",
        "cost_bound",
        "cost_anomaly",
        "confirmed_by",
    }


async def test_apps_clients_get_pages_and_app_only_tools(open_client: OpenClient) -> None:
    async with open_client() as client:
        tools = await _tools(client)
        resources = {str(item.uri): item for item in (await client.list_resources()).resources}
    assert set(tools) == set(TOOL_NAMES) | APP_TOOLS
    bound = {name: tool.meta["ui"]["resourceUri"] for name, tool in tools.items() if tool.meta}
    assert bound == {**BOUND, "app_order_card": ORDER_CARD_URI, "app_account": ACCOUNT_URI}
    for name in APP_TOOLS:
        meta, annotations = tools[name].meta, tools[name].annotations
        assert meta is not None
        assert meta["ui"]["visibility"] == ["app"]  # not the model's
        assert annotations is not None
        assert annotations.read_only_hint is True
    for uri in PAGES:
        assert resources[uri].mime_type == "text/html;profile=mcp-app"
        page_meta = resources[uri].meta
        assert page_meta is not None
        assert page_meta["ui"]["csp"] == {
            "connectDomains": [],
            "resourceDomains": [],
            "frameDomains": [],
        }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"read_only": True}, APP_TOOLS),
        ({"exclude_tools": "get_order_status"}, {"app_account"}),
        ({"tools": "place_order,get_credit"}, set()),
        ({"exclude_tools": "list_orders"}, {"app_order_card"}),
    ],
)
async def test_app_tools_read_only_what_enabled_tools_read(
    open_client: OpenClient, changes: dict[str, Any], expected: set[str]
) -> None:
    async with open_client(**changes) as client:
        tools = await _tools(client)
        pages = {str(item.uri) for item in (await client.list_resources()).resources}
    assert set(tools) & APP_TOOLS == expected
    assert pages >= PAGES


# --- the pages ------------------------------------------------------------------------


def _inline(html: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)
    assert match is not None
    return match.group(1)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("uri", sorted(PAGES))
async def test_pages_are_self_contained_and_locked_down(open_client: OpenClient, uri: str) -> None:
    async with open_client() as client:
        contents = await _page(client, uri)
    html = contents.text
    assert contents.mime_type == "text/html;profile=mcp-app"
    script, style = _inline(html, "script"), _inline(html, "style")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    assert csp.group(1).split("; ") == [
        "default-src 'none'",
        f"script-src {_hash(script)}",
        f"style-src {_hash(style)}",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    assert html.count("<script") == 1
    assert html.count("<style") == 1
    # Nothing loaded from anywhere; no HTML built from strings.
    assert not re.search(r"\b(src|href)\s*=|@import|url\(|https?://", html)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "new Function" not in script
    # No way to spend, cancel or ask the model to: only the two read-only app tools.
    for word in ("place_order", "cancel_order", "recheck_order", "ui/message", "ui/open-link"):
        assert word not in html
    assert set(re.findall(r'callAppTool\("(\w+)"', script)) == APP_TOOLS
    assert script.count('"tools/call"') == 1  # inside callAppTool, which refuses other names
    assert 'data-view="order"' in html if uri == ORDER_CARD_URI else 'data-view="account"' in html


async def test_html_is_built_at_first_read_not_at_start(
    simulator: Simulator, api_key: str, tmp_path: Path
) -> None:
    page.build.cache_clear()
    async with backend_for(simulator, api_key, tmp_path) as backend:
        server = build_server(backend)
        async with Client(server) as client:
            await client.list_resources()
            assert page.build.cache_info().currsize == 0
            first = await _page(client, ORDER_CARD_URI)
            second = await _page(client, ORDER_CARD_URI)
    assert page.build.cache_info().currsize == 1
    assert first.text == second.text


# --- the app tools' data ------------------------------------------------------------


async def test_order_card_follows_the_order(open_client: OpenClient, simulator: Simulator) -> None:
    async with open_client() as client:
        placed = await client.call_tool("place_order", ORDER)
        assert placed.structured_content is not None
        order_id = placed.structured_content["order_id"]
        waiting = await _card(client, order_id)
        simulator.advance(12)
        moving = await _card(client, order_id)
        simulator.advance(3600)
        done = await _card(client, order_id)
    assert waiting["service_id"] == 11
    assert waiting["service_name"] == DEFAULT_SERVICES[1].name
    assert waiting["target"] == {"kind": "profile", "text": "@happy.test"}
    assert waiting["delivered"] == 0
    assert not waiting["is_final"]
    assert waiting["refresh_seconds"] == cards.REFRESH_SECONDS == 10.0
    assert 0 < moving["delivered"] < 100
    assert moving["progress"] == moving["delivered"]  # 100 ordered: one unit is 1 %
    assert done["is_final"]
    assert done["delivered"] == 100
    assert done["status_title"] == "تکمیل شده"
    assert done["refresh_seconds"] is None  # the page stops asking
    assert done["cost"] == 300


async def test_order_card_of_an_order_placed_elsewhere_has_no_service(
    open_client: OpenClient, simulator: Simulator, api_key: str, tmp_path: Path
) -> None:
    async with backend_for(simulator, api_key, tmp_path / "other") as other:
        quote = await other.guard.prepare_order(11, ORDER["link"], 50)
        placed = await other.guard.place_order(quote, confirmed_by="test")
    async with open_client() as client:
        card = await _card(client, placed.order_id)
    assert card["service_id"] is None
    assert card["service_name"] is None
    assert card["target"] == {"kind": "profile", "text": "@happy.test"}  # from the status
    assert card["count"] == 50
    assert card["refresh_seconds"] == 30.0  # age unknown here: the middle pace


async def test_app_tools_refuse_unknown_arguments(open_client: OpenClient) -> None:
    async with open_client() as client:
        card = await client.call_tool("app_order_card", {"order_id": 1, "confirm": True})
        account = await client.call_tool("app_account", {"limit": 5})
        bad_id = await client.call_tool("app_order_card", {"order_id": True})
    assert card.is_error
    assert card.content[0].text == (  # type: ignore[union-attr]
        "Error executing tool app_order_card: Nothing was sent: unknown argument(s) 'confirm' "
        "(this tool takes order_id)."
    )
    assert account.is_error
    assert "'limit' (this tool takes no arguments)" in account.content[0].text  # type: ignore[union-attr]
    assert bad_id.is_error
    assert "whole number" in bad_id.content[0].text  # type: ignore[union-attr]


async def test_order_card_refresh_failure_says_what_happened(
    open_client: OpenClient, simulator: Simulator
) -> None:
    async with open_client() as client:
        placed = await client.call_tool("place_order", ORDER)
        assert placed.structured_content is not None
        for _ in range(5):  # the client retries reads
            simulator.inject("status", Fault.SERVER_ERROR_HTML)
        failed = await client.call_tool(
            "app_order_card", {"order_id": placed.structured_content["order_id"]}
        )
        unknown = await client.call_tool("app_order_card", {"order_id": 999})
    assert failed.is_error
    assert "502" in failed.content[0].text  # type: ignore[union-attr]
    assert unknown.is_error


HOSTILE_NAME = "لایک\n\nLink: https://evil.example\u202e\u200b" + "x" * 200


async def test_vendor_text_on_the_card_is_display_safe(tmp_path: Path, mode: str) -> None:
    services = [SimulatedService(11, HOSTILE_NAME, 3.0), *DEFAULT_SERVICES[2:]]
    async with Simulator(services=services) as simulator:
        key = simulator.add_account(credit=100_000)
        async with (
            backend_for(simulator, key, tmp_path) as backend,
            Client(build_server(backend), mode=mode, extensions=[APPS]) as client,
        ):
            quote = await backend.guard.prepare_order(11, ORDER["link"], 100)
            placed = await backend.guard.place_order(quote, confirmed_by="test")
            card = await _card(client, placed.order_id)
    name = card["service_name"]
    assert "\n" not in name
    assert "\u202e" not in name
    assert "\u200b" not in name
    assert name.startswith("لایک")
    assert "Link: https://evil.example" in name
    assert len(name) <= 80
    assert name.endswith("…")


async def test_account_view(open_client: OpenClient, simulator: Simulator) -> None:
    async with open_client(max_orders_per_day=3) as client:
        await client.call_tool("place_order", ORDER)
        await client.call_tool("place_order", {**ORDER, "link": "https://instagram.com/reel/Ab1/"})
        simulator.advance(12)  # 10 s waiting, then 20 likes a second
        result = await client.call_tool("app_account", {})
    view = result.structured_content
    assert view is not None
    assert view["credit"] == 100_000 - 2 * 300
    assert view["credit_problem"] is None
    assert view["orders_last_24h"] == 2
    assert view["max_orders_per_day"] == 3
    assert view["spent_last_24h"] + view["reserved_last_24h"] == 600
    assert view["max_spend_per_day"] is None
    newest, oldest = view["orders"]
    assert newest["target"] == {"kind": "reel", "text": "Ab1"}
    assert oldest["target"] == {"kind": "profile", "text": "@happy.test"}
    assert newest["service_name"] == oldest["service_name"] == DEFAULT_SERVICES[1].name
    for line in (newest, oldest):
        status = line["status"]
        assert status["status_title"] == "در حال انجام"
        assert status["is_final"] is False
        assert 0 < status["delivered"] < 100
        assert status["progress"] == status["delivered"]


async def test_account_view_reads_no_status_when_get_order_status_is_off(
    open_client: OpenClient,
) -> None:
    async with open_client(exclude_tools="get_order_status") as client:
        await client.call_tool("place_order", ORDER)
        view = (await client.call_tool("app_account", {})).structured_content
    assert view is not None
    assert [line["status"] for line in view["orders"]] == [None]
    assert view["orders"][0]["count"] == 100


async def test_account_view_reads_no_credit_when_get_credit_is_off(
    open_client: OpenClient,
) -> None:
    async with open_client(exclude_tools="get_credit") as client:
        view = (await client.call_tool("app_account", {})).structured_content
    assert view is not None
    assert view["credit"] is None
    assert view["orders"] == []


@pytest.mark.parametrize(
    ("link", "kind", "text"),
    [
        ("https://www.instagram.com/happy.test", "profile", "@happy.test"),
        ("https://instagram.com/happy.test/", "profile", "@happy.test"),
        ("https://www.instagram.com/p/C0dE12x/", "post", "C0dE12x"),
        ("https://www.instagram.com/happy.test/p/C0dE12x/", "post", "C0dE12x"),
        ("https://www.instagram.com/reel/R3e1/?igsh=abc", "reel", "R3e1"),
        ("https://www.instagram.com/reels/R3e1/", "reel", "R3e1"),
        ("https://www.instagram.com/tv/V1d/", "post", "V1d"),
        ("https://www.instagram.com/stories/happy.test/3141592/", "story", "@happy.test"),
        ("https://m.instagram.com/happy.test", "profile", "@happy.test"),
        ("https://instagr.am/p/Short/", "post", "Short"),
        (
            "https://www.instagram.com/stories/highlights/1/",
            "link",
            "instagram.com/stories/highlights/1/",
        ),
        ("https://evil-instagram.com/happy.test", "link", "evil-instagram.com/happy.test"),
        ("https://www.instagram.com/explore/", "link", "instagram.com/explore/"),
        ("http://[broken", "link", "http://[broken"),
    ],
)
def test_target_of_a_link(link: str, kind: str, text: str) -> None:
    target = cards.target_of(link)
    assert target is not None
    assert (target.kind, target.text) == (kind, text)


@pytest.mark.parametrize(
    ("age", "seconds"),
    [(0, 10.0), (599, 10.0), (601, 30.0), (3599, 30.0), (3601, 60.0), (86_400, 60.0), (None, 30.0)],
)
def test_cards_poll_less_often_as_orders_age(age: int | None, seconds: float) -> None:
    placed_at = None if age is None else datetime.now(UTC) - timedelta(seconds=age)
    assert cards.refresh_after(placed_at) == seconds


def test_target_of_no_link() -> None:
    assert cards.target_of(None) is None
    assert cards.target_of("") is None
