"""Entities: snapshots, order progress over simulated time, events, removal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.happy_follower.const import (
    CONF_CREDIT_UNIT,
    CONF_FINAL_RETENTION_HOURS,
    CONF_LOW_CREDIT_THRESHOLD,
    CONF_MAX_ORDERS_PER_DAY,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
    DOMAIN,
    EVENT_CREDIT_LOW,
    EVENT_ORDER_FINISHED,
    EVENT_ORDER_STATUS_CHANGED,
)
from custom_components.happy_follower.spending import ledger_path
from shared_client import HappyFollowerClient
from shared_client.guard import SpendGuard
from shared_client.ledger import Ledger
from shared_client.simulator import Fault, Simulator

from .helpers import LINK, place, tick

STATUS = "sensor.happy_follower_order_{}_status"
PROGRESS = "sensor.happy_follower_order_{}_progress"


@pytest.mark.freeze_time("2026-11-01 12:00:00+00:00")
@pytest.mark.parametrize("options", [{CONF_CREDIT_UNIT: "IRR"}])
async def test_entities_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
) -> None:
    # One order completed, one just registered: states that do not depend on timing.
    await place(hass, loaded_entry, count=100)
    simulator.advance(100)
    await place(hass, loaded_entry, count=50, service_id=11)
    await tick(hass, 6)
    await snapshot_platform(hass, entity_registry, snapshot, loaded_entry.entry_id)


async def test_order_progress_and_events(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    changed = async_capture_events(hass, EVENT_ORDER_STATUS_CHANGED)
    finished = async_capture_events(hass, EVENT_ORDER_FINISHED)
    order_id = await place(hass, loaded_entry, count=100)
    assert hass.states.get(STATUS.format(order_id)).state == "registered"
    assert hass.states.get(PROGRESS.format(order_id)).state == "0.0"
    assert hass.states.get("sensor.happy_follower_active_orders").state == "1"

    simulator.advance(20)  # 10 s waiting, then 50 of 100 delivered
    await tick(hass, 6)
    assert hass.states.get(STATUS.format(order_id)).state == "in_progress"
    assert hass.states.get(PROGRESS.format(order_id)).state == "50.0"
    assert hass.states.get(f"sensor.happy_follower_order_{order_id}_delivered").state == "50"
    assert hass.states.get(f"sensor.happy_follower_order_{order_id}_remaining").state == "50"

    simulator.advance(60)
    await tick(hass, 12)
    assert hass.states.get(STATUS.format(order_id)).state == "completed"
    assert hass.states.get(PROGRESS.format(order_id)).state == "100.0"
    assert hass.states.get("sensor.happy_follower_active_orders").state == "0"

    assert [(e.data["old_status"], e.data["new_status"]) for e in changed] == [
        (None, "registered"),
        ("registered", "in_progress"),
        ("in_progress", "completed"),
    ]
    assert changed[1].data["progress"] == 50.0
    assert len(finished) == 1
    assert finished[0].data["order_id"] == order_id
    assert finished[0].data["status"] == "completed"
    assert finished[0].data["delivered"] == 100
    assert finished[0].data["cost"] == 200

    # A final order costs no request any more.
    status_calls = sum(r.endpoint == "status" for r in simulator.requests)
    await tick(hass, 30)
    assert sum(r.endpoint == "status" for r in simulator.requests) == status_calls
    assert len(finished) == 1


async def test_partial_order_finishes(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    finished = async_capture_events(hass, EVENT_ORDER_FINISHED)
    order_id = await place(hass, loaded_entry, count=100)
    simulator.set_order_outcome(order_id, partial_at=30)
    simulator.advance(100)
    await tick(hass, 6)
    assert hass.states.get(STATUS.format(order_id)).state == "partial"
    assert hass.states.get(PROGRESS.format(order_id)).state == "30.0"
    assert finished[0].data["remain"] == 70


@pytest.mark.parametrize("options", [{CONF_FINAL_RETENTION_HOURS: 1}])
async def test_final_orders_removed_after_retention(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    order_id = await place(hass, loaded_entry, count=100)
    simulator.advance(100)
    await tick(hass, 6)
    assert hass.states.get(STATUS.format(order_id)).state == "completed"

    freezer.tick(timedelta(minutes=30))
    await tick(hass, 0)
    assert entity_registry.async_get(STATUS.format(order_id)) is not None

    freezer.tick(timedelta(minutes=40))
    await tick(hass, 0)
    assert entity_registry.async_get(STATUS.format(order_id)) is None
    assert hass.states.get(STATUS.format(order_id)) is None
    assert order_id not in loaded_entry.runtime_data.store.orders


async def test_unknown_status_is_shown(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    hass_storage: dict,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An order the service no longer knows (404) keeps its last status, whatever it is.
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}",
        "data": {
            "orders": [
                {
                    "order_id": 777,
                    "added_at": "2026-01-01T00:00:00+00:00",
                    "final_since": None,
                    "status": {
                        "status": "On_Hold",
                        "statusTitle": "معلق",
                        "remain": 40,
                        "count": 100,
                        "cost": 50,
                        "link": "https://instagram.com/x",
                    },
                },
                {"order_id": "damaged"},
                {"order_id": 8, "added_at": "yesterday", "final_since": None, "status": None},
            ],
            "audit": [{"not": "a record"}],
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get(STATUS.format(777))
    assert state.state == "on_hold"
    assert "on_hold" in state.attributes["options"]
    assert state.attributes["status_title"] == "معلق"
    assert hass.states.get(PROGRESS.format(777)).state == "60.0"
    assert list(config_entry.runtime_data.store.orders) == [777]
    # The refusal (unknown order) is logged once, not at every refresh.
    await tick(hass, 6)
    await tick(hass, 6)
    assert caplog.text.count("refused the status of order 777") == 1
    assert hass.states.get(STATUS.format(777)).state == "on_hold"


@pytest.mark.parametrize("options", [{CONF_LOW_CREDIT_THRESHOLD: 1000}])
async def test_low_credit_issue_and_event(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    events = async_capture_events(hass, EVENT_CREDIT_LOW)
    issue_id = f"low_credit_{loaded_entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    simulator.set_credit(api_key, 250)
    await tick(hass, 16)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders["credit"] == "250"
    assert issue.translation_placeholders["threshold"] == "1,000"
    assert [event.data["credit"] for event in events] == [250]

    # Still low: the issue stays, no second event.
    simulator.set_credit(api_key, 200)
    await tick(hass, 16)
    assert len(events) == 1
    assert (
        issue_registry.async_get_issue(DOMAIN, issue_id).translation_placeholders["credit"] == "200"
    )

    simulator.set_credit(api_key, 5000)
    await tick(hass, 16)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get("sensor.happy_follower_credit").state == "5000"


async def test_order_entities_unavailable_when_service_fails(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    from shared_client.simulator import Fault

    order_id = await place(hass, loaded_entry)
    simulator.inject("status", Fault.MALFORMED_JSON, times=None)
    await tick(hass, 6)
    assert hass.states.get(STATUS.format(order_id)).state == STATE_UNAVAILABLE
    coordinator = loaded_entry.runtime_data.orders
    assert coordinator.last_exception.translation_key == "invalid_response"


@pytest.mark.parametrize("options", [{CONF_MAX_ORDERS_PER_DAY: 100}])
async def test_refresh_stops_asking_a_failing_service(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    from shared_client.simulator import Fault

    for _ in range(25):
        await place(hass, loaded_entry, count=100)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=None)
    before = sum(r.endpoint == "status" for r in simulator.requests)
    await tick(hass, 6)
    asked = sum(r.endpoint == "status" for r in simulator.requests) - before
    # At most the reads already in flight (10 at a time, 3 attempts each), not all 25.
    assert 3 <= asked <= 30
    assert hass.states.get("sensor.happy_follower_active_orders").state == STATE_UNAVAILABLE


SPENT_24H = "sensor.happy_follower_spent_in_24_hours"
SPEND_LEFT = "sensor.happy_follower_left_under_the_cap"
TOTAL_SPENT = "sensor.happy_follower_spent"


@pytest.mark.parametrize("options", [{CONF_MAX_SPEND_PER_DAY: 1000.0, CONF_UNIT_PRICES: "10 = 2"}])
async def test_spend_of_the_last_24_hours_against_the_cap(
    hass: HomeAssistant,
    simulator: Simulator,
    client: HappyFollowerClient,
    loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    assert hass.states.get(SPENT_24H).state == "0.0"
    assert hass.states.get(SPENT_24H).attributes["spend_cap"] == 1000
    assert hass.states.get(SPEND_LEFT).state == "1000.0"

    await place(hass, loaded_entry, count=100)  # costs 200
    assert hass.states.get(SPENT_24H).state == "200.0"
    assert hass.states.get(SPEND_LEFT).state == "800.0"

    # The CLI spends from the same ledger: counted at the next read of the ledger, though
    # Home Assistant does not track that order (so the total spent here does not count it).
    cli = SpendGuard(client, Ledger(ledger_path(hass, loaded_entry.entry_id)), source="cli")
    await cli.open()
    quote = await cli.prepare_order(10, LINK, 150)  # 300
    await cli.place_order(quote, confirmed_by="a person at the terminal")
    await tick(hass, 1)
    state = hass.states.get(SPENT_24H)
    assert state.state == "500.0"
    assert (state.attributes["orders"], state.attributes["spent"]) == (2, 500.0)
    assert hass.states.get(SPEND_LEFT).state == "500.0"
    assert hass.states.get(TOTAL_SPENT).state == "200.0"

    # A rolling window: a day later nothing counts against the cap, the total stays.
    freezer.tick(timedelta(hours=24, minutes=1))
    await tick(hass, 1)
    assert hass.states.get(SPENT_24H).state == "0.0"
    assert hass.states.get(SPEND_LEFT).state == "1000.0"
    assert hass.states.get(TOTAL_SPENT).state == "200.0"


@pytest.mark.parametrize("options", [{CONF_MAX_SPEND_PER_DAY: 1000.0, CONF_UNIT_PRICES: "10 = 2"}])
async def test_reserved_bound_counts_until_the_cost_is_known(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    # An order whose first status never came counts at its bound (reserved), as the cap
    # counts it; and without a spend cap there is nothing left "under" it: no such sensor.
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=None)
    await place(hass, loaded_entry, count=100)  # bound 200, cost not known
    state = hass.states.get(SPENT_24H)
    assert (state.state, state.attributes["reserved"], state.attributes["spent"]) == (
        "200.0",
        200.0,
        0.0,
    )
    assert hass.states.get(SPEND_LEFT).state == "800.0"

    simulator.clear_faults()
    hass.config_entries.async_update_entry(loaded_entry, options={})
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert entity_registry.async_get(SPEND_LEFT) is None
    assert hass.states.get(SPENT_24H).attributes["spend_cap"] is None


async def test_names_and_unit_in_persian(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Home Assistant in Persian: the sensors' names and the unit (تومان) are Persian."""
    hass.config.language = "fa"
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    order_id = await place(hass, config_entry, count=100)
    for entity_id in ("sensor.happy_follower_credit", SPENT_24H, TOTAL_SPENT):
        state = hass.states.get(entity_id)
        assert state.attributes["unit_of_measurement"] == "تومان", entity_id
    names = {
        entity_id: hass.states.get(entity_id).attributes["friendly_name"]
        for entity_id in (SPENT_24H, TOTAL_SPENT, f"sensor.happy_follower_order_{order_id}_cost")
    }
    assert names[SPENT_24H] == "Happy Follower هزینهٔ ۲۴ ساعت گذشته"
    assert names[TOTAL_SPENT] == "Happy Follower مجموع هزینه‌ها"
    assert names[f"sensor.happy_follower_order_{order_id}_cost"].endswith(" هزینه")
    cost = hass.states.get(f"sensor.happy_follower_order_{order_id}_cost")
    assert cost.attributes["unit_of_measurement"] == "تومان"
    # The order's device: its number first, in Persian digits.
    number = str(order_id).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert _order_device_name(hass, config_entry, order_id) == (
        f"#{number} · \u2068@mehdifeizi\u2069 · \u2068لایک ایرانی(سرعت متوسط)\u2069"
    )


def _order_device_name(hass: HomeAssistant, entry: MockConfigEntry, order_id: int) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}_order_{order_id}"), entry.entry_id
    )
    assert device is not None
    assert device.name is not None
    return device.name


async def test_two_orders_of_one_target_differ_where_their_names_start(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """What tells orders apart comes first: a card or list that cuts a long name keeps it."""
    first = await place(hass, loaded_entry, count=100)
    second = await place(hass, loaded_entry, count=200)
    names = [_order_device_name(hass, loaded_entry, order) for order in (first, second)]
    assert names == [
        f"#{order} · \u2068@mehdifeizi\u2069 · \u2068لایک ایرانی(سرعت متوسط)\u2069"
        for order in (first, second)
    ]
