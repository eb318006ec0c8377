"""Fixtures of the client tests: a spare account, a sandbox client; the modules on real time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared_client import HappyFollowerClient
from shared_client.simulator import Simulator

from ..conftest import REAL_CLOCK

# The guard's tests hold answers for a real while (Fault.SLOW with a delay) and expect
# them to end by themselves: they keep the simulator on real time until they wait on
# ``Simulator.wait_until_held`` and advance its clock instead.
_ON_REAL_TIME = "test_guard"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent == Path(__file__).parent and item.path.name.startswith(_ON_REAL_TIME):
            item.add_marker(REAL_CLOCK)


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
