"""Diagnostics: useful, and with no key, token or Instagram link anywhere."""

from __future__ import annotations

import json

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from shared_client.simulator import Simulator

from .helpers import LINK, place


@pytest.mark.freeze_time("2026-11-01 12:00:00+00:00")
async def test_diagnostics_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    await place(hass, loaded_entry, count=100)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    text = json.dumps(diagnostics, ensure_ascii=False)
    tokens = [
        request.headers.get("Authorization", "").removeprefix("Bearer ")
        for request in simulator.requests
    ]
    for secret in [api_key, LINK, *filter(None, tokens)]:
        assert secret not in text
    usage = diagnostics["spend_guard"]["usage"]
    assert (usage["orders"], usage["spent"], usage["reserved"]) == (1, 200, 0)
    assert diagnostics["spend_guard"]["orders"][0]["confirmed_by"] == "**REDACTED**"
    assert diagnostics == snapshot(
        exclude=props("base_url", "api_root", "old_count", "ledger", "attempt_id")
    )
