"""Setup, unload, reload, removal, and how failures of the service show."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_KEY, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.happy_follower.const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_ENVIRONMENT,
    DOMAIN,
    ENVIRONMENT_SANDBOX,
)
from shared_client.simulator import Fault, Simulator

CREDIT = "sensor.happy_follower_credit"


async def test_setup_unload_reload(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(CREDIT).state == "100000"
    assert hass.services.has_service(DOMAIN, "place_order")

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loaded_entry.state is ConfigEntryState.LOADED

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get(CREDIT).state == STATE_UNAVAILABLE
    # Actions stay registered (async_setup) and say the entry is not loaded.
    assert hass.services.has_service(DOMAIN, "place_order")


async def test_setup_with_refused_key_starts_reauth(
    hass: HomeAssistant, simulator: Simulator, api_key: str, config_entry: MockConfigEntry
) -> None:
    simulator.revoke_api_key(api_key)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize("endpoint", ["credit", "status"])
async def test_setup_retries_when_unreachable(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_storage: dict,
    endpoint: str,
) -> None:
    # One tracked order, so that the orders' first refresh asks for a status.
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}",
        "data": {
            "orders": [
                {
                    "order_id": 5,
                    "added_at": "2026-01-01T00:00:00+00:00",
                    "final_since": None,
                    "status": None,
                }
            ],
            "audit": [],
        },
    }
    simulator.inject(endpoint, Fault.SERVER_ERROR_HTML, times=None)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_failure_makes_entities_unavailable_then_recovers(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.inject("credit", Fault.SERVER_ERROR_HTML, times=None)
    now = dt_util.utcnow()
    for step in (1, 2):
        async_fire_time_changed(hass, now + timedelta(minutes=16 * step))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert hass.states.get(CREDIT).state == STATE_UNAVAILABLE
    # Logged once, not on every failed refresh.
    assert caplog.text.count("Error fetching happy_follower credit data") == 1

    simulator.clear_faults()
    async_fire_time_changed(hass, now + timedelta(minutes=16 * 3))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(CREDIT).state == "100000"
    assert "Fetching happy_follower credit data recovered" in caplog.text


async def test_rate_limit_honours_retry_after(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.credit
    simulator.inject("credit", Fault.RATE_LIMITED, retry_after=42)
    await coordinator.async_refresh()
    assert not coordinator.last_update_success
    assert coordinator.last_exception.retry_after == 42
    assert coordinator.last_exception.translation_key == "rate_limited_retry_after"
    assert coordinator.last_exception.translation_placeholders == {"retry_after": "42"}
    assert "after 42 s" in str(coordinator.last_exception)


async def test_rate_limit_without_retry_after_names_no_wait(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    """A 429 without Retry-After must not announce a made-up wait."""
    coordinator = loaded_entry.runtime_data.credit
    simulator.inject("credit", Fault.RATE_LIMITED, retry_after=None)
    await coordinator.async_refresh()
    assert coordinator.last_exception.retry_after is None
    assert coordinator.last_exception.translation_key == "rate_limited"
    assert not coordinator.last_exception.translation_placeholders
    message = str(coordinator.last_exception)
    assert "did not say for how long" in message
    assert not re.search(r"\d", message)


async def test_runtime_auth_failure_starts_reauth(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    simulator.revoke_api_key(api_key)
    simulator.expire_tokens()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=16))
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert hass.states.get(CREDIT).state == STATE_UNAVAILABLE


async def test_remove_entry_deletes_storage(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_storage: dict
) -> None:
    await hass.services.async_call(
        DOMAIN,
        "place_order",
        {
            "config_entry_id": loaded_entry.entry_id,
            "service_id": 10,
            "link": "https://www.instagram.com/mehdifeizi",
            "count": 100,
        },
        blocking=True,
        return_response=True,
    )
    key = f"{DOMAIN}.{loaded_entry.entry_id}"
    assert key in hass_storage
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert key not in hass_storage


async def test_a_saved_root_now_refused_is_a_translated_setup_error(
    hass: HomeAssistant, simulator: Simulator, api_key: str
) -> None:
    """An entry saved with the live root spelled another way and the sandbox environment
    (accepted before issue 14's I13) does not set up: a clear error, no traceback."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Happy Follower",
        data={
            CONF_API_KEY: api_key,
            CONF_ENVIRONMENT: ENVIRONMENT_SANDBOX,
            CONF_ADVANCED: {CONF_API_ROOT: "https://HAPPY-follower.com:443/api//v1/"},
        },
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "api_root_refused"
