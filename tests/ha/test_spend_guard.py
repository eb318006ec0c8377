"""The shared spend guard in Home Assistant: ledger, caps, admins, duplicates, crashes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.happy_follower.const import (
    CONF_MAX_ORDERS_PER_DAY,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
    DOMAIN,
)
from shared_client.ledger import AuditEvent, AuditRecord, Ledger
from shared_client.simulator import Fault, Simulator

from .helpers import LINK, call, place, tick


def _ledger(hass: HomeAssistant, entry: MockConfigEntry) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry.entry_id}.ledger.jsonl"))


def _lines(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    text = _ledger(hass, entry).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


async def _place_as(
    hass: HomeAssistant, entry: MockConfigEntry, context: Context, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "place_order",
        {"config_entry_id": entry.entry_id, "service_id": 10, "link": LINK, "count": 100, **data},
        blocking=True,
        return_response=True,
        context=context,
    )


async def test_orders_written_ahead_in_the_shared_ledger_with_who_asked(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_admin_user: User
) -> None:
    await _place_as(hass, loaded_entry, Context(user_id=hass_admin_user.id))
    lines = _lines(hass, loaded_entry)
    assert [line["event"] for line in lines] == ["attempt", "placed"]
    assert lines[0]["confirmed_by"] == (
        f"Home Assistant user {hass_admin_user.name} ({hass_admin_user.id})"
    )
    assert lines[0]["source"] == "home_assistant"
    assert lines[1]["order_id"] == 1


async def test_spending_and_canceling_are_for_admins(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    hass_read_only_user: User,
) -> None:
    order_id = await place(hass, loaded_entry)
    context = Context(user_id=hass_read_only_user.id)
    with pytest.raises(Unauthorized):
        await _place_as(hass, loaded_entry, context)
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "cancel_order",
            {"config_entry_id": loaded_entry.entry_id, "order_id": order_id},
            blocking=True,
            context=context,
        )
    assert len(simulator.orders(api_key)) == 1
    # Reading stays open to every user.
    await hass.services.async_call(
        DOMAIN,
        "get_order_status",
        {"config_entry_id": loaded_entry.entry_id, "order_id": order_id},
        blocking=True,
        return_response=True,
        context=context,
    )


async def test_automation_named_in_the_audit(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "likes_on_new_post",
                "alias": "Likes on new post",
                "triggers": [{"trigger": "event", "event_type": "new_post"}],
                "actions": [
                    {
                        "action": "happy_follower.place_order",
                        "data": {
                            "config_entry_id": loaded_entry.entry_id,
                            "service_id": 10,
                            "link": LINK,
                            "count": 100,
                        },
                    }
                ],
            }
        },
    )
    hass.bus.async_fire("new_post")
    await hass.async_block_till_done()
    attempt = _lines(hass, loaded_entry)[0]
    assert attempt["confirmed_by"] == "Home Assistant automation automation.likes_on_new_post"


async def test_script_and_its_user_named_in_the_audit(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_admin_user: User
) -> None:
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "order_likes": {
                    "sequence": [
                        {
                            "action": "happy_follower.place_order",
                            "data": {
                                "config_entry_id": loaded_entry.entry_id,
                                "service_id": 10,
                                "link": LINK,
                                "count": 100,
                            },
                        }
                    ]
                }
            }
        },
    )
    await hass.services.async_call(
        "script", "order_likes", blocking=True, context=Context(user_id=hass_admin_user.id)
    )
    attempt = _lines(hass, loaded_entry)[0]
    assert attempt["confirmed_by"] == (
        "Home Assistant script script.order_likes, run by Home Assistant user "
        f"{hass_admin_user.name} ({hass_admin_user.id})"
    )


async def test_unknown_service_is_http_400_not_500(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: Any
) -> None:
    """Through the REST API, as a dashboard button or a script editor would call it."""
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    response = await client.post(
        "/api/services/happy_follower/place_order",
        json={
            "config_entry_id": loaded_entry.entry_id,
            "service_id": 999,
            "link": LINK,
            "count": 100,
        },
    )
    assert response.status == 400
    assert "999" in await response.text()


@pytest.mark.parametrize(
    "options", [{CONF_MAX_SPEND_PER_DAY: 300.0, CONF_UNIT_PRICES: "10 = 2\n۱۱ = ۳"}]
)
async def test_spend_cap_with_unit_prices(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    await place(hass, loaded_entry, count=100)  # bound 200, cost 200
    with pytest.raises(ServiceValidationError) as err:
        await place(hass, loaded_entry, count=60)  # bound 120: 320 > 300
    assert err.value.translation_key == "cap_max_spend_per_day"
    assert err.value.translation_placeholders["max_spend"] == "300"
    assert "Nothing was sent" in str(err.value)
    await place(hass, loaded_entry, count=50)  # bound 100: 300, at the cap
    assert len(simulator.orders(api_key)) == 2
    assert loaded_entry.runtime_data.guard.usage().spent == 300


@pytest.mark.parametrize("options", [{CONF_MAX_SPEND_PER_DAY: 1000.0}])
async def test_spend_cap_without_a_price_refuses(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    # No price known: the cost cannot be bounded, however large the credit.
    with pytest.raises(ServiceValidationError) as err:
        await place(hass, loaded_entry, count=10)
    assert err.value.translation_key == "cap_cost_unknown"
    assert not simulator.orders(api_key)
    assert _lines(hass, loaded_entry)[-1]["event"] == "refused"


async def test_outcome_unknown_then_possible_duplicate_needs_confirmation(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    hass_admin_user: User,
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HomeAssistantError) as err:
        await place(hass, loaded_entry)
    assert err.value.translation_key == "order_outcome_unknown"
    assert "Do not retry" in str(err.value)

    # The same order again: refused, nothing sent, and the person is told what to do.
    with pytest.raises(ServiceValidationError) as err:
        await place(hass, loaded_entry)
    assert err.value.translation_key == "cap_possible_duplicate"
    assert "Confirm a possible duplicate" in str(err.value)
    assert len(simulator.orders(api_key)) == 1

    await _place_as(
        hass,
        loaded_entry,
        Context(user_id=hass_admin_user.id),
        confirm_possible_duplicate=True,
    )
    assert len(simulator.orders(api_key)) == 2


async def test_unknown_service_is_a_validation_error(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await place(hass, loaded_entry, service_id=999)
    assert err.value.translation_key == "unknown_service"
    assert err.value.translation_placeholders["service_id"] == "999"
    assert not simulator.orders(api_key)
    assert _lines(hass, loaded_entry)[-1]["event"] == "refused"


async def test_bad_input_is_audited(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError):
        await call(hass, loaded_entry, "place_order", service_id=10, link="https://x.io", count=1)
    refusal = _lines(hass, loaded_entry)[-1]
    assert refusal["event"] == "refused"
    # The shared guard refused and audited it, with its own reason and who asked.
    assert refusal["reason"].startswith("link must be on instagram.com or instagr.am")
    assert refusal["confirmed_by"]
    assert not simulator.orders(api_key)


async def test_cost_learned_by_a_later_status_read_settles_the_bound(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    order_id = await place(hass, loaded_entry)
    guard = loaded_entry.runtime_data.guard
    assert guard.usage().spent == 0
    await tick(hass, 6)
    costs = [line for line in _lines(hass, loaded_entry) if line["event"] == "cost"]
    assert [(line["order_id"], line["cost"]) for line in costs] == [(order_id, 200.0)]
    assert guard.usage().spent == 200


@pytest.mark.parametrize("options", [{CONF_MAX_ORDERS_PER_DAY: 2}])
async def test_audit_of_earlier_versions_carried_over_once(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    now = dt_util.utcnow()
    legacy = [
        {
            "at": (now - timedelta(hours=hours)).isoformat(),
            "event": "placed",
            "source": "home_assistant",
            "sandbox": False,
            "service_id": 10,
            "link": LINK,
            "count": 100,
            "order_id": 900 + hours,
            "cost": 200,
        }
        for hours in (1, 2)
    ]
    key = f"{DOMAIN}.{config_entry.entry_id}"
    hass_storage[key] = {"version": 1, "key": key, "data": {"orders": [], "audit": legacy}}
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert [line["order_id"] for line in _lines(hass, config_entry)] == [901, 902]
    # Today's caps still count them.
    with pytest.raises(ServiceValidationError) as err:
        await place(hass, config_entry)
    assert err.value.translation_key == "cap_max_orders_per_day"
    assert not simulator.orders(api_key)
    # Moved, not copied: a reload does not add them again.
    assert "audit" not in hass_storage[key]["data"]
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    placed = [line for line in _lines(hass, config_entry) if line["event"] == "placed"]
    assert len(placed) == 2


async def test_unwritable_ledger_is_reported_at_setup(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    _ledger(hass, config_entry).mkdir(parents=True)  # a folder where the file should be
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert config_entry.reason is not None
    assert "cannot be written" in config_entry.reason
    assert str(_ledger(hass, config_entry)) in config_entry.reason


@pytest.mark.parametrize("options", [{CONF_MAX_SPEND_PER_DAY: float("nan")}])
async def test_caps_that_would_turn_off_stop_setup(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Options written by hand (or an older version) cannot turn a cap off silently."""
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    assert config_entry.error_reason_translation_key == "invalid_max_spend_per_day"


