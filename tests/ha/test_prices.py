"""Prices a person stands behind (I10) and costs the vendor reports (I9), in Home Assistant:
the confirm price action, the repair of a held service, anomalies, translated refusals."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.happy_follower.const import (
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
    DOMAIN,
)
from custom_components.happy_follower.repairs import CONFIRMED_IN_REPAIRS
from shared_client.errors import Refusal
from shared_client.simulator import Dialect, Fault, Simulator, StatusCost

from .helpers import LINK, call, tick

INTEGRATION = Path(__file__).parents[2] / "custom_components" / "happy_follower"
LOGGER_NAME = "custom_components.happy_follower"


def _lines(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    path = Path(hass.config.path(".storage", f"{DOMAIN}.{entry.entry_id}.ledger.jsonl"))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def _place(hass: HomeAssistant, entry: MockConfigEntry, count: int = 100) -> Any:
    return await call(hass, entry, "place_order", True, service_id=10, link=LINK, count=count)


async def _confirm(
    hass: HomeAssistant, entry: MockConfigEntry, context: Context | None = None, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "confirm_price",
        {"config_entry_id": entry.entry_id, "service_id": 10, **data},
        blocking=True,
        return_response=True,
        context=context,
    )


def _issue_id(entry: MockConfigEntry, service_id: int = 10) -> str:
    return f"price_changed_{entry.entry_id}_{service_id}"


def _anomalies_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == LOGGER_NAME and record.levelno == logging.WARNING
    ]


@pytest.mark.parametrize("options", [{CONF_MAX_SPEND_PER_DAY: 1000.0}])
async def test_confirmed_price_bounds_a_capped_order(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    hass_admin_user: User,
) -> None:
    # Under a spend cap, no price a person stands behind: refused, and told how to fix it.
    with pytest.raises(ServiceValidationError) as err:
        await _place(hass, loaded_entry)
    assert err.value.translation_key == "cap_cost_unknown"
    assert "confirm price action" in str(err.value)
    assert not simulator.orders(api_key)

    # Persian digits and decimal separator, as a person types them in the text field.
    result = await _confirm(
        hass, loaded_entry, Context(user_id=hass_admin_user.id), service_id="۱۰", unit_price="۲٫۵"
    )
    assert result == {"service_id": 10, "unit_price": 2.5}
    price = _lines(hass, loaded_entry)[-1]
    assert (price["event"], price["service_id"], price["unit_price"]) == ("price", 10, 2.5)
    assert price["confirmed_by"] == (
        f"Home Assistant user {hass_admin_user.name} ({hass_admin_user.id})"
    )

    placed = await _place(hass, loaded_entry)
    assert len(simulator.orders(api_key)) == 1
    assert placed["cost_bound"] == 250  # 100 at the confirmed 2.5
    assert placed["cost"] == 200  # what the simulator charged (2 per unit)
    # Less than the bound: shown, and the order counts at its bound anyway.
    assert "below the order's bound of 250" in placed["anomaly"]
    usage = loaded_entry.runtime_data.guard.usage()
    assert usage.spent + usage.reserved == 250


async def test_confirm_price_is_for_admins(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_read_only_user: User
) -> None:
    with pytest.raises(Unauthorized):
        await _confirm(hass, loaded_entry, Context(user_id=hass_read_only_user.id), unit_price=2)
    assert not any(line["event"] == "price" for line in _lines(hass, loaded_entry))


async def test_confirm_price_without_a_price_or_an_offer(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    for data in ({}, {"unit_price": ""}, {"unit_price": None}):
        with pytest.raises(ServiceValidationError) as err:
            await _confirm(hass, loaded_entry, **data)
        assert err.value.translation_key == "no_price_offered"
        assert err.value.translation_placeholders == {"service_id": "10"}
        assert "Give the price per unit" in str(err.value)
    assert not any(line["event"] == "price" for line in _lines(hass, loaded_entry))


async def test_confirm_price_takes_the_price_seen_in_one_step(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await _place(hass, loaded_entry)  # no spend cap: placed, 200 for 100, so 2 per unit
    assert await _confirm(hass, loaded_entry) == {"service_id": 10, "unit_price": 2}
    assert loaded_entry.runtime_data.guard.unit_price(10) is not None


@pytest.mark.parametrize("price", ["abc", "-1", "0", "nan", "1,5"])
async def test_bad_price_is_refused_in_words(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, price: str
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await _confirm(hass, loaded_entry, unit_price=price)
    assert err.value.translation_key == "invalid_price"
    assert not any(line["event"] == "price" for line in _lines(hass, loaded_entry))


@pytest.mark.parametrize(
    "options", [{CONF_MAX_SPEND_PER_DAY: 100_000.0, CONF_UNIT_PRICES: "10 = 2"}]
)
async def test_held_service_repair_confirms_the_price_it_charged(
    hass: HomeAssistant,
    hass_client: Any,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    simulator.set_unit_price(10, 3)  # the vendor's price rises above the operator's
    placed = await _place(hass, loaded_entry)
    assert (placed["cost"], placed["cost_bound"]) == (300, 200)
    assert "above the order's bound of 200" in placed["anomaly"]

    issue = issue_registry.async_get_issue(DOMAIN, _issue_id(loaded_entry))
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "title": "\u2068Happy Follower\u2069",
        "service_id": "10",
        "unit_price": "3",
        "unit": "Toman",
    }

    # The service is held: refused, nothing sent, and the refusal says what happened.
    with pytest.raises(ServiceValidationError) as err:
        await _place(hass, loaded_entry)
    assert err.value.translation_key == "cap_price_changed"
    assert (err.value.translation_placeholders or {}).get("unit_price") == "3"
    message = str(err.value)
    assert "Service 10 charged 3 Toman per unit" in message
    assert "{" not in message
    assert len(simulator.orders(api_key)) == 1

    # One click in Repairs confirms the price it charged, shown in the form.
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"]["unit_price"] == "3"
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert (await response.json())["type"] == "create_entry"
    assert issue_registry.async_get_issue(DOMAIN, issue.issue_id) is None
    price = _lines(hass, loaded_entry)[-1]
    assert (price["event"], price["unit_price"]) == ("price", 3.0)
    assert price["confirmed_by"] == CONFIRMED_IN_REPAIRS

    # Orders go on, bounded at the confirmed price; no issue comes back.
    placed = await _place(hass, loaded_entry)
    assert (placed["cost"], placed["cost_bound"], placed["anomaly"]) == (300, 300, None)
    assert len(simulator.orders(api_key)) == 2
    await tick(hass, 6)
    assert issue_registry.async_get_issue(DOMAIN, issue.issue_id) is None


@pytest.mark.parametrize("options", [{CONF_UNIT_PRICES: "10 = 2"}])
async def test_hold_found_by_a_status_refresh(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first status cannot be read; the coordinator's refresh reads what it charged."""
    simulator.set_unit_price(10, 3)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await _place(hass, loaded_entry)
    assert (placed["cost"], placed["anomaly"]) == (None, None)
    assert issue_registry.async_get_issue(DOMAIN, _issue_id(loaded_entry)) is None

    await tick(hass, 6)
    assert issue_registry.async_get_issue(DOMAIN, _issue_id(loaded_entry)) is not None
    assert loaded_entry.runtime_data.guard.held_services() == {10: 3.0}
    logged = [text for text in _anomalies_logged(caplog) if "above the order's bound" in text]
    assert logged == [
        f"Happy Follower order {placed['order_id']}: the service charged 300, "
        "above the order's bound of 200"
    ]
    await tick(hass, 6)  # the same status again: not logged again
    assert len([t for t in _anomalies_logged(caplog) if "above the order's bound" in t]) == 1

    # The action confirms the price it charged (no price given): the issue goes.
    assert await _confirm(hass, loaded_entry) == {"service_id": 10, "unit_price": 3}
    assert issue_registry.async_get_issue(DOMAIN, _issue_id(loaded_entry)) is None
    assert loaded_entry.runtime_data.guard.held_services() == {}


