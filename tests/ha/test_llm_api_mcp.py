"""Home Assistant's own MCP Server serves the Happy Follower LLM API to a real MCP client.

Nothing here is mocked between the client and the vendor: Home Assistant's ``mcp_server``
integration, set up through its own config flow, answers on ``/api/mcp/happy_follower``
over HTTP on a loopback port (the harness's aiohttp test server: a real socket), the
``mcp`` package's client talks to it with a Home Assistant access token, and the tools
reach the simulator. An order still needs the code that only the person sees, in a
Home Assistant notification.

Home Assistant 2026.10's ``mcp_server`` is written for the 1.x ``mcp`` package (its
manifest pins ``mcp==1.28.1``): with the 2.x package this project installs for its own
MCP server it cannot even be imported (``mcp.types.ClientRequestType``, the decorators
``Server.list_tools()`` and ``call_tool()``, ``Server.request_context`` and
``run(stateless=True)`` are gone in 2.x), so these tests are skipped while Home
Assistant's pin and the installed package differ in their major version. Home Assistant
2026.11 pins ``mcp==2.3.0``; its other requirement, ``aiohttp_sse``, must be installed
then, or these tests fail.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, ListToolsResult, TextContent
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.happy_follower.const import (
    CONF_ASSISTANTS_MAY_ORDER,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
    DOMAIN,
)
from custom_components.happy_follower.llm_api import API_ID
from shared_client.simulator import Simulator

from .helpers import LINK, SENT, approval_code, approval_notifications, ledger_lines

MCP_SERVER = "mcp_server"
SPENDING = {
    CONF_ASSISTANTS_MAY_ORDER: True,
    CONF_MAX_SPEND_PER_DAY: 1000,
    CONF_UNIT_PRICES: "10 = 2",
}
ORDER = {"service_id": 10, "link": LINK, "count": 100}
READ_TOOLS = {"get_credit", "list_services", "get_order_status", "list_orders"}
ACT_TOOLS = {"cancel_order", "recheck_order"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
JSON_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _pinned_mcp_mismatch() -> str | None:
    """Why Home Assistant's mcp_server cannot run with the installed mcp, or None.

    Only the known break (another major version than Home Assistant pins) skips: any
    other missing piece (aiohttp_sse, say) fails the tests, as it would fail the user.
    """
    spec = importlib.util.find_spec(f"homeassistant.components.{MCP_SERVER}")
    assert spec is not None
    assert spec.submodule_search_locations
    manifest = Path(spec.submodule_search_locations[0], "manifest.json")
    requirements = json.loads(manifest.read_text(encoding="utf-8"))["requirements"]
    pinned = next(req.partition("==")[2] for req in requirements if req.startswith("mcp=="))
    installed = importlib.metadata.version("mcp")
    if pinned.split(".")[0] == installed.split(".")[0]:
        return None
    return (
        f"Home Assistant {importlib.metadata.version('homeassistant')}'s mcp_server pins "
        f"mcp=={pinned}; mcp {installed} is installed, whose API it cannot use"
    )


MISMATCH = _pinned_mcp_mismatch()
pytestmark = pytest.mark.skipif(MISMATCH is not None, reason=MISMATCH or "")


@pytest.fixture
async def mcp_url(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, aiohttp_client: ClientSessionGenerator
) -> str:
    """Home Assistant's MCP Server, configured as a person does, on a loopback port."""
    # The core integration (exposed entities) comes first, as in a running Home Assistant:
    # the MCP Server needs conversation, whose default agent reads them.
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, MCP_SERVER, {})
    result = await hass.config_entries.flow.async_init(
        MCP_SERVER, context={"source": SOURCE_USER}, data={}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["all_llm_apis"] is True  # every LLM API, ours among them
    await hass.async_block_till_done()
    # The harness patches HomeAssistantHTTP's bind and start; its aiohttp test server
    # serves Home Assistant's app on a real socket, on 127.0.0.1 and a free port.
    server = (await aiohttp_client(hass.http.app)).server
    assert server.host == "127.0.0.1"
    assert server.port
    return f"http://127.0.0.1:{server.port}/api/mcp/{API_ID}"


@asynccontextmanager
async def _mcp(url: str, token: str, mode: str = "auto") -> AsyncIterator[Client]:
    """The mcp package's own client over Streamable HTTP, as an MCP host connects."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


async def _call(client: Client, tool: str, **args: Any) -> tuple[CallToolResult, Any]:
    """A tool's result and the JSON of its one text: how Home Assistant returns data."""
    result = await client.call_tool(f"{DOMAIN}__{tool}", args)
    (content,) = result.content
    assert isinstance(content, TextContent)
    try:
        data = json.loads(content.text)
    except json.JSONDecodeError:
        data = content.text
    return result, data


def _assert_tools(listed: ListToolsResult, *, spending: bool) -> None:
    """The tools as MCP lists them: names, and the hints an MCP host shows or acts on."""
    tools = {tool.name: tool for tool in listed.tools}
    expected = READ_TOOLS | ACT_TOOLS | ({"place_order"} if spending else set())
    assert set(tools) == {f"{DOMAIN}__{name}" for name in expected}
    for name in READ_TOOLS:
        annotations = tools[f"{DOMAIN}__{name}"].annotations
        assert annotations is not None
        assert annotations.read_only_hint is True, name
        assert annotations.destructive_hint is False, name
    cancel = tools[f"{DOMAIN}__cancel_order"].annotations
    assert cancel is not None
    assert cancel.read_only_hint is False
    assert cancel.destructive_hint is True
    if not spending:
        return
    place = tools[f"{DOMAIN}__place_order"]
    assert place.annotations is not None
    assert place.annotations.read_only_hint is False
    assert place.annotations.destructive_hint is True
    assert place.annotations.idempotent_hint is False
    assert place.annotations.open_world_hint is True
    assert place.title == "Place a Happy Follower order"
    assert set(place.input_schema["required"]) == {"service_id", "link", "count"}
    assert "approval_code" in place.input_schema["properties"]


@pytest.mark.parametrize("options", [SPENDING])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_mcp_client_orders_with_the_persons_code(
    hass: HomeAssistant,
    mode: str,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    mcp_url: str,
    hass_access_token: str,
    hass_admin_user: User,
) -> None:
    seen: list[str] = []  # every text the MCP client read
    async with _mcp(mcp_url, hass_access_token, mode) as client:
        assert client.server_info is not None
        assert client.server_info.name == "home-assistant"
        # "auto" asks server/discover (2026-07-28); "legacy" the initialize handshake.
        versions = MODERN_PROTOCOL_VERSIONS if mode == "auto" else HANDSHAKE_PROTOCOL_VERSIONS
        assert client.protocol_version in versions
        _assert_tools(await client.list_tools(), spending=True)

        credit, data = await _call(client, "get_credit")
        assert not credit.is_error
        assert credit.structured_content is None  # Home Assistant sends JSON as text
        assert data == {
            "account": "Happy Follower",
            "credit": simulator.credit(api_key),
            "unit": "Toman",
        }

        asked, data = await _call(client, "place_order", **ORDER)
        seen.append(json.dumps(data, ensure_ascii=False))
        assert not asked.is_error, data
        assert data["waiting_for_approval"] is True
        assert data["placed"] is False
        assert data["link"] == SENT
        assert data["cost_at_most"] == 200
        assert simulator.orders(api_key) == []
        assert ledger_lines(hass, loaded_entry) == []  # nothing reserved or sent yet

        code = approval_code(hass)  # the person reads the notification
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        refused, data = await _call(client, "place_order", **ORDER, approval_code=wrong)
        seen.append(json.dumps(data, ensure_ascii=False))
        assert refused.is_error
        assert data["kind"] == "approval_code_wrong"
        assert simulator.orders(api_key) == []
        assert approval_code(hass) == code  # one wrong code does not void the approval

        placed, data = await _call(client, "place_order", **ORDER, approval_code=code)
        assert not placed.is_error, data
        assert data["placed"] is True
        order_id = data["order_id"]

        # Tracked like any order: the status tool reads it back over MCP.
        status, data = await _call(client, "get_order_status", order_id=order_id)
        assert not status.is_error, data
        assert data["order_id"] == order_id

    assert [item.order_id for item in simulator.orders(api_key)] == [order_id]
    assert approval_notifications(hass) == []  # the code was used: its notification is dismissed
    # A wrong code (under three) is answered to the model only: the ledger has the order.
    lines = ledger_lines(hass, loaded_entry)
    assert [line["event"] for line in lines] == ["attempt", "placed"]
    assert lines[1]["order_id"] == order_id
    # The token's user reached the tool: the MCP Server passes it in the context, and
    # names itself as the platform. The ledger keeps 120 characters of who asked: here
    # the text is 121 long, so its last word ends in "…" (the guard's cap, not ours).
    confirmed_by = lines[0]["confirmed_by"]
    assert confirmed_by.startswith(
        f"Home Assistant user {hass_admin_user.name} ({hass_admin_user.id}), via "
        "assistant (mcp_server) with the notification's co"
    )
    assert len(confirmed_by) <= 120
    # The model never read the code: not in any result the client saw before it was given.
    assert all(code not in text for text in seen)


@pytest.mark.parametrize("options", [SPENDING])
async def test_only_administrators_reach_the_endpoint(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    mcp_url: str,
    hass_access_token: str,
    hass_read_only_access_token: str,
) -> None:
    http = create_mcp_http_client()
    async with http:
        admin = await http.post(
            mcp_url,
            json=INITIALIZE,
            headers={**JSON_HEADERS, "Authorization": f"Bearer {hass_access_token}"},
        )
        reader = await http.post(
            mcp_url,
            json=INITIALIZE,
            headers={**JSON_HEADERS, "Authorization": f"Bearer {hass_read_only_access_token}"},
        )
        nobody = await http.post(mcp_url, json=INITIALIZE, headers=JSON_HEADERS)
    assert admin.status_code == 200, admin.text
    assert admin.json()["result"]["serverInfo"]["name"] == "home-assistant"
    # Home Assistant's MCP Server refuses a user who is not an administrator: 401 on
    # 2026.10 (its Unauthorized through the HTTP layer), 403 from 2026.11.
    assert reader.status_code in {401, 403}, reader.text
    # Without a token, Home Assistant's authentication answers first: 401.
    assert nobody.status_code == 401, nobody.text
    # The mcp client with the reader's token does not get past its handshake; the SDK
    # reports the HTTP error as an internal JSON-RPC error, without the status.
    with pytest.raises(ExceptionGroup) as refused:
        async with _mcp(mcp_url, hass_read_only_access_token):
            pass
    assert refused.group_contains(MCPError, match="^Server returned an error response$")
    assert simulator.orders(api_key) == []


async def test_without_the_option_there_is_no_order_tool(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    mcp_url: str,
    hass_access_token: str,
) -> None:
    async with _mcp(mcp_url, hass_access_token) as client:
        _assert_tools(await client.list_tools(), spending=False)
        result, text = await _call(client, "place_order", **ORDER)
    assert result.is_error
    # Home Assistant refuses a tool its API instance does not list, before our code runs.
    assert text == f'Error calling tool: Tool "{DOMAIN}__place_order" not found'
    assert simulator.orders(api_key) == []
    assert ledger_lines(hass, loaded_entry) == []
    assert approval_notifications(hass) == []
