"""The options' caps and prices: Persian digits read, nothing unreadable saved as "no cap".

A person types a cap in the options form; what the spend guard then enforces is asserted on
the guard itself (``runtime_data.guard.caps``) after the reload the options cause.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.happy_follower.const import (
    CONF_ASSISTANTS_MAY_ORDER,
    CONF_CREDIT_UNIT,
    CONF_FINAL_RETENTION_HOURS,
    CONF_LOW_CREDIT_THRESHOLD,
    CONF_MAX_COUNT_PER_ORDER,
    CONF_MAX_ORDERS_PER_DAY,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
)
from custom_components.happy_follower.spending import spend_caps
from shared_client.guard import SpendCaps

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "happy_follower"
# What is saved before each test: every cap set, two prices.
SAVED: dict[str, Any] = {
    CONF_CREDIT_UNIT: "Toman",
    CONF_LOW_CREDIT_THRESHOLD: 100.0,
    CONF_MAX_COUNT_PER_ORDER: 200,
    CONF_MAX_ORDERS_PER_DAY: 5,
    CONF_MAX_SPEND_PER_DAY: 500.0,
    CONF_UNIT_PRICES: "10 = 2.5\n11 = 4",
    CONF_FINAL_RETENTION_HOURS: 24,
    CONF_ASSISTANTS_MAY_ORDER: False,
}
SAVED_CAPS = SpendCaps(
    max_count_per_order=200,
    max_orders_per_day=5,
    max_spend_per_day=500.0,
    unit_prices={10: 2.5, 11: 4.0},
)
# The form as it shows those options: what a person submits when they change nothing.
SHOWN = {
    CONF_CREDIT_UNIT: "Toman",
    CONF_LOW_CREDIT_THRESHOLD: "100",
    CONF_MAX_COUNT_PER_ORDER: "200",
    CONF_MAX_ORDERS_PER_DAY: "5",
    CONF_MAX_SPEND_PER_DAY: "500",
    CONF_UNIT_PRICES: "10 = 2.5\n11 = 4",
    CONF_FINAL_RETENTION_HOURS: "24",
    CONF_ASSISTANTS_MAY_ORDER: False,
}
# The same options in a Persian system: Persian digits, the unit by its Persian name, and
# each price line opened by a left-to-right mark (in the right-to-left field, "10 = 2.5"
# would read "2.5 = 10").
LRM = "\u200e"
SHOWN_FA = {
    CONF_CREDIT_UNIT: "تومان",
    CONF_LOW_CREDIT_THRESHOLD: "۱۰۰",
    CONF_MAX_COUNT_PER_ORDER: "۲۰۰",
    CONF_MAX_ORDERS_PER_DAY: "۵",
    CONF_MAX_SPEND_PER_DAY: "۵۰۰",
    CONF_UNIT_PRICES: f"{LRM}۱۰ = ۲٫۵\n{LRM}۱۱ = ۴",
    CONF_FINAL_RETENTION_HOURS: "۲۴",
    CONF_ASSISTANTS_MAY_ORDER: False,
}
CAPS = (CONF_MAX_COUNT_PER_ORDER, CONF_MAX_ORDERS_PER_DAY, CONF_MAX_SPEND_PER_DAY)
NUMBERS = (*CAPS, CONF_LOW_CREDIT_THRESHOLD, CONF_FINAL_RETENTION_HOURS)
NON_FINITE = ("nan", "NaN", "inf", "-inf", "Infinity", "1e309", "۱e۳۰۹")
HIDDEN = ("\u200f500", "5\u200b00", "\u202e005", "500\u200e", "\u2066500\u2069", "5\x0000")


@pytest.fixture
def options() -> dict[str, Any]:
    return dict(SAVED)


def _shown(result: Any) -> dict[str, Any]:
    """The form's fields as the browser fills them (their suggested values)."""
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