@pytest.mark.parametrize("options", [{CONF_UNIT_PRICES: "10 = 2"}])
async def test_a_status_without_a_cost_is_an_anomaly_logged_once(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.dialect = Dialect(status_cost=StatusCost.MISSING)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await _place(hass, loaded_entry)
    order_id = placed["order_id"]
    await tick(hass, 6)  # the coordinator reads a status that gives no cost
    lines = [line for line in _lines(hass, loaded_entry) if line["event"] == "cost"]
    assert [(line["order_id"], line["cost"], line["anomaly"]) for line in lines] == [
        (order_id, None, "the status gave no cost")
    ]
    assert _anomalies_logged(caplog) == [
        f"Happy Follower order {order_id}: the status gave no cost"
    ]
    await tick(hass, 6)
    await tick(hass, 6)
    assert len(_anomalies_logged(caplog)) == 1
    assert len([line for line in _lines(hass, loaded_entry) if line["event"] == "cost"]) == 1
    # It still counts at its bound.
    usage = loaded_entry.runtime_data.guard.usage()
    assert usage.spent + usage.reserved == 200


@pytest.mark.parametrize("options", [{CONF_UNIT_PRICES: "10 = 2"}])
async def test_anomaly_of_the_first_status_is_in_the_response(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    simulator.dialect = Dialect(status_cost=StatusCost.MISSING)
    placed = await _place(hass, loaded_entry)
    assert (placed["cost"], placed["cost_bound"]) == (None, 200)
    assert placed["anomaly"] == "the status gave no cost"


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", text))


def test_every_refusal_has_a_translated_message() -> None:
    """One cap_<refusal> message per Refusal, with the same placeholders in each language."""
    languages = {
        language: json.loads(
            (INTEGRATION / "translations" / f"{language}.json").read_text(encoding="utf-8")
        )["exceptions"]
        for language in ("en", "fa")
    }
    for refusal in Refusal:
        key = f"cap_{refusal.value}"
        english, persian = languages["en"].get(key), languages["fa"].get(key)
        assert english is not None, key
        assert persian is not None, key
        assert _placeholders(english["message"]) == _placeholders(persian["message"]), key
    # The spend cap's refusal gives every figure the guard decided with.
    assert _placeholders(languages["en"]["cap_max_spend_per_day"]["message"]) == {
        "bound",
        "spent",
        "reserved",
        "room",
        "max_spend",
        "unit",
    }


@pytest.mark.parametrize(
    "options", [{CONF_MAX_SPEND_PER_DAY: 2_000_000.0, CONF_UNIT_PRICES: "10 = 10000"}]
)
async def test_spend_refusal_gives_its_figures_in_both_languages(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    simulator_price = 2  # charged 200 for 100: it counts at its bound of 1,000,000
    await _place(hass, loaded_entry)
    with pytest.raises(ServiceValidationError) as err:
        await _place(hass, loaded_entry, count=150)  # bound 1,500,000; 1,000,000 left
    assert err.value.translation_key == "cap_max_spend_per_day"
    placeholders = err.value.translation_placeholders or {}
    assert placeholders == {
        **placeholders,
        "bound": "1,500,000",  # never 1.5e+06
        "spent": "200",
        "reserved": f"{1_000_000 - 100 * simulator_price:,}",
        "room": "1,000,000",
        "max_spend": "2,000,000",
        "unit": "Toman",
    }
    assert "{" not in str(err.value)
    # In Persian (Home Assistant's system language): Persian digits, تومان.
    hass.config.language = "fa"
    with pytest.raises(ServiceValidationError) as err:
        await _place(hass, loaded_entry, count=150)
    placeholders = err.value.translation_placeholders or {}
    persian = await async_get_translations(hass, "fa", "exceptions", [DOMAIN])
    text = persian[f"component.{DOMAIN}.exceptions.cap_max_spend_per_day.message"]
    rendered = text.format(**placeholders)
    assert "۱٬۵۰۰٬۰۰۰ تومان" in rendered
    assert "{" not in rendered


@pytest.mark.parametrize("options", [{CONF_UNIT_PRICES: "10 = 2"}])
async def test_repair_confirms_only_what_it_showed(
    hass: HomeAssistant,
    hass_client: Any,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A price confirmed elsewhere while the repair's form is open: submitting it does not
    confirm the price the form showed over it."""
    simulator.set_unit_price(10, 3)
    await _place(hass, loaded_entry)
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": _issue_id(loaded_entry)}
    )
    flow = await response.json()
    assert flow["description_placeholders"]["unit_price"] == "3"

    assert await _confirm(hass, loaded_entry, unit_price="4") == {"service_id": 10, "unit_price": 4}
    assert issue_registry.async_get_issue(DOMAIN, _issue_id(loaded_entry)) is None

    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    result = await response.json()
    assert (result["type"], result["reason"]) == ("abort", "price_confirmed")
    prices = [line["unit_price"] for line in _lines(hass, loaded_entry) if line["event"] == "price"]
    assert prices == [4.0]
