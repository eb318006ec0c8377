"""Hostile text in the forms: a form error or the old value, never an exception logged.

Property tests over the config flow's API key and every field of the options flow, with
control characters, bidi overrides, zero-width characters, NaN and infinity spelled out
and huge numbers. Few examples each, so the file runs in seconds.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from typing import Any

import pytest
import voluptuous as vol
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.happy_follower.const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_ASSISTANTS_MAY_ORDER,
    CONF_CREDIT_UNIT,
    CONF_FINAL_RETENTION_HOURS,
    CONF_LOW_CREDIT_THRESHOLD,
    CONF_MAX_COUNT_PER_ORDER,
    CONF_MAX_ORDERS_PER_DAY,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
    DOMAIN,
)
from custom_components.happy_follower.spending import spend_caps
from shared_client.simulator import Simulator

from .conftest import entry_data
from .helpers import LINK, call
from .test_options_caps import SAVED, SHOWN

HOSTILE_CHARS = st.sampled_from(
    [
        "\r", "\n", "\x00", "\x07", "\x1b", "\x7f", "\x85",  # control
        "\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "\u200e", "\u061c",  # bidi
        "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width
    ]
)  # fmt: skip
NOT_FINITE = st.sampled_from(
    ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "۱e۳۰۹", "1e999999"]
)
HUGE = st.integers(min_value=10**18, max_value=10**400).map(str) | st.sampled_from(
    ["9" * 5000, "1" + "0" * 400 + ".5", "۹" * 400]
)


@st.composite
def spoiled(draw: st.DrawFn, value: str, *, inside: bool = False) -> str:
    """``value`` with hostile characters put in somewhere (``inside``: not at its ends,
    where a line break is trimmed as the copy-and-paste leftover it is)."""
    text = value
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=int(inside), max_value=len(text) - int(inside)))
        text = text[:at] + draw(HOSTILE_CHARS) + text[at:]
    return text


def _hostile(shown: str) -> st.SearchStrategy[str]:
    return spoiled(shown) | NOT_FINITE | HUGE


FIELDS = st.sampled_from(list(SHOWN))
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _no_exception_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@EXAMPLES
@given(key=st.text(min_size=1, max_size=8) | st.just("") | NOT_FINITE, data=st.data())
async def test_config_flow_api_key(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
    key: str,
    data: st.DataObject,
) -> None:
    hostile = data.draw(spoiled(api_key, inside=True) | st.just(key))
    caplog.clear()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**entry_data(simulator, api_key), CONF_API_KEY: hostile}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    hass.config_entries.flow.async_abort(result["flow_id"])
    _no_exception_logged(caplog)
    assert hass.config_entries.async_entries(DOMAIN) == []


@EXAMPLES
@given(data=st.data())
async def test_config_flow_api_root(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    root = data.draw(spoiled(simulator.base_url, inside=True) | NOT_FINITE | HUGE)
    sent = len(simulator.requests)
    caplog.clear()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**entry_data(simulator, api_key), CONF_ADVANCED: {CONF_API_ROOT: root}}
    )
    _no_exception_logged(caplog)
    if result["type"] is FlowResultType.CREATE_ENTRY:
        # Only direction marks copied from Persian text around a root are dropped; the root
        # saved is the one typed without them.
        saved = result["data"][CONF_ADVANCED][CONF_API_ROOT]
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_remove(entry.entry_id)
        assert saved == simulator.base_url
        return
    assert result["type"] is FlowResultType.FORM, result.get("reason")
    assert result["errors"] == {"base": "invalid_api_root"}
    hass.config_entries.flow.async_abort(result["flow_id"])
    assert simulator.requests[sent:] == []
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.fixture
def options() -> dict[str, Any]:
    return dict(SAVED)


@EXAMPLES
@given(field=FIELDS, data=st.data())
async def test_options_flow_fields(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    field: str,
    data: st.DataObject,
) -> None:
    value = data.draw(_hostile(str(SHOWN[field])))
    caplog.clear()
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**SHOWN, field: value}
    )
    await hass.async_block_till_done()
    _no_exception_logged(caplog)
    if result["type"] is FlowResultType.FORM:
        assert set(result["errors"]) == {field}  # refused, said on the field itself
        assert dict(loaded_entry.options) == SAVED
        hass.config_entries.options.async_abort(result["flow_id"])
        return
    # Accepted: what was saved is readable, and the guard enforces exactly it.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    saved = loaded_entry.options[field]
    enforced = loaded_entry.runtime_data.guard.caps == spend_caps(loaded_entry.options)
    hass.config_entries.async_update_entry(loaded_entry, options=dict(SAVED))
    await hass.async_block_till_done()  # the next example starts from the saved options
    assert enforced
    if field in (CONF_CREDIT_UNIT, CONF_UNIT_PRICES):
        assert isinstance(saved, str)
        # No control, bidi or zero-width character kept (a line break between prices is).
        assert all(unicodedata.category(char)[0] != "C" for char in saved.replace("\n", ""))
    else:
        assert isinstance(saved, int | float)
        assert math.isfinite(saved)


def test_the_fields_are_all_covered() -> None:
    assert set(SHOWN) == {
        CONF_CREDIT_UNIT,
        CONF_LOW_CREDIT_THRESHOLD,
        CONF_MAX_COUNT_PER_ORDER,
        CONF_MAX_ORDERS_PER_DAY,
        CONF_MAX_SPEND_PER_DAY,
        CONF_UNIT_PRICES,
        CONF_FINAL_RETENTION_HOURS,
        CONF_ASSISTANTS_MAY_ORDER,
    }


ACTION_FIELDS = {
    "place_order": {"service_id": "10", "link": LINK, "count": "100"},
    "confirm_price": {"service_id": "10", "unit_price": "2.5"},
    "get_order_status": {"order_id": "12"},
    "recheck_order": {"order_id": "12"},
    "cancel_order": {"order_id": "12"},
    "track_order": {"order_id": "12"},
    "untrack_order": {"order_id": "12"},
}
RESPONDS = {"place_order", "confirm_price", "get_order_status"}
ACTION_FIELD = st.sampled_from(
    [(action, field) for action, fields in ACTION_FIELDS.items() for field in fields]
)


@EXAMPLES
@given(action_field=ACTION_FIELD, data=st.data())
async def test_action_fields(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
    action_field: tuple[str, str],
    data: st.DataObject,
) -> None:
    """A hostile value in any field of any action is refused before anything is sent."""
    action, field = action_field
    fields = ACTION_FIELDS[action]
    value = data.draw(spoiled(fields[field], inside=True) | NOT_FINITE | HUGE)
    tracked = dict(loaded_entry.runtime_data.store.orders)
    sent = len(simulator.requests)
    caplog.clear()
    with pytest.raises((ServiceValidationError, vol.Invalid)) as refused:
        await call(hass, loaded_entry, action, action in RESPONDS, **{**fields, field: value})
    _no_exception_logged(caplog)
    assert simulator.requests[sent:] == []  # nothing reached the vendor
    assert loaded_entry.runtime_data.store.orders == tracked
    assert str(refused.value)  # a message that says what was wrong
