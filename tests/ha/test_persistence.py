"""Tracked orders live in Home Assistant storage: they survive reloads and restarts."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, flush_store

from custom_components.happy_follower.const import DOMAIN
from shared_client.simulator import Simulator

from .helpers import place, tick


async def test_tracked_order_saved_at_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_storage: dict
) -> None:
    order_id = await place(hass, loaded_entry)
    # Written before the action returned, not on a delay: a crash cannot lose it.
    saved = hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]["data"]
    assert [order["order_id"] for order in saved["orders"]] == [order_id]
    # The audit lives in the shared ledger now, not in this file.
    assert "audit" not in saved


async def test_orders_survive_restart(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    hass_storage: dict,
) -> None:
    first = await place(hass, loaded_entry, count=100)
    simulator.advance(100)
    await tick(hass, 6)  # first is completed now
    second = await place(hass, loaded_entry, count=50, service_id=11)
    await flush_store(loaded_entry.runtime_data.store._store)
    saved = hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]

    # "Restart": unload, forget everything in memory, set up from what was saved.
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    hass_storage.clear()
    hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"] = saved
    status_calls = sum(r.endpoint == "status" for r in simulator.requests)

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    orders = loaded_entry.runtime_data.store.orders
    assert set(orders) == {first, second}
    assert orders[first].status is not None
    assert orders[first].status.status == "completed"
    assert hass.states.get(f"sensor.happy_follower_order_{first}_status").state == "completed"
    assert hass.states.get(f"sensor.happy_follower_order_{second}_status").state == "registered"
    # Only the active order was asked for.
    assert sum(r.endpoint == "status" for r in simulator.requests) == status_calls + 1


@pytest.mark.parametrize("order_count", [3])
async def test_status_changes_written_on_unload(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    hass_storage: dict,
    order_count: int,
) -> None:
    ids = [await place(hass, loaded_entry) for _ in range(order_count)]
    simulator.advance(100)
    await tick(hass, 6)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    saved = hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]["data"]["orders"]
    assert [(order["order_id"], order["status"]["status"]) for order in saved] == [
        (order_id, "completed") for order_id in ids
    ]
    assert all(order["final_since"] for order in saved)