async def _submit(hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any]) -> Any:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(result["flow_id"], data)
    await hass.async_block_till_done()
    return result


def _caps(entry: MockConfigEntry) -> SpendCaps:
    """What the spend guard enforces, checked to be what the saved options say."""
    caps = entry.runtime_data.guard.caps
    assert caps == spend_caps(entry.options)
    return caps


def _unchanged(entry: MockConfigEntry) -> None:
    assert dict(entry.options) == SAVED
    assert _caps(entry) == SAVED_CAPS


async def test_the_form_shows_what_is_saved_and_saves_it_unchanged(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert _shown(result) == SHOWN
    result = await hass.config_entries.options.async_configure(result["flow_id"], SHOWN)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    _unchanged(loaded_entry)


async def test_the_persian_form_shows_persian_and_saves_it_unchanged(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    hass.config.language = "fa"
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert _shown(result) == SHOWN_FA
    result = await hass.config_entries.options.async_configure(result["flow_id"], SHOWN_FA)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    _unchanged(loaded_entry)  # "تومان" sent back is the saved "Toman"


@pytest.mark.parametrize(
    ("language", "unit", "shown"),
    [
        ("fa", "IRR", "ریال"),
        ("fa", "تومان", "تومان"),
        ("en", "تومان", "Toman"),
        ("en", "ریال", "rials"),
        ("fa", "USDT", "USDT"),  # a unit of no known name: as saved
    ],
)
async def test_the_unit_is_shown_by_its_name_and_saved_back_as_it_was(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, language: str, unit: str, shown: str
) -> None:
    hass.config.language = language
    saved = {**SAVED, CONF_CREDIT_UNIT: unit}
    hass.config_entries.async_update_entry(loaded_entry, options=saved)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    form = _shown(result)
    assert form[CONF_CREDIT_UNIT] == shown
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(loaded_entry.options) == saved


async def test_a_persian_unit_typed_over_toman_is_saved_as_typed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    hass.config.language = "fa"
    result = await _submit(hass, loaded_entry, {**SHOWN_FA, CONF_CREDIT_UNIT: "ریال"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_CREDIT_UNIT] == "ریال"


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        (f"{LRM}۱۰ = ۳\r\n{LRM}۲۰ = ۱٬۰۰۰", None),  # the marks where the form puts them
        (f"۱۰ = ۳{LRM}", "hidden_characters"),
        (f"۱۰ {LRM}= ۳", "hidden_characters"),
        (f"{LRM}{LRM}۱۰ = ۳", "hidden_characters"),
        ("\u200f۱۰ = ۳", "hidden_characters"),  # a right-to-left mark: not the form's
    ],
)
async def test_the_left_to_right_mark_is_read_only_where_the_form_puts_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, typed: str, error: str | None
) -> None:
    hass.config.language = "fa"
    result = await _submit(hass, loaded_entry, {**SHOWN_FA, CONF_UNIT_PRICES: typed})
    if error is None:
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert loaded_entry.options[CONF_UNIT_PRICES] == "10 = 3\n20 = 1000"  # saved unmarked
        assert dict(_caps(loaded_entry).unit_prices) == {10: 3.0, 20: 1000.0}
    else:
        assert result["errors"] == {CONF_UNIT_PRICES: error}
        _unchanged(loaded_entry)


