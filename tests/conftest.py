"""Fixtures shared by every test folder: the embedded simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

# Import our custom_components package before Home Assistant's test plugin can
# register its own testing_config one under the same name.
import custom_components  # noqa: F401
from shared_client import HappyFollowerClient
from shared_client import client as client_module
from shared_client.simulator import Simulator, SimulatorClock

REAL_CLOCK = "real_clock"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{REAL_CLOCK}: the simulator fixture runs on real time (holds end by themselves), "
        "not on the driven clock",
    )


@pytest.fixture(autouse=True)
def _loopback_sockets(request: pytest.FixtureRequest) -> None:
    """Home Assistant's test plugin blocks every socket; our tests talk HTTP on 127.0.0.1.

    Its host allow-list (127.0.0.1 only) stays in force.
    """
    if request.config.pluginmanager.hasplugin("socket"):
        request.getfixturevalue("socket_enabled")


@pytest.fixture(autouse=True)
def _no_secrets_of_earlier_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client remembers every secret its process has held, to keep it out of messages;
    tests share worker processes, so each test starts with nothing remembered (a token one
    test made up must not be removed from the messages of the next)."""
    fresh = client_module._SecretMemory(min_length=client_module._MIN_SHARED_SECRET)
    monkeypatch.setattr(client_module, "_PROCESS_SECRETS", fresh)


@pytest.fixture
def simulator_clock(request: pytest.FixtureRequest) -> SimulatorClock:
    """The simulator's clock: driven by the test (``simulator.advance``), so that what a
    test sees never depends on how loaded the machine is; real time under ``real_clock``."""
    return SimulatorClock(driven=request.node.get_closest_marker(REAL_CLOCK) is None)


@pytest.fixture
async def simulator(simulator_clock: SimulatorClock) -> AsyncIterator[Simulator]:
    """A fresh simulator listening on 127.0.0.1 (live and sandbox roots)."""
    async with Simulator(clock=simulator_clock) as sim:
        yield sim


@pytest.fixture
def api_key(simulator: Simulator) -> str:
    """An API key of an account with plenty of credit."""
    return simulator.add_account(credit=100_000)


@pytest.fixture
async def client(simulator: Simulator, api_key: str) -> AsyncIterator[HappyFollowerClient]:
    """A client of the live root of the simulator, without read-retry delays."""
    async with HappyFollowerClient(
        api_key, base_url=simulator.base_url, retry_backoff=0.0, request_timeout=5.0
    ) as happy_follower:
        yield happy_follower
