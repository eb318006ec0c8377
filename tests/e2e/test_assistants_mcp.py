"""End to end: Home Assistant's own MCP Server serves the Happy Follower API to a real client.

No browser and nothing mocked: the demo's stack (the simulator, a real Home Assistant 2026.10
process with the integration configured, and the stand-alone MCP server) runs in this test;
Home Assistant's "Model Context Protocol Server" integration is added through its config
flow over REST, the integration's options allow assistants to order (spend cap and prices,
submitted as the form shows them), and the ``mcp`` package's own client talks Streamable
HTTP to ``/api/mcp/happy_follower`` with an administrator's long-lived access token. An
order needs the code that only the person sees, in a Home Assistant notification; a user
who is not an administrator is refused by Home Assistant before any tool.

Home Assistant 2026.10's ``mcp_server`` pins ``mcp==1.28.1`` (and ``aiohttp_sse``), while
this environment holds the 2.x ``mcp`` of the stand-alone server (and of the client here).
As Home Assistant would install them for a user, those pins that are missing or of another
major version, and what they need that is missing, are installed with ``uv pip install
--target`` into a temporary folder that only the Home Assistant process sees (its
``PYTHONPATH``), in a fraction of a second (about 200 kB from PyPI, then uv's cache). The
same steps as ``docs/screenshots_assistants.py``, which photographs them in a browser.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import TextContent, Tool

from demo.stack import DEMO_TEXTS, DemoAccess, _full_stack
from shared_client.cli.tour import DEMO_CREDIT
from shared_client.simulator import Simulator

from .browser import free_port
from .ha_mcp_server import MissingToolError, install_requirements
from .test_demo_dashboard import _left_behind

DOMAIN = "happy_follower"
# The options form's fields an administrator fills in to let assistants order.
SPENDING = {
    "max_spend_per_day": "10,000",
    "unit_prices": "10 = 2\n20 = 8",
    "assistants_may_order": True,
}
ORDER = {"service_id": 10, "link": "https://www.instagram.com/p/DAbc123xyz/", "count": 500}
READ_TOOLS = {"get_credit", "list_services", "get_order_status", "list_orders"}
ACT_TOOLS = {"cancel_order", "recheck_order"}
CODE = re.compile(r"\*\*(\d{6})\*\*")
RELOAD_TIMEOUT = 30.0
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "1"},
    },
}


# --- Home Assistant's MCP Server requirements, for the Home Assistant process only -------------


def _missing_tool(why: str) -> None:
    """As the browser tests treat a missing Chromium: a failure in CI, a skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@asynccontextmanager
async def _demo_stack(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[DemoAccess, Simulator, str]]:
    """What `happy-follower demo` runs after its terminal tour, with the MCP Server's
    requirements visible to the Home Assistant subprocess only (this process has its mcp)."""
    overlay = scratch / "mcp-server-requirements"
    try:
        await asyncio.to_thread(install_requirements, overlay)
    except MissingToolError as err:
        _missing_tool(str(err))
    paths = [str(overlay), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))  # read when HA starts
    workspace = scratch / "demo"
    workspace.mkdir()
    async with Simulator() as sim:
        api_key = sim.add_account(credit=DEMO_CREDIT)
        ports = (free_port(), free_port())
        async with _full_stack(sim, api_key, workspace, *ports, texts=DEMO_TEXTS["en"]) as access:
            yield access, sim, api_key


# --- Home Assistant's APIs, as its frontend uses them --------------------------------------------