async def test_ledger_lost_after_setup_sends_nothing(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    ledger = _ledger(hass, loaded_entry)
    ledger.unlink()
    ledger.mkdir()  # the file can no longer be opened
    with pytest.raises(HomeAssistantError) as err:
        await place(hass, loaded_entry)
    assert err.value.translation_key == "ledger_error"
    assert "Nothing was sent" in str(err.value)
    assert not simulator.orders(api_key)


async def test_interrupted_attempt_becomes_a_repair_issue(
    hass: HomeAssistant,
    hass_client: Any,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """kill -9 while an order was in flight: the next start says which order is in doubt."""
    started = dt_util.utcnow() - timedelta(minutes=20)
    attempt = AuditRecord(
        at=started,
        event=AuditEvent.ATTEMPT,
        source="home_assistant",
        sandbox=False,
        attempt_id="a1",
        service_id=10,
        link=LINK,
        count=100,
        confirmed_by="Home Assistant user x",
    )
    await hass.async_add_executor_job(
        Ledger(_ledger(hass, config_entry)).transact, lambda _records: [attempt]
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    issue = issue_registry.async_get_issue(DOMAIN, f"interrupted_orders_{config_entry.entry_id}")
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders["count"] == "1"
    assert (
        f"100 × \u2068<{LINK}>\u2069 · 10 · {dt_util.as_local(started):%Y-%m-%d %H:%M}"
        in (issue.translation_placeholders["orders"])
    )
    assert _lines(hass, config_entry)[-1]["event"] == "outcome_unknown"
    # The same order is now a possible duplicate.
    with pytest.raises(ServiceValidationError) as err:
        await place(hass, config_entry)
    assert err.value.translation_key == "cap_possible_duplicate"

    # The person confirms they checked: the issue closes.
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert (await response.json())["type"] == "create_entry"
    assert issue_registry.async_get_issue(DOMAIN, issue.issue_id) is None


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({CONF_MAX_SPEND_PER_DAY: 0}, {CONF_MAX_SPEND_PER_DAY: "invalid_amount"}),
        ({CONF_UNIT_PRICES: "10: 2"}, {CONF_UNIT_PRICES: "invalid_unit_prices"}),
        ({CONF_UNIT_PRICES: "10 = -2"}, {CONF_UNIT_PRICES: "invalid_unit_prices"}),
        ({CONF_UNIT_PRICES: "10 = nan"}, {CONF_UNIT_PRICES: "invalid_unit_prices"}),
    ],
)
async def test_options_refuse_caps_that_would_turn_off(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, changes: dict[str, Any], error: Any
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    base = {
        "credit_unit": "Toman",
        "low_credit_threshold": 0,
        "max_count_per_order": 1000,
        "max_orders_per_day": 10,
        "final_retention_hours": 24,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, **changes}
    )
    assert result["errors"] == error
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_MAX_SPEND_PER_DAY: 500, CONF_UNIT_PRICES: "10 = 2.5"}
    )
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    caps = loaded_entry.runtime_data.guard.caps
    assert (caps.max_spend_per_day, dict(caps.unit_prices)) == (500, {10: 2.5})
