"""Fixtures of the client tests: a sandbox client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared_client import HappyFollowerClient
from shared_client.simulator import Simulator


@pytest.fixture
async def sandbox_client(simulator: Simulator, api_key: str) -> AsyncIterator[HappyFollowerClient]:
    """A client of the sandbox root of the simulator."""
    async with HappyFollowerClient(
        api_key,
        sandbox=True,
        base_url=simulator.sandbox_base_url,
        retry_backoff=0.0,
        request_timeout=5.0,
    ) as happy_follower:
        yield happy_follower
