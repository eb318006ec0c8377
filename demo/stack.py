"""The full demo, after the CLI's terminal tour: a real Home Assistant with the integration
configured and a dashboard, and the MCP server over HTTP with a bearer token, all on 127.0.0.1
and on the simulator until Ctrl-C. Everything lives in a temporary folder removed at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import secrets
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from shared_client.cli.tour import DEMO_LINK, in_language
from shared_client.simulator import Simulator

from .homeassistant_runner import (
    INTEGRATION_DIR,
    HomeAssistantError,
    HomeAssistantRunner,
    check_port_free,
)

DEMO_USERNAME = "demo"
INTEGRATION = "happy_follower"
DASHBOARD_PATH = "happy-follower"
# Followers at 2 a second: an order of 600 takes about five minutes, long enough to watch.
DASHBOARD_ORDER = {"service_id": 20, "count": 600}
# A real installation polls orders every few minutes; the demo asks more often so that
# the dashboard moves while you watch.
DEMO_REFRESH_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class DemoAccess:
    """What a person (or the browser test) needs to use the running demo."""

    home_assistant_url: str
    dashboard_url: str
    username: str
    password: str
    mcp_url: str
    mcp_token: str
    simulator_url: str
    api_key: str
    config_entry_id: str
    workspace: str  # the temporary folder, removed when the demo stops


def full_stack_available() -> bool:
    """True where Home Assistant, its frontend and the MCP SDK are installed (``uv run``)."""
    return all(importlib.util.find_spec(name) for name in ("homeassistant", "hass_frontend", "mcp"))


def check_ports(ha_port: int, mcp_port: int) -> None:
    """Refuse to start when a port is taken, naming every busy one (before the tour runs)."""
    busy = []
    for port, what, flag in (
        (ha_port, "Home Assistant", "--ha-port"),
        (mcp_port, "MCP server", "--mcp-port"),
    ):
        try:
            check_port_free(port, what, flag)
        except HomeAssistantError as err:
            busy.append(str(err))
    if busy:
        raise HomeAssistantError("\n".join(busy))


async def run_full_stack(
    sim: Simulator,
    api_key: str,
    out: TextIO,
    *,
    ha_port: int,
    mcp_port: int,
    ready_file: Path | None,
    language: str = "en",
) -> None:
    """Home Assistant and the MCP server on the simulator, until Ctrl-C or SIGTERM.

    ``language`` (en or fa) is Home Assistant's system language, the owner's and the
    dashboard's: entity names, units and states follow it.
    """
    stop = _stop_on_signals()
    texts = DEMO_TEXTS[language]
    with tempfile.TemporaryDirectory(prefix="happy-follower-demo-") as scratch:
        async with _full_stack(
            sim, api_key, Path(scratch), ha_port, mcp_port, texts=texts
        ) as access:
            print_access(out, access, texts.language)
            if ready_file is not None:
                await asyncio.to_thread(_write_private, ready_file, json.dumps(asdict(access)))
            await stop.wait()
            out.write(texts.stopping)
            out.flush()


@contextlib.asynccontextmanager
async def _full_stack(
    sim: Simulator, api_key: str, scratch: Path, ha_port: int, mcp_port: int, *, texts: DemoTexts
) -> AsyncIterator[DemoAccess]:
    from mcp_server.http import running_http_server  # noqa: PLC0415 - dev environment only
    from mcp_server.settings import Settings  # noqa: PLC0415

    # Warnings only: otherwise the MCP SDK sets up INFO logging, and the servers' start-up
    # chatter would bury the URLs and logins printed for the user.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    password = secrets.token_urlsafe(12)
    mcp_token = secrets.token_urlsafe(32)
    home_assistant = HomeAssistantRunner(scratch / "config", ha_port)
    home_assistant.write_config(language=texts.language, location_name=texts.location)
    try:
        await home_assistant.start()
        await home_assistant.onboard(
            name=texts.owner, username=DEMO_USERNAME, password=password, language=texts.language
        )
        # The owner's profile in the demo's language, whatever the browser's is.
        await home_assistant.websocket(
            {
                "type": "frontend/set_user_data",
                "key": "language",
                "value": {**PROFILE_LANGUAGE, "language": texts.language},
            }
        )
        entry = await home_assistant.config_flow(
            INTEGRATION,
            [{"api_key": api_key, "environment": "live", "advanced": {"api_root": sim.base_url}}],
        )
        entry_id = str(entry["result"]["entry_id"])
        await home_assistant.options_flow(entry_id, DEMO_OPTIONS)
        if texts.account != entry["result"]["title"]:
            # The account's name, which starts every entity's name, in the demo's language;
            # its entity ids keep the name they were given.
            await home_assistant.websocket(
                {"type": "config_entries/update", "entry_id": entry_id, "title": texts.account}
            )
            await home_assistant.reload_entry(entry_id)
        await home_assistant.wait_loaded(entry_id)
        await home_assistant.call_service(
            INTEGRATION,
            "place_order",
            {"config_entry_id": entry_id, "link": DEMO_LINK, **DASHBOARD_ORDER},
            response=True,
        )
        settings = Settings(
            api_key=api_key,
            simulate=True,
            transport="http",
            port=mcp_port,
            http_token=mcp_token,
            ledger=scratch / "mcp-ledger.jsonl",
        )
        await home_assistant.websocket(
            {
                "type": "lovelace/dashboards/create",
                "url_path": DASHBOARD_PATH,
                "title": texts.account,
                "icon": "mdi:instagram",
                "show_in_sidebar": True,
                "require_admin": False,
                "mode": "storage",
            }
        )
        async with running_http_server(settings, base_url=sim.base_url) as mcp_url:
            # Drawn before the URLs are given: a browser opening it at once finds it.
            shown = await _show_dashboard(home_assistant, texts, None)
            dashboard = asyncio.create_task(_keep_dashboard(home_assistant, texts, shown))
            try:
                yield DemoAccess(
                    home_assistant_url=home_assistant.url,
                    dashboard_url=f"{home_assistant.url}/{DASHBOARD_PATH}/0",
                    username=DEMO_USERNAME,
                    password=password,
                    mcp_url=mcp_url,
                    mcp_token=mcp_token,
                    simulator_url=sim.base_url,
                    api_key=api_key,
                    config_entry_id=entry_id,
                    workspace=str(scratch),
                )
            finally:
                dashboard.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await dashboard
    finally:
        await home_assistant.stop()


@dataclass(frozen=True, slots=True)
class DemoTexts:
    """What the demo itself names in Home Assistant, in one language (the integration's
    own names come from its translations, in Home Assistant's system language)."""

    language: str
    location: str  # Home Assistant's name for the home
    owner: str  # the demo user's display name
    account: str  # the integration's account: its device, and the dashboard's title
    credit: str
    spend: str
    stopping: str  # said in the terminal on Ctrl-C

    @property
    def service(self) -> str | None:
        """The integration's own name for an order's service, in this language (an
        attribute row would show the entity's name instead)."""
        path = INTEGRATION_DIR / "translations" / f"{self.language}.json"
        sensors = json.loads(path.read_text(encoding="utf-8"))["entity"]["sensor"]
        name = sensors["order_status"]["state_attributes"]["service_name"]["name"]
        return str(name) if name else None


DEMO_TEXTS: dict[str, DemoTexts] = {
    "en": DemoTexts(
        language="en",
        location="Happy Follower demo",
        owner="Demo",
        account="Happy Follower",
        credit="Credit",
        spend="Spent in the last 24 hours",
        stopping="\nStopping Home Assistant, the MCP server and the simulator...\n",
    ),
    "fa": DemoTexts(
        language="fa",
        location="نمایش هپی فالوور",
        owner="کاربر نمایشی",
        account="هپی فالوور",
        credit="اعتبار",
        spend="هزینهٔ ۲۴ ساعت گذشته",
        stopping="\nدر حال متوقف کردن Home Assistant، سرور MCP و شبیه‌ساز...\n",
    ),
}
# The rest of the owner's profile as the frontend saves it: formats follow the language.
PROFILE_LANGUAGE = {
    "number_format": "language",
    "time_format": "language",
    "date_format": "language",
    "time_zone": "local",
    "first_weekday": "language",
}
# A spend cap, and the simulator's prices so that orders can be bounded under it: the
# dashboard shows the day's spend against the cap, and a large order is refused.
DEMO_SPEND_CAP = 10_000
DEMO_OPTIONS = {
    "max_spend_per_day": str(DEMO_SPEND_CAP),
    "unit_prices": "\n".join(
        f"{service_id} = {price:g}"
        for service_id, price in ((10, 2), (11, 3), (20, 8), (21, 4), (30, 0.5), (31, 1))
    ),
}
ACCOUNT_SENSORS = ("credit", "spent_24h", "spend_left_24h", "spent", "active_orders")


async def _keep_dashboard(
    home_assistant: HomeAssistantRunner, texts: DemoTexts, shown: dict[str, Any]
) -> None:
    """Keep the dashboard in step with the tracked orders and the spend cap, and refresh
    the orders often."""
    while True:
        await asyncio.sleep(DEMO_REFRESH_SECONDS)
        shown = await _show_dashboard(home_assistant, texts, shown)


async def _show_dashboard(
    home_assistant: HomeAssistantRunner, texts: DemoTexts, shown: dict[str, Any] | None
) -> dict[str, Any]:
    """Save the dashboard if it changed since ``shown`` and ask for the integration's
    entities to update; returns the dashboard as saved."""
    entities = await home_assistant.websocket({"type": "config/entity_registry/list"})
    devices = await home_assistant.websocket({"type": "config/device_registry/list"})
    ours = [entity for entity in entities if entity.get("platform") == INTEGRATION]
    spent = next((e for e in ours if e.get("translation_key") == "spent_24h"), None)
    cap = None
    if spent is not None:
        state = await home_assistant.get(f"/api/states/{spent['entity_id']}")
        cap = state["attributes"].get("spend_cap")
    dashboard = dashboard_config(ours, devices, texts, spend_cap=cap)
    if dashboard != shown:
        await home_assistant.websocket(
            {"type": "lovelace/config/save", "url_path": DASHBOARD_PATH, "config": dashboard}
        )
    entity_ids = [entity["entity_id"] for entity in ours]
    if entity_ids:
        await home_assistant.call_service(
            "homeassistant", "update_entity", {"entity_id": entity_ids}
        )
    return dashboard


def _row(entity: dict[str, Any]) -> dict[str, Any]:
    """A card row named by the entity's own (translated) name: the card's title already
    says whose it is, so the device's name would only push the value out of sight."""
    row: dict[str, Any] = {"entity": entity["entity_id"]}
    if entity.get("original_name"):
        row["name"] = entity["original_name"]
    return row


def order_title(order_id: str, device_name: str, language: str) -> str:
    """An order's card title: its number, then what it is for (the order device's name
    without its service, which has a row of its own): short enough not to be cut, and
    two orders of one target and service stay apart.

    The device's name is "#<number> · <target> · <service>" in every language (the
    target maybe after a word such as "Post"; the number in the language's digits), each
    part isolated so that neither direction reorders the other. A name a person gave the
    device is put after the number.
    """
    number = in_language(f"#{order_id}", "fa" if language == "fa" else "en")
    title = device_name.rsplit(" · ", 1)[0] if " · " in device_name else device_name
    if title.startswith(number):
        return title
    return f"{number} · {title}" if title else number


def dashboard_config(
    entities: list[dict[str, Any]],
    devices: list[dict[str, Any]],
    texts: DemoTexts,
    *,
    spend_cap: float | None = None,
) -> dict[str, Any]:
    """A dashboard: the account (credit, the 24-hour spend against the cap, the total,
    active orders); the credit and the spend over time, each on its own scale; and one
    card per tracked order with its progress and its cost side by side, newest first."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for entity in sorted(entities, key=lambda item: str(item["entity_id"])):
        by_key.setdefault(str(entity.get("translation_key")), []).append(entity)
    account = [_row(entity) for key in ACCOUNT_SENSORS for entity in by_key.get(key, [])]
    cards: list[dict[str, Any]] = [
        {"type": "entities", "title": texts.account, "entities": account}
    ]
    for spent in by_key.get("spent_24h", []):
        if spend_cap:
            cards.append(
                {
                    "type": "gauge",
                    "entity": spent["entity_id"],
                    "name": texts.spend,
                    "min": 0,
                    "max": spend_cap,
                    "severity": {"green": 0, "yellow": spend_cap * 0.6, "red": spend_cap * 0.9},
                }
            )
        # On its own graph: on the credit's scale a day's spend is a flat line at zero.
        cards.append(
            {
                "type": "history-graph",
                "title": texts.spend,
                "hours_to_show": 1,
                "entities": [_row(spent)],
            }
        )
    if credit := by_key.get("credit"):
        cards.append(
            {
                "type": "history-graph",
                "title": texts.credit,
                "hours_to_show": 1,
                "entities": [_row(entity) for entity in credit],
            }
        )
    cards.extend(_order_cards(by_key, devices, texts))
    return {
        "title": texts.account,
        "views": [{"title": texts.account, "path": "happy-follower", "cards": cards}],
    }


def _order_cards(
    by_key: dict[str, list[dict[str, Any]]], devices: list[dict[str, Any]], texts: DemoTexts
) -> list[dict[str, Any]]:
    named = {device["id"]: device for device in devices}
    orders: dict[str, dict[str, dict[str, Any]]] = {}
    for key in ("order_status", "order_cost", "order_progress"):
        for entity in by_key.get(key, []):
            orders.setdefault(str(entity.get("device_id")), {})[key] = entity
    cards = []
    for device_id, parts in orders.items():
        device = named.get(device_id, {})
        order_id = str(device.get("serial_number") or "?")
        name = str(device.get("name_by_user") or device.get("name") or "")
        rows = [_row(parts[key]) for key in ("order_status", "order_cost") if key in parts]
        if status := parts.get("order_status"):
            service = {"type": "attribute", "entity": status["entity_id"]}
            label = {"name": texts.service} if texts.service else {}
            rows.insert(1, {**service, "attribute": "service_name", **label})
        stack: list[dict[str, Any]] = [
            {
                "type": "entities",
                "title": order_title(order_id, name, texts.language),
                "entities": rows,
            }
        ]
        if progress := parts.get("order_progress"):
            stack.append(
                {
                    "type": "gauge",
                    "entity": progress["entity_id"],
                    "name": progress.get("original_name") or "",
                    "min": 0,
                    "max": 100,
                    "needle": False,
                }
            )
        cards.append((int(order_id) if order_id.isdigit() else 0, stack))
    cards.sort(key=lambda item: item[0], reverse=True)
    return [{"type": "vertical-stack", "cards": stack} for _, stack in cards]


def print_access(out: TextIO, access: DemoAccess, language: str) -> None:
    if language == "fa":
        print_access_fa(out, access)
        return
    out.write(
        "The whole product is running on the simulator (Ctrl-C stops everything):\n\n"
        f"  Home Assistant  {access.dashboard_url}\n"
        f"                  log in as {access.username} / {access.password}\n"
        f"  MCP server      {access.mcp_url}\n"
        f"                  bearer token {access.mcp_token}\n"
        f"  Simulator       {access.simulator_url}  (API key {access.api_key})\n\n"
        "What to try:\n"
        "  - Open Home Assistant: the dashboard shows the credit, what was spent in the\n"
        f"    last 24 hours against a spend cap of {DEMO_SPEND_CAP:,}, and the cost and\n"
        "    progress of an order placed by the integration.\n"
        "  - Connect an AI assistant, e.g. Claude Code:\n"
        f"      claude mcp add --transport http happy-follower {access.mcp_url} \\\n"
        f'        --header "Authorization: Bearer {access.mcp_token}"\n'
        "    and ask it for the credit, the services, or to place an order (it asks you first).\n"
        "  - In Home Assistant, Settings > Tools > Actions: happy_follower.place_order,\n"
        "    happy_follower.track_order, happy_follower.get_order_status...\n"
    )
    out.flush()


def print_access_fa(out: TextIO, access: DemoAccess) -> None:
    """The same in Persian: each address, login and command on a line of its own, where
    a terminal that orders right-to-left text cannot move it into a sentence."""
    cap = in_language(f"{DEMO_SPEND_CAP:,}", "fa")
    out.write(
        "همهٔ محصول روی شبیه‌ساز در حال اجراست (با Ctrl-C همه چیز متوقف می‌شود).\n\n"
        "Home Assistant:\n"
        f"  {access.dashboard_url}\n"
        "  نام کاربری و گذرواژه:\n"
        f"  {access.username}\n"
        f"  {access.password}\n"
        "سرور MCP:\n"
        f"  {access.mcp_url}\n"
        "  توکن دسترسی:\n"
        f"  {access.mcp_token}\n"
        "شبیه‌ساز و کلید API آن:\n"
        f"  {access.simulator_url}\n"
        f"  {access.api_key}\n\n"
        "چه چیزهایی را امتحان کنید:\n"
        "  - Home Assistant را باز کنید: داشبورد اعتبار، هزینهٔ ۲۴ ساعت گذشته در برابر\n"
        f"    سقف هزینهٔ {cap}، و هزینه و پیشرفت سفارشی را که افزونه ثبت کرده نشان می‌دهد.\n"
        "  - یک دستیار هوش مصنوعی را وصل کنید، برای نمونه Claude Code با این فرمان:\n"
        f"      claude mcp add --transport http happy-follower {access.mcp_url} \\\n"
        f'        --header "Authorization: Bearer {access.mcp_token}"\n'
        "    و از آن اعتبار یا سرویس‌ها را بپرسید یا بخواهید سفارشی ثبت کند (اول از شما\n"
        "    می‌پرسد).\n"
        "  - اقدام‌های افزونه را در صفحهٔ اقدام‌های Home Assistant ببینید:\n"
        f"      {access.home_assistant_url}/developer-tools/action\n"
        "      happy_follower.place_order\n"
        "      happy_follower.track_order\n"
        "      happy_follower.get_order_status\n"
    )
    out.flush()


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read: it holds the demo's logins."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def _stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl-C or SIGTERM. The handlers stay for the rest of the run, so a
    second Ctrl-C during the clean-up cannot kill the demo half-way and leave processes."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
