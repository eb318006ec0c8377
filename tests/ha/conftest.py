"""Fixtures of the Home Assistant tests: real HA core, the simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.happy_follower.const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_ENVIRONMENT,
    DOMAIN,
    ENVIRONMENT_LIVE,
)
from shared_client import HappyFollowerClient
from shared_client.simulator import DIALECTS, Simulator, SimulatorClock


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load the integration from custom_components/."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in tests/ha/snapshots, serialised as Home Assistant core does."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def fast_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real client, without waits between read retries, so failures test fast."""
    monkeypatch.setattr(
        "custom_components.happy_follower.HappyFollowerClient",
        partial(HappyFollowerClient, retry_backoff=0.0, request_timeout=5.0),
    )


def entry_data(simulator: Simulator, api_key: str) -> dict[str, Any]:
    return {
        CONF_API_KEY: api_key,
        CONF_ENVIRONMENT: ENVIRONMENT_LIVE,
        CONF_ADVANCED: {CONF_API_ROOT: simulator.base_url},
    }


@pytest.fixture
def options() -> dict[str, Any]:
    """Options of the config entry (empty: the defaults)."""
    return {}


@pytest.fixture
def dialect() -> str:
    """How the simulator words its answers (a name of shared_client.simulator.DIALECTS)."""
    return "assumed"


@pytest.fixture
async def simulator(dialect: str) -> AsyncIterator[Simulator]:
    """The root conftest's simulator, in the dialect a test asks for, on a clock the test
    drives (orders progress and tokens age only when it calls ``advance``)."""
    async with Simulator(dialect=DIALECTS[dialect], clock=SimulatorClock(driven=True)) as sim:
        yield sim


@pytest.fixture
def config_entry(
    hass: HomeAssistant,
    tmp_path: Path,
    simulator: Simulator,
    api_key: str,
    options: dict[str, Any],
) -> MockConfigEntry:
    # A configuration folder of this test only: the spend guard's ledger is a real file
    # in .storage, which must not carry one test's orders into the next.
    hass.config.config_dir = str(tmp_path)
    return MockConfigEntry(
        domain=DOMAIN,
        title="Happy Follower",
        data=entry_data(simulator, api_key),
        options=options,
        unique_id="account",
        entry_id="01TESTENTRY",
    )


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The config entry, set up."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry
