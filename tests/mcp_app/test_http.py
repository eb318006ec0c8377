"""The app over streamable HTTP: negotiation works per client on one running server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_server import Settings, running_http_server
from mcp_server.tools import TOOL_NAMES
from shared_client.simulator import Simulator

from .conftest import APPS

TOKEN = "app-test-bearer-token-0123456789"


@pytest.fixture
async def http_url(simulator: Simulator, api_key: str, tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings.load(
        {},
        api_key=api_key,
        ledger=tmp_path / "ledger.jsonl",
        transport="http",
        port=0,
        http_token=TOKEN,
    )
    async with running_http_server(settings, base_url=simulator.base_url) as url:
        yield url
    # Leftovers of sse-starlette and uvicorn at shutdown, as in tests/mcp/test_e2e.py.
    for task in asyncio.all_tasks():
        if task.get_coro().__name__ == "_shutdown_watcher":  # type: ignore[union-attr]
            task.cancel()
    for handle in asyncio.get_running_loop()._scheduled:  # type: ignore[attr-defined]
        if "timeout_keep_alive_handler" in repr(handle):
            handle.cancel()


@pytest.mark.parametrize("apps", [False, True])
async def test_http_clients_with_and_without_apps(http_url: str, mode: str, apps: bool) -> None:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    async with (
        http,
        Client(
            streamable_http_client(http_url, http_client=http),
            mode=mode,
            extensions=[APPS] if apps else [],
        ) as client,
    ):
        tools = [tool.name for tool in (await client.list_tools()).tools]
        account = await client.call_tool("app_account", {})
        page = await client.list_resources()
    pages = [str(item.uri) for item in page.resources if str(item.uri).startswith("ui://")]
    if apps:
        assert tools == [*TOOL_NAMES, "app_order_card", "app_account"]
        assert not account.is_error
        assert account.structured_content is not None
        assert account.structured_content["credit"] == 100_000
        assert len(pages) == 2
    else:
        assert tools == list(TOOL_NAMES)
        assert account.is_error
        assert pages == []