@pytest.mark.parametrize(
    ("field", "typed", "saved"),
    [
        (CONF_MAX_COUNT_PER_ORDER, "۵۰۰", 500),
        (CONF_MAX_COUNT_PER_ORDER, "۱٬۰۰۰", 1000),  # U+066C, the Persian thousands separator
        (CONF_MAX_COUNT_PER_ORDER, "١،٠٠٠", 1000),  # Arabic-Indic digits, the Arabic comma
        (CONF_MAX_COUNT_PER_ORDER, "10,000,000", 10_000_000),
        (CONF_MAX_ORDERS_PER_DAY, "۱۲", 12),
        (CONF_MAX_ORDERS_PER_DAY, "٣", 3),
        (CONF_MAX_SPEND_PER_DAY, "۵۰۰", 500.0),
        (CONF_MAX_SPEND_PER_DAY, "۱٬۰۰۰٬۰۰۰", 1_000_000.0),
        (CONF_MAX_SPEND_PER_DAY, "1,000", 1000.0),
        (CONF_MAX_SPEND_PER_DAY, "۲٬۵۰۰٫۵", 2500.5),  # U+066B, the decimal separator
        (CONF_MAX_SPEND_PER_DAY, " 750.25 ", 750.25),
        (CONF_LOW_CREDIT_THRESHOLD, "۵۰٬۰۰۰", 50_000.0),
        (CONF_LOW_CREDIT_THRESHOLD, "۰", 0.0),
        (CONF_FINAL_RETENTION_HOURS, "۴۸", 48),
    ],
)
async def test_persian_digits_and_grouping_are_saved_as_the_number(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, field: str, typed: str, saved: Any
) -> None:
    result = await _submit(hass, loaded_entry, {**SHOWN, field: typed})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[field] == saved
    assert type(loaded_entry.options[field]) is type(saved)
    caps = _caps(loaded_entry)
    if field in CAPS:
        assert getattr(caps, field) == saved
    # The form then shows the number in plain digits.
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert _shown(result)[field] == (str(int(saved)) if saved == int(saved) else str(saved))


@pytest.mark.parametrize(
    ("typed", "prices", "shown"),
    [
        ("۱۰ = ۲٫۵\n۲۰=۱٬۰۰۰", {10: 2.5, 20: 1000.0}, "10 = 2.5\n20 = 1000"),
        ("10=0.5,20=1,200", {10: 0.5, 20: 1200.0}, "10 = 0.5\n20 = 1200"),
        ("١٠=٣، ٢٠=٤", {10: 3.0, 20: 4.0}, "10 = 3\n20 = 4"),
        ("10 = 1٬000; 11 = 2\n\n", {10: 1000.0, 11: 2.0}, "10 = 1000\n11 = 2"),
    ],
)
async def test_unit_prices_in_persian_digits_with_grouping(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    typed: str,
    prices: dict[int, float],
    shown: str,
) -> None:
    result = await _submit(hass, loaded_entry, {**SHOWN, CONF_UNIT_PRICES: typed})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(_caps(loaded_entry).unit_prices) == prices
    assert loaded_entry.options[CONF_UNIT_PRICES] == shown