class _HomeAssistant:
    def __init__(self, session: aiohttp.ClientSession, access: DemoAccess) -> None:
        self.session = session
        self.url = access.home_assistant_url
        self.mcp_url = f"{self.url}/api/mcp/{DOMAIN}"
        self.log = Path(access.workspace, "config", "demo-home-assistant.out")

    async def post(self, path: str, token: str | None, data: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.post(self.url + path, json=data, headers=headers) as response:
            assert response.status == 200, f"POST {path}: {response.status} {await response.text()}"
            return await response.json()

    async def websocket(self, token: str, message: dict[str, Any]) -> Any:
        url = self.url.replace("http", "ws", 1) + "/api/websocket"
        async with self.session.ws_connect(url) as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": token})
            assert (await ws.receive_json())["type"] == "auth_ok"
            await ws.send_json({"id": 1, **message})
            while True:
                answer = await ws.receive_json()
                if answer.get("id") == 1 and answer.get("type") == "result":
                    assert answer["success"], f"{message['type']}: {answer.get('error')}"
                    return answer.get("result")

    async def log_in(self, username: str, password: str) -> str:
        """The login page's flow, then the authorization code exchanged for a token."""
        client_id = f"{self.url}/"
        flow = await self.post(
            "/auth/login_flow",
            None,
            {
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        done = await self.post(
            f"/auth/login_flow/{flow['flow_id']}",
            None,
            {"client_id": client_id, "username": username, "password": password},
        )
        assert done["type"] == "create_entry", done
        form = {"grant_type": "authorization_code", "code": done["result"], "client_id": client_id}
        async with self.session.post(f"{self.url}/auth/token", data=form) as response:
            assert response.status == 200, await response.text()
            return str((await response.json())["access_token"])

    async def approval_codes(self, token: str) -> list[str]:
        """The codes in the approval notifications, as the person reads them in the UI."""
        notifications = await self.websocket(token, {"type": "persistent_notification/get"})
        return [
            match.group(1)
            for item in notifications
            if item["notification_id"].startswith(f"{DOMAIN}_approval_")
            and (match := CODE.search(item["message"]))
        ]


@asynccontextmanager
async def _mcp(url: str, token: str) -> AsyncIterator[Client]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def _tools(url: str, token: str) -> dict[str, Tool]:
    async with _mcp(url, token) as client:
        return {
            tool.name.removeprefix(f"{DOMAIN}__"): tool
            for tool in (await client.list_tools()).tools
        }


async def _call(client: Client, tool: str, **args: Any) -> tuple[bool, Any]:
    """Whether the tool answered an error, and the JSON of its one text."""
    result = await client.call_tool(f"{DOMAIN}__{tool}", args)
    (content,) = result.content
    assert isinstance(content, TextContent)
    return result.is_error, json.loads(content.text)


def _ledger(access: DemoAccess) -> list[dict[str, Any]]:
    storage = Path(access.workspace, "config", ".storage")
    path = storage / f"{DOMAIN}.{access.config_entry_id}.ledger.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# --- the test ----------------------------------------------------------------------------------


async def test_home_assistants_mcp_server_orders_with_the_persons_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tempfile.TemporaryDirectory(prefix="happy-follower-e2e-mcp-") as folder:
        async with (
            _demo_stack(Path(folder), monkeypatch) as (access, sim, api_key),
            aiohttp.ClientSession() as session,
        ):
            ports = [
                int(access.home_assistant_url.rsplit(":", 1)[1]),
                int(access.mcp_url.split(":")[2].split("/")[0]),
            ]
            ha = _HomeAssistant(session, access)
            token = await ha.log_in(access.username, access.password)
            llat = await _add_mcp_server(ha, token)
            # Until an administrator allows it, assistants read and act, but cannot order.
            assert set(await _tools(ha.mcp_url, llat)) == READ_TOOLS | ACT_TOOLS
            await _allow_assistants(ha, token, access.config_entry_id, llat)

            orders = [order.order_id for order in sim.orders(api_key)]
            order_id = await _order_with_the_persons_code(ha, access, sim, api_key, token, llat)
            assert [order.order_id for order in sim.orders(api_key)] == [*orders, order_id]

            await _refuses_a_user_who_is_not_an_administrator(ha, token)
            assert [order.order_id for order in sim.orders(api_key)] == [*orders, order_id]
    assert _left_behind(folder) == []
    assert all(_port_free(port) for port in ports), ports


async def _add_mcp_server(ha: _HomeAssistant, token: str) -> str:
    """Add the integration; returns an administrator's token for an MCP client."""
    # Settings > Devices & services > Add integration > Model Context Protocol Server.
    flow = await ha.post("/api/config/config_entries/flow", token, {"handler": "mcp_server"})
    added = await ha.post(f"/api/config/config_entries/flow/{flow['flow_id']}", token, {})
    assert added["type"] == "create_entry", (added, ha.log.read_text("utf-8")[-3000:])
    # Profile > Security > Long-lived access tokens > Create token.
    return str(
        await ha.websocket(
            token,
            {"type": "auth/long_lived_access_token", "client_name": "MCP client", "lifespan": 1},
        )
    )


async def _allow_assistants(ha: _HomeAssistant, token: str, entry_id: str, llat: str) -> None:
    """The options form submitted as shown, with a spend cap, prices and the switch on."""
    path = "/api/config/config_entries/options/flow"
    form = await ha.post(path, token, {"handler": entry_id})
    shown = {
        field["name"]: field["description"]["suggested_value"]
        for field in form["data_schema"]
        if "suggested_value" in (field.get("description") or {})
    }
    saved = await ha.post(f"{path}/{form['flow_id']}", token, {**shown, **SPENDING})
    assert saved["type"] == "create_entry", saved
    deadline = asyncio.get_running_loop().time() + RELOAD_TIMEOUT
    while "place_order" not in (tools := await _tools(ha.mcp_url, llat)):  # the entry reloads
        assert asyncio.get_running_loop().time() < deadline, sorted(tools)
        await asyncio.sleep(0.2)
    # Seven tools, with the hints an MCP host shows or acts on.
    assert set(tools) == READ_TOOLS | ACT_TOOLS | {"place_order"}
    for name, tool in tools.items():
        assert tool.annotations is not None, name
        assert tool.annotations.read_only_hint is (name in READ_TOOLS), name
        assert tool.annotations.destructive_hint is (name not in READ_TOOLS | {"recheck_order"})
    place = tools["place_order"].annotations
    assert place is not None
    assert (place.read_only_hint, place.destructive_hint) == (False, True)
    assert place.idempotent_hint is False


async def _order_with_the_persons_code(
    ha: _HomeAssistant, access: DemoAccess, sim: Simulator, api_key: str, token: str, llat: str
) -> int:
    """Asked without a code, refused with a wrong one, placed with the notification's."""
    me = await ha.websocket(token, {"type": "auth/current_user"})
    assert me["is_admin"] is True
    orders = [order.order_id for order in sim.orders(api_key)]
    ledger = len(_ledger(access))
    seen = []  # every text the model read before the person gave the code
    async with _mcp(ha.mcp_url, llat) as client:
        error, credit = await _call(client, "get_credit")
        assert not error, credit
        assert (credit["credit"], credit["unit"]) == (sim.credit(api_key), "Toman")

        error, asked = await _call(client, "place_order", **ORDER)
        seen.append(json.dumps(asked, ensure_ascii=False))
        assert not error, asked
        assert (asked["waiting_for_approval"], asked["placed"]) == (True, False)
        assert asked["cost_at_most"] == 1000
        assert [order.order_id for order in sim.orders(api_key)] == orders
        assert len(_ledger(access)) == ledger  # nothing reserved or sent

        (code,) = await ha.approval_codes(token)  # the person opens the notification
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        error, refused = await _call(client, "place_order", **ORDER, approval_code=wrong)
        seen.append(json.dumps(refused, ensure_ascii=False))
        assert error
        assert refused["kind"] == "approval_code_wrong"
        assert [order.order_id for order in sim.orders(api_key)] == orders

        error, placed = await _call(client, "place_order", **ORDER, approval_code=code)
        assert not error, placed
        assert placed["placed"] is True
        error, listed = await _call(client, "list_orders", limit=1)
        assert not error, listed

    assert all(code not in text for text in seen)
    assert await ha.approval_codes(token) == []  # used: its notification is gone
    # The ledger: exactly one order more, asked by the token's user through the MCP Server.
    added = _ledger(access)[ledger:]
    assert [line["event"] for line in added] == ["attempt", "placed"]
    assert added[1]["order_id"] == placed["order_id"]
    who = f"Home Assistant user {me['name']} ({me['id']}), via assistant (mcp_server)"
    assert added[0]["confirmed_by"].startswith(who), added[0]
    (newest,) = listed["orders"]
    assert newest["order_id"] == placed["order_id"]
    assert newest["asked_by"].startswith(who)
    return int(placed["order_id"])


async def _refuses_a_user_who_is_not_an_administrator(ha: _HomeAssistant, token: str) -> None:
    """Settings > People > Add person, a user (group system-users) who can log in."""
    created = await ha.websocket(
        token,
        {
            "type": "config/auth/create",
            "name": "Reader",
            "group_ids": ["system-users"],
            "local_only": False,
        },
    )
    user_id = created["user"]["id"]
    password = secrets.token_urlsafe(12)
    await ha.websocket(
        token,
        {
            "type": "config/auth_provider/homeassistant/create",
            "user_id": user_id,
            "username": "reader",
            "password": password,
        },
    )
    reader = await ha.log_in("reader", password)
    me = await ha.websocket(reader, {"type": "auth/current_user"})
    assert (me["id"], me["is_admin"]) == (user_id, False)
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    http = create_mcp_http_client()
    async with http:
        api = await http.get(f"{ha.url}/api/", headers={"Authorization": f"Bearer {reader}"})
        refused, admin = [
            await http.post(
                ha.mcp_url, json=INITIALIZE, headers={**headers, "Authorization": f"Bearer {who}"}
            )
            for who in (reader, token)
        ]
    assert api.status_code == 200, api.text  # a good token: the endpoint refuses the user
    assert admin.status_code == 200, admin.text
    # Home Assistant 2026.10's view raises Unauthorized for a user who is not an
    # administrator, which its HTTP layer answers with 401 (not 403).
    assert refused.status_code == 401, refused.text
