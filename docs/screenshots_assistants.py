"""Screenshots of docs/home-assistant.md's "Assistants" section, taken on the real demo.

    uv run python docs/screenshots_assistants.py            # writes the four PNGs into docs/
    uv run python docs/screenshots_assistants.py --out /tmp  # or elsewhere

What it does, in English and then in Persian (the system's and the user's language):

1. starts the demo's stack (``demo.stack``: the simulator, a real Home Assistant with the
   integration configured and the dashboard, and the stand-alone MCP server), as
   ``uv run happy-follower demo`` does after its terminal tour;
2. logs in to Home Assistant in headless Chromium, as the browser tests do;
3. in the integration's options form, types a spend cap and prices and turns
   "Assistants may place orders" on (screenshot ``ha-assistants-option-en.png``), and
   submits it;
4. adds Home Assistant's own "Model Context Protocol Server" integration through its
   config flow, creates an administrator's long-lived access token (what profile > Security
   > Long-lived access tokens does) and, as an MCP client, calls
   ``happy_follower__place_order`` at ``/api/mcp/happy_follower`` without a code: Home
   Assistant shows the approval notification, photographed in the notification drawer
   (``ha-assistant-approval-en.png``);
5. reads the code from the notification as the person would, completes the order with it,
   and checks that the ledger names the user "via assistant (mcp_server) with the
   notification's code";
6. in Persian: saves the options with the unit تومان over the options flow's REST API,
   photographs the options form (``ha-assistants-option-fa.png``), asks for another order
   and photographs its notification (``ha-assistant-approval-fa.png``).

Home Assistant's MCP Server integration has requirements of its own (its manifest: on
2026.10, ``mcp==1.28.1`` and ``aiohttp_sse``), while this environment holds the ``mcp`` 2.x
of the stand-alone server. A real Home Assistant installs them itself; here, those missing or
of another major version are installed with ``uv pip install --target`` into a temporary
folder that only the Home Assistant process sees (``PYTHONPATH`` of its subprocess), and
removed at the end.

Needs Debian's ``chromium`` (``apt-get install chromium``) or HAPPY_FOLLOWER_CHROMIUM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from playwright.async_api import Locator, Page, ViewportSize, async_playwright, expect

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from demo.stack import DEMO_TEXTS, PROFILE_LANGUAGE, DemoAccess, _full_stack  # noqa: E402
from shared_client.cli.tour import DEMO_CREDIT  # noqa: E402
from shared_client.simulator import Simulator  # noqa: E402
from tests.e2e.browser import CHROMIUM_FLAGS, chromium_path, free_port  # noqa: E402
from tests.e2e.ha_mcp_server import MissingToolError, install_requirements  # noqa: E402

TRANSLATIONS = REPO / "custom_components" / "happy_follower" / "translations"
VIEWPORT: ViewportSize = {"width": 1280, "height": 1000}
TIMEOUT_MS = 60_000
# What the frontend saves when a person picks Persian in their profile.
PERSIAN_USER = {**PROFILE_LANGUAGE, "language": "fa"}
SPEND_CAP = "10,000"
UNIT_PRICES = "10 = 2\n20 = 8"
# The options again, with the unit a Persian user picks (the demo's is "Toman").
PERSIAN_OPTIONS = {
    "credit_unit": "تومان",
    "low_credit_threshold": "0",
    "max_count_per_order": "1000",
    "max_orders_per_day": "10",
    "max_spend_per_day": SPEND_CAP,
    "unit_prices": UNIT_PRICES,
    "final_retention_hours": "24",
}
# What the assistant asks for: 500 likes (service 10, 2 Toman each) for a post.
ORDER = {"service_id": 10, "link": "https://www.instagram.com/p/DAbc123xyz/", "count": 500}
PLACE_ORDER = "happy_follower__place_order"
CODE = re.compile(r"\*\*(\d{6})\*\*")


def _texts(language: str) -> dict[str, Any]:
    texts: dict[str, Any] = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))
    return texts


def _chromium() -> str:
    path = chromium_path()
    if path is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    return path


# --- Home Assistant's MCP Server, for the Home Assistant process only ----------------------


def _install_mcp_server_requirements(target: Path) -> None:
    """Install Home Assistant's MCP Server requirements into ``target`` (the tests' way),
    then check that Home Assistant's mcp_server imports with them."""
    try:
        install_requirements(target)
    except MissingToolError as err:
        sys.exit(str(err))
    check = subprocess.run(
        [sys.executable, "-c", "import homeassistant.components.mcp_server.http"],
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        sys.exit(f"Home Assistant's MCP Server cannot be imported:\n{check.stderr[-2000:]}")


@asynccontextmanager
async def _demo(language: str) -> AsyncIterator[DemoAccess]:
    """The demo's stack in ``language`` (as ``demo --language``), with the MCP Server's
    requirements visible to Home Assistant."""
    with tempfile.TemporaryDirectory(prefix="happy-follower-screenshots-") as scratch:
        overlay = Path(scratch) / "mcp-server-requirements"
        await asyncio.to_thread(_install_mcp_server_requirements, overlay)
        # Read by the Home Assistant subprocess only: this process has started already,
        # with the stand-alone MCP server's mcp 2.x.
        os.environ["PYTHONPATH"] = str(overlay)
        async with Simulator() as sim:
            api_key = sim.add_account(credit=DEMO_CREDIT)
            workspace = Path(scratch) / "demo"
            workspace.mkdir()
            ports = (free_port(), free_port())
            async with _full_stack(
                sim, api_key, workspace, *ports, texts=DEMO_TEXTS[language]
            ) as access:
                yield access


# --- Home Assistant's APIs -------------------------------------------------------------------


async def _websocket(access: DemoAccess, token: str, message: dict[str, Any]) -> Any:
    url = access.home_assistant_url.replace("http", "ws", 1) + "/api/websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json())["type"] != "auth_ok":
            raise RuntimeError("WebSocket authentication failed")
        await ws.send_json({"id": 1, **message})
        while True:
            answer = await ws.receive_json()
            if answer.get("id") == 1 and answer.get("type") == "result":
                if not answer["success"]:
                    raise RuntimeError(f"{message['type']}: {answer.get('error')}")
                return answer.get("result")


async def _post(access: DemoAccess, token: str, path: str, data: dict[str, Any]) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            access.home_assistant_url + path,
            json=data,
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        if response.status != 200:
            raise RuntimeError(f"POST {path}: HTTP {response.status} {await response.text()}")
        return await response.json()


async def _add_mcp_server(access: DemoAccess, token: str) -> None:
    """Settings > Devices & services > Add integration > Model Context Protocol Server."""
    flow = await _post(access, token, "/api/config/config_entries/flow", {"handler": "mcp_server"})
    result = await _post(access, token, f"/api/config/config_entries/flow/{flow['flow_id']}", {})
    if result.get("type") != "create_entry":
        raise RuntimeError(f"the MCP Server config flow did not finish: {result}")


async def _save_options(access: DemoAccess, token: str, options: dict[str, Any]) -> None:
    """Settings > Devices & services > Happy Follower > Configure, over REST."""
    path = "/api/config/config_entries/options/flow"
    flow = await _post(access, token, path, {"handler": access.config_entry_id})
    result = await _post(access, token, f"{path}/{flow['flow_id']}", options)
    if result.get("type") != "create_entry":
        raise RuntimeError(f"the options were not saved: {result.get('errors')}")


async def _call_tool(
    access: DemoAccess, token: str, name: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    """An MCP client at /api/mcp/happy_follower, with an administrator's token."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    url = f"{access.home_assistant_url}/api/mcp/happy_follower"
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        if name not in listed:
            raise RuntimeError(f"{name} is not offered (the option is off?): {sorted(listed)}")
        result = await client.call_tool(name, arguments)
    (content,) = result.content
    data: dict[str, Any] = json.loads(getattr(content, "text", "{}"))
    if result.is_error:
        raise RuntimeError(f"{name}: {data}")
    return data


async def _approval_code(access: DemoAccess, token: str) -> str:
    """The code, read from the notification as the person reads it."""
    notifications = await _websocket(access, token, {"type": "persistent_notification/get"})
    (approval,) = [
        item for item in notifications if item["notification_id"].startswith("happy_follower_")
    ]
    match = CODE.search(approval["message"])
    if match is None:
        raise RuntimeError(f"no code in the notification: {approval['message']}")
    return match.group(1)


# --- the browser ------------------------------------------------------------------------------


async def _log_in(page: Page, access: DemoAccess) -> str:
    """Log in as the demo's administrator; returns the browser's access token."""
    await page.goto(access.dashboard_url)
    await page.get_by_role("textbox", name="Username").fill(access.username)
    await page.get_by_role("textbox", name="Password").fill(access.password)
    await page.keyboard.press("Enter")
    await page.wait_for_function("localStorage.getItem('hassTokens') !== null")
    await expect(page.locator("ha-sidebar")).to_be_visible(timeout=TIMEOUT_MS)
    tokens = json.loads(await page.evaluate("localStorage.getItem('hassTokens')"))
    return str(tokens["access_token"])


async def _options_dialog(page: Page, access: DemoAccess, language: str) -> Locator:
    await page.goto(f"{access.home_assistant_url}/config/integrations/integration/happy_follower")
    # (Home Assistant's Persian frontend leaves this button's label in English.)
    configure = page.locator("ha-config-entry-row").first.get_by_role("button", name="Configure")
    await configure.click(timeout=TIMEOUT_MS)
    dialog = page.locator("dialog-data-entry-flow")
    await expect(dialog).to_contain_text(_texts(language)["options"]["step"]["init"]["title"])
    return dialog


async def _show_notifications(page: Page, access: DemoAccess, title: str) -> None:
    await page.goto(access.dashboard_url)
    await page.locator("ha-sidebar").get_by_text(re.compile(r"^(Notifications|اعلان‌?ها)$")).click()
    await expect(page.locator("notification-drawer")).to_contain_text(title, timeout=TIMEOUT_MS)
    await page.wait_for_timeout(1000)  # the drawer's slide-in


async def _shoot(page: Page, out: Path, name: str) -> None:
    path = out / name
    await page.screenshot(path=str(path))
    print(f"wrote {path}")


async def _english(page: Page, access: DemoAccess, llat: str, out: Path) -> None:
    texts = _texts("en")
    data = texts["options"]["step"]["init"]["data"]
    dialog = await _options_dialog(page, access, "en")
    await dialog.get_by_role("textbox", name=data["max_spend_per_day"]).fill(SPEND_CAP)
    await dialog.get_by_role("textbox", name=data["unit_prices"]).fill(UNIT_PRICES)
    switch = dialog.locator("ha-selector-boolean ha-switch")
    await switch.click()
    await switch.scroll_into_view_if_needed()
    await expect(dialog).to_contain_text(data["assistants_may_order"])
    await _shoot(page, out, "ha-assistants-option-en.png")
    await dialog.get_by_role("button", name="Submit").click()
    await expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)  # saved: the entry reloads

    asked = await _call_tool(access, llat, PLACE_ORDER, ORDER)
    assert asked["waiting_for_approval"] is True, asked
    assert asked["placed"] is False, asked
    title = texts["exceptions"]["assistant_order_approval_title"]["message"]
    await _show_notifications(page, access, title)
    await _shoot(page, out, "ha-assistant-approval-en.png")

    # The person reads the code and tells the assistant: the order is placed, once.
    code = await _approval_code(access, llat)
    assert code not in json.dumps(asked)
    placed = await _call_tool(access, llat, PLACE_ORDER, {**ORDER, "approval_code": code})
    assert placed["placed"] is True, placed
    orders = await _call_tool(access, llat, "happy_follower__list_orders", {"limit": 1})
    (newest,) = orders["orders"]
    assert newest["order_id"] == placed["order_id"], orders
    assert newest["asked_by"].endswith("via assistant (mcp_server) with the notification's code")
    print(f"order {placed['order_id']} placed; the ledger says: {newest['asked_by']}")


async def _persian(page: Page, access: DemoAccess, token: str, llat: str, out: Path) -> None:
    texts = _texts("fa")
    # The system's language (the notification, entity names) and the user's (the UI).
    await _websocket(access, token, {"type": "config/core/update", "language": "fa"})
    await _websocket(
        access, token, {"type": "frontend/set_user_data", "key": "language", "value": PERSIAN_USER}
    )
    # A Persian user's unit, saved through the options flow's REST API (every field, as the
    # form sends them); saving reloads the entry, so entity names follow the new language.
    await _save_options(access, token, {**PERSIAN_OPTIONS, "assistants_may_order": True})
    dialog = await _options_dialog(page, access, "fa")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    switch = dialog.locator("ha-selector-boolean ha-switch")
    await switch.scroll_into_view_if_needed()
    await expect(dialog).to_contain_text(
        texts["options"]["step"]["init"]["data"]["assistants_may_order"]
    )
    await page.wait_for_timeout(500)
    await _shoot(page, out, "ha-assistants-option-fa.png")

    asked = await _call_tool(access, llat, PLACE_ORDER, {**ORDER, "count": 300})
    assert asked["waiting_for_approval"] is True, asked
    await _show_notifications(
        page, access, texts["exceptions"]["assistant_order_approval_title"]["message"]
    )
    # The dashboard behind the drawer has caught up with the language.
    await expect(page.locator("hui-entities-card").first).to_contain_text(
        "هپی فالوور", timeout=TIMEOUT_MS
    )
    await _shoot(page, out, "ha-assistant-approval-fa.png")


async def main(out: Path) -> None:
    for language in ("en", "fa"):
        await _screenshots(language, out)


async def _screenshots(language: str, out: Path) -> None:
    """One demo in ``language`` (its dashboard and names are built in it), photographed."""
    async with _demo(language) as access, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        page = await browser.new_page(viewport=VIEWPORT)
        try:
            token = await _log_in(page, access)
            # What profile > Security > Long-lived access tokens > Create token does.
            llat = await _websocket(
                access,
                token,
                {
                    "type": "auth/long_lived_access_token",
                    "client_name": "MCP client",
                    "lifespan": 1,
                },
            )
            await _add_mcp_server(access, token)
            if language == "en":
                await _english(page, access, llat, out)
            else:
                await _persian(page, access, token, llat, out)
        except Exception:
            failed = Path(tempfile.gettempdir()) / "screenshots_assistants-failed.png"
            await page.screenshot(path=str(failed))
            print(f"failed at {page.url}; the page as it was: {failed}")
            raise
        finally:
            await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where the PNGs go")
    folder = parser.parse_args().out
    folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(folder))