async def test_a_json_number_from_an_api_client_is_read_too(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await _submit(
        hass, loaded_entry, {**SHOWN, CONF_MAX_SPEND_PER_DAY: 900, CONF_MAX_COUNT_PER_ORDER: 300}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (_caps(loaded_entry).max_spend_per_day, _caps(loaded_entry).max_count_per_order) == (
        900.0,
        300,
    )


async def test_an_empty_submission_keeps_every_saved_value_and_says_so(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """What Home Assistant hands the flow when it cannot read a submission."""
    result = await _submit(hass, loaded_entry, {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        CONF_CREDIT_UNIT: "invalid_unit",
        CONF_LOW_CREDIT_THRESHOLD: "value_missing",
        CONF_MAX_COUNT_PER_ORDER: "cap_missing",
        CONF_MAX_ORDERS_PER_DAY: "cap_missing",
        CONF_MAX_SPEND_PER_DAY: "cap_missing",
        CONF_UNIT_PRICES: "unit_prices_missing",
        CONF_FINAL_RETENTION_HOURS: "value_missing",
    }
    # The form shows the saved values again, and nothing changed.
    assert _shown(result) == SHOWN
    _unchanged(loaded_entry)


@pytest.mark.parametrize("field", [*NUMBERS, CONF_UNIT_PRICES])
@pytest.mark.parametrize("how", ["missing", "", "   ", None])
async def test_an_empty_or_missing_field_keeps_the_saved_value(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, field: str, how: str | None
) -> None:
    data = dict(SHOWN)
    if how == "missing":
        del data[field]
    else:
        data[field] = how
    result = await _submit(hass, loaded_entry, data)
    assert result["type"] is FlowResultType.FORM
    expected = (
        "cap_missing"
        if field in CAPS
        else "unit_prices_missing"
        if field == CONF_UNIT_PRICES
        else "value_missing"
    )
    assert result["errors"] == {field: expected}
    assert _shown(result)[field] == SHOWN[field]
    _unchanged(loaded_entry)


@pytest.mark.parametrize("field", NUMBERS)
@pytest.mark.parametrize("typed", NON_FINITE)
async def test_non_finite_numbers_are_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, field: str, typed: str
) -> None:
    result = await _submit(hass, loaded_entry, {**SHOWN, field: typed})
    assert result["errors"] == {field: "not_finite"}
    assert _shown(result)[field] == typed  # left for the person to correct
    _unchanged(loaded_entry)


@pytest.mark.parametrize("field", NUMBERS)
@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
async def test_non_finite_json_numbers_are_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, field: str, number: float
) -> None:
    result = await _submit(hass, loaded_entry, {**SHOWN, field: number})
    assert result["errors"] == {field: "not_finite"}
    _unchanged(loaded_entry)


@pytest.mark.parametrize("typed", NON_FINITE)
async def test_non_finite_prices_are_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, typed: str
) -> None:
    result = await _submit(hass, loaded_entry, {**SHOWN, CONF_UNIT_PRICES: f"10 = {typed}"})
    assert result["errors"] == {CONF_UNIT_PRICES: "invalid_unit_prices"}
    _unchanged(loaded_entry)


@pytest.mark.parametrize("field", [*NUMBERS, CONF_UNIT_PRICES, CONF_CREDIT_UNIT])
@pytest.mark.parametrize("typed", HIDDEN)
async def test_hidden_characters_are_refused(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, field: str, typed: str
) -> None:
    value = f"10 = {typed}" if field == CONF_UNIT_PRICES else typed
    result = await _submit(hass, loaded_entry, {**SHOWN, field: value})
    assert result["errors"] == {field: "hidden_characters"}
    _unchanged(loaded_entry)


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        *((cap, "abc", "invalid_whole_cap") for cap in CAPS[:2]),
        *((cap, "0", "invalid_whole_cap") for cap in CAPS[:2]),
        *((cap, "-5", "invalid_whole_cap") for cap in CAPS[:2]),
        *((cap, "۲٫۵", "invalid_whole_cap") for cap in CAPS[:2]),
        (CONF_MAX_COUNT_PER_ORDER, "10,000,001", "invalid_whole_cap"),
        (CONF_MAX_ORDERS_PER_DAY, "1001", "invalid_whole_cap"),
        (CONF_MAX_SPEND_PER_DAY, "0", "invalid_amount"),
        (CONF_MAX_SPEND_PER_DAY, "-500", "invalid_amount"),
        (CONF_MAX_SPEND_PER_DAY, "abc", "invalid_amount"),
        # A decimal comma is not read as a ten times larger cap.
        (CONF_MAX_SPEND_PER_DAY, "1,5", "invalid_amount"),
        (CONF_MAX_SPEND_PER_DAY, "۱ ۰۰۰", "invalid_amount"),
        (CONF_MAX_SPEND_PER_DAY, "2/5", "invalid_amount"),
        (CONF_MAX_SPEND_PER_DAY, "no", "invalid_amount"),
        (CONF_MAX_SPEND_PER_DAY, "بدون", "invalid_amount"),
        (CONF_MAX_SPEND_PER_DAY, "1" + "0" * 400, "not_finite"),
        (CONF_LOW_CREDIT_THRESHOLD, "-1", "invalid_threshold"),
        (CONF_LOW_CREDIT_THRESHOLD, "none", "invalid_threshold"),
        (CONF_FINAL_RETENTION_HOURS, "721", "invalid_hours"),
        (CONF_FINAL_RETENTION_HOURS, "1.5", "invalid_hours"),
        (CONF_UNIT_PRICES, "10: 2", "invalid_unit_prices"),
        (CONF_UNIT_PRICES, "10 = 0", "invalid_unit_prices"),
        (CONF_UNIT_PRICES, ";", "invalid_unit_prices"),  # no pair at all is not "no prices"
        (CONF_UNIT_PRICES, "بدون سقف", "invalid_unit_prices"),
        (CONF_CREDIT_UNIT, "x" * 17, "invalid_unit"),
    ],
)
async def test_unreadable_values_are_refused_with_a_form_error(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, field: str, typed: str, error: str
) -> None:
    result = await _submit(hass, loaded_entry, {**SHOWN, field: typed})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    _unchanged(loaded_entry)


