"""Fixtures of the MCP App tests: the server on the simulator, clients with and without Apps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client import advertise
from mcp.client.session import ClientRequestContext

from mcp_server import Backend, Settings, build_server, open_backend
from shared_client.simulator import Simulator

APPS = advertise("io.modelcontextprotocol/ui", {"mimeTypes": ["text/html;profile=mcp-app"]})
ORDER = {"service_id": 11, "link": "https://www.instagram.com/happy.test", "count": 100}

OpenClient = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: 2026 (per-request capabilities) and 2025 (initialize)."""
    return str(request.param)


async def accept(
    context: ClientRequestContext, params: types.ElicitRequestParams
) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


@pytest.fixture
def open_client(simulator: Simulator, api_key: str, tmp_path: Path, mode: str) -> OpenClient:
    """``open_client(apps=True, **settings)``: a client of a fresh server on the simulator."""

    @asynccontextmanager
    async def open_(*, apps: bool = True, **changes: Any) -> AsyncIterator[Client]:
        async with (
            backend_for(simulator, api_key, tmp_path, **changes) as backend,
            Client(
                build_server(backend),
                mode=mode,
                extensions=[APPS] if apps else [],
                elicitation_callback=accept,
            ) as client,
        ):
            yield client

    return open_


@asynccontextmanager
async def backend_for(
    simulator: Simulator, api_key: str, tmp_path: Path, **changes: Any
) -> AsyncIterator[Backend]:
    settings = Settings.load({}, api_key=api_key, ledger=tmp_path / "ledger.jsonl", **changes)
    async with open_backend(settings, base_url=simulator.base_url) as backend:
        yield backend
