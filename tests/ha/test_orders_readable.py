"""Orders a person can tell apart, spending they can see, one vocabulary, events once."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.happy_follower.const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_CREDIT_UNIT,
    CONF_ENVIRONMENT,
    DOMAIN,
    ENVIRONMENT_SANDBOX,
    EVENT_ORDER_FINISHED,
    EVENT_ORDER_STATUS_CHANGED,
)
from custom_components.happy_follower.coordinator import status_key
from custom_components.happy_follower.entity import order_device_info, order_target
from custom_components.happy_follower.store import TrackedOrder
from shared_client.simulator import Simulator

from .helpers import SENT, call, place, tick

POST = "https://www.instagram.com/p/DAbc123xyz/"
SPENT = "sensor.happy_follower_spent"


def _find_order_device(
    hass: HomeAssistant, entry: MockConfigEntry, order_id: int
) -> dr.DeviceEntry | None:
    return dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}_order_{order_id}"), entry.entry_id
    )


def _order_device(hass: HomeAssistant, entry: MockConfigEntry, order_id: int) -> dr.DeviceEntry:
    device = _find_order_device(hass, entry, order_id)
    assert device is not None
    return device


async def test_order_devices_named_after_what_was_ordered(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    first = await place(hass, loaded_entry, count=100)
    result = await call(hass, loaded_entry, "place_order", True, service_id=11, link=POST, count=50)
    assert result is not None
    second = result["order_id"]

    device = _order_device(hass, loaded_entry, first)
    # Each part is a bidi isolate: "@" stays in front in a right-to-left interface too.
    # The order number first: what tells two orders apart survives a cut name.
    assert (
        device.name == f"#{first} · \u2068@mehdifeizi\u2069 · \u2068لایک ایرانی(سرعت متوسط)\u2069"
    )
    assert device.serial_number == str(first)  # the order id stays reachable
    assert device.model_id == "10"
    assert _order_device(hass, loaded_entry, second).name == (
        f"#{second} · Post \u2068DAbc123xyz\u2069 · \u2068لایک ایرانی(سرعت بالا)\u2069"
    )
    state = hass.states.get(f"sensor.happy_follower_order_{first}_progress")
    assert state.attributes["friendly_name"] == f"{device.name} Progress"
    status = hass.states.get(f"sensor.happy_follower_order_{first}_status")
    assert status.attributes["order_id"] == first
    assert status.attributes["service_id"] == 10
    assert status.attributes["link"] == SENT

    # Untracking removes the order's device (no stale devices).
    await call(hass, loaded_entry, "untrack_order", order_id=first)
    assert _find_order_device(hass, loaded_entry, first) is None


async def test_deleting_an_order_device_untracks_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_ws_client: Any
) -> None:
    order_id = await place(hass, loaded_entry)
    device = _order_device(hass, loaded_entry, order_id)
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": device.id}
    )
    assert (await client.receive_json())["success"]
    assert order_id not in loaded_entry.runtime_data.store.orders


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://www.instagram.com/mehdifeizi/", ("profile", "@mehdifeizi")),
        ("https://instagram.com/reel/C0de_1/?igsh=x", ("reel", "C0de_1")),
        ("https://www.instagram.com/stories/someone/123/", ("story", "@someone")),
        ("https://www.instagram.com/explore/tags/x/", ("link", "instagram.com/explore/t…")),
        (None, ("link", "?")),
    ],
)
def test_order_target(link: str | None, expected: tuple[str, str]) -> None:
    assert order_target(link) == expected


def test_order_device_name_is_display_safe() -> None:
    """Vendor text cannot draw lines or reorder what is shown; names stay short."""
    config_entry = MockConfigEntry(domain=DOMAIN, entry_id="E")

    order = TrackedOrder(
        order_id=7,
        added_at=dt_util.utcnow(),
        environment="live",
        service_id=10,
        service_name="Likes\u202e\nTotal: 0 Toman\u200b" + "x" * 60,
        link="https://www.instagram.com/a\u202eb/",
    )
    info = order_device_info(config_entry, order, "en")  # type: ignore[arg-type]
    placeholders = dict(info["translation_placeholders"])
    assert placeholders.pop("order") == "7"  # ours, not vendor text
    for value in placeholders.values():
        assert value[0] == "\u2068"
        assert value[-1] == "\u2069"
        inner = value[1:-1]
        assert not {"\u202e", "\n", "\u200b", "\u2068", "\u2069"} & set(inner)
        assert len(inner) <= 28
    assert info["serial_number"] == "7"


@pytest.mark.parametrize("options", [{CONF_CREDIT_UNIT: "IRR"}])
async def test_spent_sensor_totals_costs(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    assert hass.states.get(SPENT).state == "0.0"
    first = await place(hass, loaded_entry, count=100)  # 100 × 2.0
    simulator.set_order_outcome(first, partial_at=30)
    await place(hass, loaded_entry, count=50, service_id=11)  # 50 × 3.0
    state = hass.states.get(SPENT)
    assert state.state == "350.0"
    # Monetary, a total: long-term statistics, in the credit's unit.
    assert state.attributes["state_class"] == "total"
    assert state.attributes["device_class"] == "monetary"
    credit = hass.states.get("sensor.happy_follower_credit")
    assert state.attributes["unit_of_measurement"] == credit.attributes["unit_of_measurement"]

    # A partial order is refunded the rest: the total follows the real cost.
    simulator.advance(100)
    await tick(hass, 6)
    assert hass.states.get(SPENT).state == str(350.0 - 70 * 2.0)

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(SPENT).state == "210.0"


def test_status_key_one_spelling() -> None:
    assert status_key("Cancelled") == "canceled"
    assert status_key("canceled") == "canceled"
    assert status_key(" In Progress ") == "in_progress"
    assert status_key("Processing") == "in_progress"
    assert status_key("Pending") == "registered"
    assert status_key("\u202e\n") == "unknown"


async def test_events_and_states_share_the_status_values(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    changed = async_capture_events(hass, EVENT_ORDER_STATUS_CHANGED)
    finished = async_capture_events(hass, EVENT_ORDER_FINISHED)
    order_id = await place(hass, loaded_entry, count=100)
    await call(hass, loaded_entry, "cancel_order", order_id=order_id)
    state = hass.states.get(f"sensor.happy_follower_order_{order_id}_status").state
    assert state == "canceled"
    assert [event.data["new_status"] for event in changed] == ["registered", "canceled"]
    assert finished[0].data["status"] == state
    options = hass.states.get(f"sensor.happy_follower_order_{order_id}_status").attributes[
        "options"
    ]
    assert "cancelled" not in options


@pytest.mark.parametrize("dialect", ["panel-status-words"])
async def test_panel_status_words_read_as_the_one_vocabulary(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    """A service that says "Pending", "Processing", "Completed" (as generic panels do)."""
    changed = async_capture_events(hass, EVENT_ORDER_STATUS_CHANGED)
    order_id = await place(hass, loaded_entry, count=100)
    status = f"sensor.happy_follower_order_{order_id}_status"
    assert hass.states.get(status).state == "registered"
    simulator.advance(20)
    await tick(hass, 6)
    assert hass.states.get(status).state == "in_progress"
    simulator.advance(60)
    await tick(hass, 12)
    assert hass.states.get(status).state == "completed"
    assert [event.data["new_status"] for event in changed] == [
        "registered",
        "in_progress",
        "completed",
    ]


async def test_finished_event_fires_once_after_a_kill(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """kill -9 right after the event fired: what is on disk already knows it fired."""
    finished = async_capture_events(hass, EVENT_ORDER_FINISHED)
    order_id = await place(hass, loaded_entry, count=100)
    simulator.advance(100)
    await tick(hass, 6)
    assert len(finished) == 1
    on_disk = copy.deepcopy(hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"])  # the "kill"

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"] = on_disk
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    await tick(hass, 6)
    assert len(finished) == 1
    assert loaded_entry.runtime_data.store.orders[order_id].final_since is not None


async def test_reconfigure_to_sandbox_polls_only_sandbox_orders(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    live_order = await place(hass, loaded_entry, count=100)
    result = await loaded_entry.start_reconfigure_flow(hass)
    # The form shows what is set now (the key stays hidden, empty keeps it).
    suggested = {
        str(key): key.description.get("suggested_value") if key.description else None
        for key in result["data_schema"].schema
    }
    assert suggested[CONF_ENVIRONMENT] == "live"
    assert suggested["api_key"] is None
    assert result["description_placeholders"]["title"] == "Happy Follower"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_ENVIRONMENT: ENVIRONMENT_SANDBOX,
            CONF_ADVANCED: {CONF_API_ROOT: simulator.sandbox_base_url},
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data.client.sandbox

    before = len(simulator.requests)
    await tick(hass, 6)
    asked = [r.path for r in simulator.requests[before:] if r.endpoint == "status"]
    assert f"/status/{live_order}/" not in " ".join(asked)
    assert live_order not in loaded_entry.runtime_data.store.orders
    assert hass.states.get(f"sensor.happy_follower_order_{live_order}_status") is None

    # Back to live: the live order is followed again.
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_ENVIRONMENT: "live", CONF_ADVANCED: {CONF_API_ROOT: simulator.base_url}},
    )
    await hass.async_block_till_done()
    assert live_order in loaded_entry.runtime_data.store.orders
    assert loaded_entry.data["api_key"] == api_key  # kept, never re-entered