@pytest.mark.parametrize("word", ["none", "None", " NONE ", "بدون سقف", " بدون   سقف "])
async def test_a_cap_is_lifted_by_the_word(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, word: str
) -> None:
    result = await _submit(hass, loaded_entry, {**SHOWN, **dict.fromkeys(CAPS, word)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _caps(loaded_entry) == SpendCaps(unit_prices={10: 2.5, 11: 4.0})
    # A lifted cap shows empty, and the form submitted as shown keeps it lifted.
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    shown = _shown(result)
    assert not set(CAPS) & set(shown)
    result = await hass.config_entries.options.async_configure(result["flow_id"], shown)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _caps(loaded_entry) == SpendCaps(unit_prices={10: 2.5, 11: 4.0})
    # ... and a number typed there sets it again.
    result = await _submit(hass, loaded_entry, {**shown, CONF_MAX_SPEND_PER_DAY: "۳۰۰"})
    assert _caps(loaded_entry).max_spend_per_day == 300.0


@pytest.mark.parametrize("word", ["none", "بدون قیمت", "بدون قيمت"])  # Arabic yeh too
async def test_every_price_is_removed_by_the_word(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, word: str
) -> None:
    result = await _submit(hass, loaded_entry, {**SHOWN, CONF_UNIT_PRICES: word})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _caps(loaded_entry) == SpendCaps(
        max_count_per_order=200, max_orders_per_day=5, max_spend_per_day=500.0
    )
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert CONF_UNIT_PRICES not in _shown(result)


@pytest.mark.parametrize("options", [{}])
async def test_a_new_entry_shows_the_shared_defaults_and_no_spend_cap(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    shown = _shown(result)
    assert shown == {
        CONF_CREDIT_UNIT: "Toman",
        CONF_LOW_CREDIT_THRESHOLD: "0",
        CONF_MAX_COUNT_PER_ORDER: "1000",
        CONF_MAX_ORDERS_PER_DAY: "10",
        CONF_FINAL_RETENTION_HOURS: "24",
        CONF_ASSISTANTS_MAY_ORDER: False,
    }
    # Saved as shown: the defaults, and still no spend cap (nothing to keep there).
    result = await hass.config_entries.options.async_configure(result["flow_id"], shown)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _caps(loaded_entry) == SpendCaps(max_count_per_order=1000, max_orders_per_day=10)
    assert loaded_entry.options[CONF_MAX_SPEND_PER_DAY] is None
    # Then the Persian cap the browser's number box used to empty.
    result = await _submit(hass, loaded_entry, {**shown, CONF_MAX_SPEND_PER_DAY: "۵۰۰"})
    assert _caps(loaded_entry).max_spend_per_day == 500.0


async def test_over_http_nothing_breaks_and_nothing_is_dropped(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The frontend's own path: no answer is a server error, no field falls back to a default."""
    caplog.set_level(logging.WARNING)
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    base = "/api/config/config_entries/options/flow"

    async def post(body: Any) -> tuple[int, Any]:
        response = await client.post(base, json={"handler": loaded_entry.entry_id})
        flow_id = (await response.json())["flow_id"]
        if isinstance(body, bytes):
            response = await client.post(f"{base}/{flow_id}", data=body)
        else:
            response = await client.post(f"{base}/{flow_id}", json=body)
        return response.status, await response.json()

    # An empty body, or one Home Assistant cannot read as JSON: it hands the flow {}
    # (its reader finds the body consumed and takes it for empty). Every saved value stays.
    for body in (b"", b"{not json", b'{"max_spend_per_day": "500"'):
        status, answer = await post(body)
        assert status == 200
        assert answer["type"] == "form"
        assert answer["errors"][CONF_MAX_SPEND_PER_DAY] == "cap_missing"
        _unchanged(loaded_entry)
    # A value of the wrong kind: refused before the flow, never a 500.
    for body in (
        {**SHOWN, CONF_MAX_SPEND_PER_DAY: True},
        {**SHOWN, CONF_MAX_SPEND_PER_DAY: ["500"]},
        {**SHOWN, CONF_MAX_SPEND_PER_DAY: {"value": 500}},
        {**SHOWN, "unknown": "1"},
    ):
        status, _ = await post(body)
        assert status == 400, body
    # NaN, Infinity and 1e309 as JSON numbers: unreadable to Home Assistant's JSON reader,
    # so again {} (the flow refuses them as numbers too: see the test below).
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e309"):
        status, answer = await post(b'{"max_spend_per_day": ' + literal + b"}")
        assert status == 200
        assert answer["errors"][CONF_MAX_SPEND_PER_DAY] == "cap_missing"
        _unchanged(loaded_entry)
    # Persian digits over HTTP, as the browser's text field sends them.
    status, answer = await post({**SHOWN, CONF_MAX_SPEND_PER_DAY: "۱٬۲۰۰"})
    assert (status, answer["type"]) == (200, "create_entry")
    await hass.async_block_till_done()
    assert _caps(loaded_entry).max_spend_per_day == 1200.0
    assert not [record for record in caplog.records if record.exc_info]


def test_persian_form_errors_end_with_a_persian_letter() -> None:
    """Home Assistant shows a form error in a left-to-right box: a closing period or
    guillemet after Persian text would jump to the start of the line."""
    errors = json.loads((INTEGRATION / "translations" / "fa.json").read_text(encoding="utf-8"))[
        "options"
    ]["error"]
    for key, text in errors.items():
        assert unicodedata.bidirectional(text[-1]) == "AL", key


async def test_assistants_may_order_only_under_a_spend_cap_and_a_missing_answer_keeps_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await _submit(
        hass,
        loaded_entry,
        {**SHOWN, CONF_ASSISTANTS_MAY_ORDER: True, CONF_MAX_SPEND_PER_DAY: "none"},
    )
    assert result["errors"] == {CONF_ASSISTANTS_MAY_ORDER: "assistants_need_spend_cap"}
    _unchanged(loaded_entry)
    result = await _submit(hass, loaded_entry, {**SHOWN, CONF_ASSISTANTS_MAY_ORDER: True})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_ASSISTANTS_MAY_ORDER] is True
    # A submission without the field (an unreadable form) keeps it; only a "no" turns it off.
    shown = {key: value for key, value in SHOWN.items() if key != CONF_ASSISTANTS_MAY_ORDER}
    await _submit(hass, loaded_entry, shown)
    assert loaded_entry.options[CONF_ASSISTANTS_MAY_ORDER] is True
    await _submit(hass, loaded_entry, {**SHOWN, CONF_ASSISTANTS_MAY_ORDER: False})
    assert loaded_entry.options[CONF_ASSISTANTS_MAY_ORDER] is False
