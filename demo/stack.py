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

from shared_client.cli.tour import DEMO_LINK
from shared_client.simulator import Simulator

from .homeassistant_runner import HomeAssistantError, HomeAssistantRunner, check_port_free

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
) -> None:
    """Home Assistant and the MCP server on the simulator, until Ctrl-C or SIGTERM."""
    stop = _stop_on_signals()
    with tempfile.TemporaryDirectory(prefix="happy-follower-demo-") as scratch:
        async with _full_stack(sim, api_key, Path(scratch), ha_port, mcp_port) as access:
            _print_access(out, access)
            if ready_file is not None:
                await asyncio.to_thread(_write_private, ready_file, json.dumps(asdict(access)))
            await stop.wait()
            out.write("\nStopping Home Assistant, the MCP server and the simulator...\n")
            out.flush()


@contextlib.asynccontextmanager
async def _full_stack(
    sim: Simulator, api_key: str, scratch: Path, ha_port: int, mcp_port: int
) -> AsyncIterator[DemoAccess]:
    from mcp_server.http import running_http_server  # noqa: PLC0415 - dev environment only
    from mcp_server.settings import Settings  # noqa: PLC0415

    # Warnings only: otherwise the MCP SDK sets up INFO logging, and the servers' start-up
    # chatter would bury the URLs and logins printed for the user.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    password = secrets.token_urlsafe(12)
    mcp_token = secrets.token_urlsafe(32)
    home_assistant = HomeAssistantRunner(scratch / "config", ha_port)
    home_assistant.write_config()
    try:
        await home_assistant.start()
        await home_assistant.onboard(name="Demo", username=DEMO_USERNAME, password=password)
        entry = await home_assistant.config_flow(
            INTEGRATION,
            [{"api_key": api_key, "environment": "live", "advanced": {"api_root": sim.base_url}}],
        )
        entry_id = str(entry["result"]["entry_id"])
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
                "title": "Happy Follower",
                "icon": "mdi:instagram",
                "show_in_sidebar": True,
                "require_admin": False,
                "mode": "storage",
            }
        )
        async with running_http_server(settings, base_url=sim.base_url) as mcp_url:
            dashboard = asyncio.create_task(_keep_dashboard(home_assistant))
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


# The dashboard's own text in Home Assistant's system language: a dashboard reads the same
# for every user, and the entity names on it follow the system language too.
CARD_TITLES: dict[str, dict[str, str]] = {
    "en": {"account": "Happy Follower", "money": "Credit and spend", "orders": "Orders"},
    "fa": {"account": "هپی فالوور", "money": "اعتبار و هزینه", "orders": "سفارش‌ها"},
}


async def _keep_dashboard(home_assistant: HomeAssistantRunner) -> None:
    """Keep the dashboard in step with the tracked orders, and refresh them often."""
    shown: dict[str, Any] | None = None
    while True:
        entities = await home_assistant.websocket({"type": "config/entity_registry/list"})
        config = await home_assistant.websocket({"type": "get_config"})
        ours = [entity for entity in entities if entity.get("platform") == INTEGRATION]
        dashboard = dashboard_config(ours, str(config.get("language", "en")))
        if dashboard != shown:
            await home_assistant.websocket(
                {"type": "lovelace/config/save", "url_path": DASHBOARD_PATH, "config": dashboard}
            )
            shown = dashboard
        entity_ids = [entity["entity_id"] for entity in ours]
        if entity_ids:
            await home_assistant.call_service(
                "homeassistant", "update_entity", {"entity_id": entity_ids}
            )
        await asyncio.sleep(DEMO_REFRESH_SECONDS)


def dashboard_config(entities: list[dict[str, Any]], language: str = "en") -> dict[str, Any]:
    """A dashboard: the account (credit, spend, active orders), credit and spend over time,
    and one card per tracked order (named after what was ordered)."""
    titles = CARD_TITLES.get(language.partition("-")[0], CARD_TITLES["en"])
    by_key: dict[str, list[str]] = {}
    for entity in sorted(entities, key=lambda item: str(item["entity_id"])):
        by_key.setdefault(str(entity.get("translation_key")), []).append(entity["entity_id"])
    money = by_key.get("credit", []) + by_key.get("spent", [])
    account = money + by_key.get("active_orders", [])
    cards: list[dict[str, Any]] = [
        {"type": "entities", "title": titles["account"], "entities": account},
    ]
    if money:
        cards.append(
            {
                "type": "history-graph",
                "title": titles["money"],
                "hours_to_show": 1,
                "entities": money,
            }
        )
    for progress in by_key.get("order_progress", []):
        cards.append(
            {
                "type": "gauge",
                "entity": progress,
                "min": 0,
                "max": 100,
                "needle": False,
            }
        )
    if by_key.get("order_status"):
        cards.append(
            {"type": "entities", "title": titles["orders"], "entities": by_key["order_status"]}
        )
    return {
        "title": titles["account"],
        "views": [{"title": titles["account"], "path": "happy-follower", "cards": cards}],
    }


def _print_access(out: TextIO, access: DemoAccess) -> None:
    out.write(
        "The whole product is running on the simulator (Ctrl-C stops everything):\n\n"
        f"  Home Assistant  {access.dashboard_url}\n"
        f"                  log in as {access.username} / {access.password}\n"
        f"  MCP server      {access.mcp_url}\n"
        f"                  bearer token {access.mcp_token}\n"
        f"  Simulator       {access.simulator_url}  (API key {access.api_key})\n\n"
        "What to try:\n"
        "  - Open Home Assistant: the dashboard shows the credit, the active orders and\n"
        "    the progress of an order placed by the integration.\n"
        "  - Connect an AI assistant, e.g. Claude Code:\n"
        f"      claude mcp add --transport http happy-follower {access.mcp_url} \\\n"
        f'        --header "Authorization: Bearer {access.mcp_token}"\n'
        "    and ask it for the credit, the services, or to place an order (it asks you first).\n"
        "  - In Home Assistant, Settings > Tools > Actions: happy_follower.place_order,\n"
        "    happy_follower.track_order, happy_follower.get_order_status...\n"
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
