"""The README's automation YAML, loaded in a real Home Assistant against the simulator."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import parse_yaml
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from shared_client import protocol as p
from shared_client.simulator import Simulator
from tests.ha.conftest import (  # noqa: F401 - fixtures of the Home Assistant tests
    auto_enable_custom_integrations,
    config_entry,
    fast_client,
    loaded_entry,
    options,
)
from tests.ha.helpers import tick

from .readme import only_block

AUTOMATION_DOMAIN = "automation"
POST = "C1a2B3c4D5e"


def _next(at: time) -> datetime:
    """The next local time of day ``at``, strictly after now."""
    now = dt_util.now()
    moment = now.replace(hour=at.hour, minute=at.minute, second=at.second, microsecond=0)
    return moment if moment > now else moment + timedelta(days=1)


def readme_automations(entry_id: str) -> dict[str, Any]:
    """The README's YAML with its placeholders filled in, parsed as Home Assistant does."""
    source = only_block("Home Assistant", "yaml")
    assert source.count("YOUR_ENTRY_ID") == 1
    assert source.count("YOUR_POST") == 1
    source = source.replace("YOUR_ENTRY_ID", entry_id).replace("YOUR_POST", POST)
    config = parse_yaml(source)
    assert isinstance(config, dict)
    assert list(config) == [AUTOMATION_DOMAIN]
    return config


async def test_readme_automations(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,  # noqa: F811
) -> None:
    config = readme_automations(loaded_entry.entry_id)
    morning, finished = config[AUTOMATION_DOMAIN]
    assert (morning["alias"], finished["alias"]) == ("Morning likes", "Order finished")
    notified = async_mock_service(hass, "notify", "notify")
    assert await async_setup_component(hass, AUTOMATION_DOMAIN, config)
    await hass.async_block_till_done()
    assert len(hass.states.async_entity_ids(AUTOMATION_DOMAIN)) == 2
    try:
        await _morning_then_finished(hass, simulator, api_key, loaded_entry, morning, notified)
    finally:  # detach the time trigger: no timer may outlive the test
        await hass.services.async_call(
            AUTOMATION_DOMAIN, "turn_off", {"entity_id": "all"}, blocking=True
        )


async def _morning_then_finished(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    entry: MockConfigEntry,
    morning: dict[str, Any],
    notified: list[ServiceCall],
) -> None:
    (trigger,) = morning["triggers"]
    assert trigger["trigger"] == "time"
    (place,) = [a for a in morning["actions"] if a["action"] == "happy_follower.place_order"]
    assert simulator.orders(api_key) == []

    # Not yet morning: nothing happens.
    at = time.fromisoformat(trigger["at"])
    async_fire_time_changed(hass, dt_util.as_utc(_next(at)) - timedelta(minutes=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.orders(api_key) == []
    assert notified == []

    # The morning comes: the order is placed and its id told.
    async_fire_time_changed(hass, dt_util.as_utc(_next(at)))
    await hass.async_block_till_done(wait_background_tasks=True)
    (order,) = simulator.orders(api_key)
    assert (order.service_id, order.link, order.count) == (
        place["data"]["service_id"],
        f"https://www.instagram.com/p/{POST}/",
        place["data"]["count"],
    )
    assert [call.data["message"] for call in notified] == [f"Order {order.order_id} placed"]
    # "returns the order id and starts tracking it"
    assert order.order_id in entry.runtime_data.store.orders

    # The order is delivered; the next refresh of the orders finishes it.
    simulator.advance(3600)
    await tick(hass, 6)
    (order,) = simulator.orders(api_key)
    assert order.status == p.STATUS_COMPLETED
    assert [call.data["message"] for call in notified] == [
        f"Order {order.order_id} placed",
        f"Order {order.order_id} is {p.STATUS_COMPLETED}",
    ]
