"""Fixtures of the MCP server tests: a server on the simulator, clients in both eras."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext

from mcp_server import Backend, Settings, build_server, open_backend
from shared_client.simulator import Simulator

MODES = ("auto", "legacy")  # 2026-era (discover) and 2025-era (initialize) clients
LINK = "https://www.instagram.com/happy.test"

Elicitor = Callable[[ClientRequestContext, types.ElicitRequestParams], Awaitable[Any]]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Answers:
    """An elicitation callback that answers with a fixed action and records the questions."""

    def __init__(self, action: str = "accept", content: dict[str, Any] | None = None) -> None:
        self.action = action
        self.content = {"confirm": True} if content is None else content
        self.messages: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        self.messages.append(params.message)
        if self.action == "accept":
            return types.ElicitResult(action="accept", content=self.content)
        return types.ElicitResult(action=self.action)  # type: ignore[arg-type]


@dataclasses.dataclass
class Harness:
    """Starts servers on the test's simulator with given settings."""

    simulator: Simulator
    api_key: str
    ledger: Path

    def settings(self, **changes: Any) -> Settings:
        """Settings from these values only: the developer's environment does not leak in."""
        return Settings.load({}, **{"api_key": self.api_key, "ledger": self.ledger, **changes})

    @asynccontextmanager
    async def backend(self, **changes: Any) -> AsyncIterator[Backend]:
        settings = self.settings(**changes)
        root = self.simulator.sandbox_base_url if settings.sandbox else self.simulator.base_url
        # No wait between read retries: the retries are tested, not their backoff.
        async with open_backend(settings, base_url=root, retry_backoff=0.0) as backend:
            yield backend

    @asynccontextmanager
    async def client(
        self, mode: str, elicitation: Elicitor | None = None, **changes: Any
    ) -> AsyncIterator[Client]:
        async with (
            self.backend(**changes) as backend,
            Client(build_server(backend), mode=mode, elicitation_callback=elicitation) as client,
        ):
            yield client


@pytest.fixture
def harness(simulator: Simulator, api_key: str, tmp_path: Path) -> Harness:
    return Harness(simulator, api_key, tmp_path / "ledger.jsonl")
