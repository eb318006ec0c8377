"""Every action, with its validation errors, spending caps and service failures."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.happy_follower.const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_ENVIRONMENT,
    CONF_MAX_COUNT_PER_ORDER,
    CONF_MAX_ORDERS_PER_DAY,
    DOMAIN,
    ENVIRONMENT_SANDBOX,
)
from shared_client.guard import AuditEvent
from shared_client.simulator import Fault, Simulator

from .helpers import LINK, SENT, call, place

CAPS = {CONF_MAX_COUNT_PER_ORDER: 500, CONF_MAX_ORDERS_PER_DAY: 2}


def _orders_placed(simulator: Simulator, api_key: str) -> int:
    return len(simulator.orders(api_key))


async def test_place_order_tracks_and_refreshes_credit(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    sent_before = len(simulator.requests)
    result = await call(
        hass, loaded_entry, "place_order", True, service_id="۱۰", link=LINK, count=100.0
    )
    # No price and no spend cap: nothing bounds it, and its cost was as reported.
    assert result == {"order_id": 1, "cost": 200, "cost_bound": None, "anomaly": None}
    # One status read serves both the cost and the new order's entities.
    endpoints = [request.endpoint for request in simulator.requests[sent_before:]]
    assert endpoints.count("order") == 1
    assert endpoints.count("status") == 1
    assert [order.count for order in simulator.orders(api_key)] == [100]
    assert 1 in loaded_entry.runtime_data.store.orders
    assert hass.states.get("sensor.happy_follower_order_1_status").state == "registered"
    assert hass.states.get("sensor.happy_follower_credit").state == "99800"
    # Written ahead, then the outcome; both in the shared ledger.
    audit = loaded_entry.runtime_data.guard.records
    assert [(r.event, r.order_id, r.source) for r in audit] == [
        (AuditEvent.ATTEMPT, None, "home_assistant"),
        (AuditEvent.PLACED, 1, "home_assistant"),
    ]
    assert audit[0].cost_bound is None  # no spend cap set: nothing needed bounding


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"service_id": 0, "link": LINK, "count": 10}, "invalid_service_id"),
        ({"service_id": 10, "link": LINK, "count": "ten"}, "invalid_count"),
        ({"service_id": 10, "link": LINK, "count": 2.5}, "invalid_count"),
        ({"service_id": 10, "link": LINK, "count": "۲٫۵"}, "invalid_count"),
        ({"service_id": 10, "link": LINK, "count": "1e3"}, "invalid_count"),
        ({"service_id": 10, "link": LINK, "count": "1,00"}, "invalid_count"),
        ({"service_id": 10, "link": "instagram.com/me", "count": 10}, "invalid_link"),
        ({"service_id": 10, "link": "https://x y", "count": 10}, "invalid_link"),
    ],
)
async def test_place_order_bad_input(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    data: dict[str, Any],
    key: str,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, loaded_entry, "place_order", True, **data)
    assert err.value.translation_key == key
    assert _orders_placed(simulator, api_key) == 0


@pytest.mark.parametrize("options", [CAPS])
async def test_place_order_caps(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await place(hass, loaded_entry, count=501)
    assert err.value.translation_key == "cap_max_count_per_order"
    assert err.value.translation_placeholders["max_count"] == "500"
    assert "501" in str(err.value)

    await place(hass, loaded_entry, count=100)
    await place(hass, loaded_entry, count=100)
    with pytest.raises(ServiceValidationError) as err:
        await place(hass, loaded_entry, count=100)
    assert err.value.translation_key == "cap_max_orders_per_day"
    assert _orders_placed(simulator, api_key) == 2

    # The caps count what was placed before a reload too (audit kept in storage).
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError):
        await place(hass, loaded_entry, count=100)
    assert _orders_placed(simulator, api_key) == 2


async def test_place_order_outcome_unknown_is_not_retried(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HomeAssistantError) as err:
        await place(hass, loaded_entry)
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "order_outcome_unknown"
    assert "NOT sent again" in str(err.value)
    assert sum(r.endpoint == "order" for r in simulator.requests) == 1
    assert _orders_placed(simulator, api_key) == 1  # it was placed, once
    assert loaded_entry.runtime_data.guard.records[-1].event is AuditEvent.OUTCOME_UNKNOWN
    assert api_key not in caplog.text


@pytest.mark.parametrize(
    ("fault", "message", "key"),
    [
        (Fault.ERROR_MESSAGE, "اعتبار حساب شما کافی نیست", "not_enough_credit"),
        (Fault.ERROR_MESSAGE, "سفارش\u202e\nنامعتبر", "api_error"),
        (Fault.RATE_LIMITED, None, "rate_limited_retry_after"),
        # A garbled answer to an order may hide a placed order: never "failed".
        (Fault.MALFORMED_JSON, None, "order_outcome_unknown"),
    ],
)
async def test_place_order_service_failures(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    fault: Fault,
    message: str | None,
    key: str,
) -> None:
    simulator.inject("order", fault, message=message)
    with pytest.raises(HomeAssistantError) as err:
        await place(hass, loaded_entry)
    assert err.value.translation_key == key
    assert not loaded_entry.runtime_data.store.orders
    # Vendor text reaches the person display-safe: no bidi override, no new line.
    for value in (err.value.translation_placeholders or {}).values():
        assert "\u202e" not in value
        assert "\n" not in value


async def test_place_order_not_enough_credit_from_service(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    simulator.set_credit(api_key, 10)
    with pytest.raises(HomeAssistantError) as err:
        await place(hass, loaded_entry, count=100)
    assert err.value.translation_key == "not_enough_credit"
    assert "Top up" in str(err.value)


async def test_action_auth_failure_starts_reauth(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    simulator.revoke_api_key(api_key)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, loaded_entry, "list_services", True)
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_cancel_and_recheck(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    order_id = await place(hass, loaded_entry, count=100)
    await call(hass, loaded_entry, "recheck_order", order_id=order_id)
    assert simulator.orders(api_key)[0].recheck_count == 1

    await call(hass, loaded_entry, "cancel_order", order_id=order_id)
    assert simulator.orders(api_key)[0].status == "canceled"
    assert hass.states.get(f"sensor.happy_follower_order_{order_id}_status").state == "canceled"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.happy_follower_credit").state == "100000"

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, loaded_entry, "cancel_order", order_id=order_id)
    assert err.value.translation_key == "api_error"
    # The vendor's own words, isolated: its text cannot reorder the sentence around it.
    assert err.value.translation_placeholders["message"] == "\u2068این سفارش قابل لغو نیست\u2069"


async def test_cancel_untracked_order(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    order_id = await place(hass, loaded_entry)
    await call(hass, loaded_entry, "untrack_order", order_id=order_id)
    await call(hass, loaded_entry, "cancel_order", order_id=order_id)
    assert order_id not in loaded_entry.runtime_data.store.orders


async def test_cancel_in_sandbox_is_refused(
    hass: HomeAssistant, simulator: Simulator, api_key: str
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Happy Follower (sandbox)",
        data={
            CONF_API_KEY: api_key,
            CONF_ENVIRONMENT: ENVIRONMENT_SANDBOX,
            CONF_ADVANCED: {CONF_API_ROOT: simulator.sandbox_base_url},
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, entry, "cancel_order", order_id=1)
    assert err.value.translation_key == "sandbox_unsupported"


async def test_get_order_status_and_list_services(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    order_id = await place(hass, loaded_entry, count=100)
    simulator.advance(20)
    status = await call(hass, loaded_entry, "get_order_status", True, order_id=order_id)
    assert status == {
        "order_id": order_id,
        "status": "in_progress",
        "status_title": "در حال انجام",
        "is_final": False,
        "count": 100,
        "delivered": 50,
        "remain": 50,
        "progress": 50.0,
        "old_count": status["old_count"],
        "cost": 200,
        "link": SENT,
        "tracked": True,
    }
    # The tracked order's entities follow what the action read.
    progress = hass.states.get(f"sensor.happy_follower_order_{order_id}_progress")
    assert progress.state == "50.0"

    services = await call(hass, loaded_entry, "list_services", True)
    assert {"service_id": 10, "name": "لایک ایرانی(سرعت متوسط)"} in services["services"]

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, loaded_entry, "get_order_status", True, order_id=999)
    assert err.value.translation_key == "api_error"


async def test_track_and_untrack(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    # An order placed elsewhere (the CLI, the website...).
    from shared_client import HappyFollowerClient

    async with HappyFollowerClient(api_key, base_url=simulator.base_url) as other:
        order_id = await other.place_order(service_id=10, link=LINK, count=100)

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, loaded_entry, "track_order", order_id=order_id + 1)
    assert err.value.translation_key == "api_error"
    assert not loaded_entry.runtime_data.store.orders

    await call(hass, loaded_entry, "track_order", order_id=order_id)
    await call(hass, loaded_entry, "track_order", order_id=order_id)  # already: no change
    entity_id = f"sensor.happy_follower_order_{order_id}_status"
    assert hass.states.get(entity_id).state == "registered"

    await call(hass, loaded_entry, "untrack_order", order_id=order_id)
    await hass.async_block_till_done()
    assert entity_registry.async_get(entity_id) is None
    assert hass.states.get(entity_id) is None

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, loaded_entry, "untrack_order", order_id=order_id)
    assert err.value.translation_key == "order_not_tracked"

    # Tracking again brings its entities back.
    await call(hass, loaded_entry, "track_order", order_id=order_id)
    assert hass.states.get(entity_id).state == "registered"


async def test_entry_not_found_or_not_loaded(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "list_services",
            {"config_entry_id": "nope"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "entry_not_found"

    await hass.config_entries.async_unload(loaded_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, loaded_entry, "list_services", True)
    assert err.value.translation_key == "entry_not_loaded"


async def test_place_order_when_first_status_read_fails(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    # The order is placed and kept even when its status cannot be read right away.
    simulator.inject("status", Fault.MALFORMED_JSON, times=2)
    result = await call(
        hass, loaded_entry, "place_order", True, service_id=10, link=LINK, count=100
    )
    assert result == {"order_id": 1, "cost": None, "cost_bound": None, "anomaly": None}
    assert loaded_entry.runtime_data.store.orders[1].status is None
    assert hass.states.get("sensor.happy_follower_order_1_status").state == "unknown"
