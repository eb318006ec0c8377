"""Home Assistant in Persian: no English word inside a Persian text, and no library message
(always English) reaching a person. Every exception and repair key is rendered in Persian
as the frontend renders it (the translation, formatted with the placeholders the
integration made), from real library errors and real actions with the system language
set to Persian."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.happy_follower.const import (
    CONF_LOW_CREDIT_THRESHOLD,
    CONF_MAX_COUNT_PER_ORDER,
    CONF_MAX_ORDERS_PER_DAY,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
    DOMAIN,
)
from custom_components.happy_follower.errors import INPUT_KEYS, to_ha_error
from custom_components.happy_follower.texts import moment, solar_hijri
from shared_client import errors
from shared_client.errors import Refusal
from shared_client.ledger import AuditEvent, AuditRecord, Ledger
from shared_client.simulator import Fault, Simulator

from .helpers import LINK, call

INTEGRATION = Path(__file__).parents[2] / "custom_components" / "happy_follower"
FSI, PDI = "\u2068", "\u2069"

# The only Latin words a Persian text may hold, each inside an isolate (FSI … PDI) so that
# it cannot reorder the sentence, and each because Persian has no word for it:
ALLOWED_LATIN = {
    # The product's name: Home Assistant's own Persian interface writes it in Latin.
    "Home Assistant",
    # The vendor's Persian documentation and panel call the key «کلید API»: the word the
    # user looks for there.
    "API",
    # A web address, and the schemes a web address is typed with.
    "happy-follower.com",
    "http",
    "https",
    # A protocol's name (Model Context Protocol), which has no Persian name.
    "MCP",
    # The currency code a person may type in the unit field.
    "IRR",
}
# What a person reads in Persian (the `entity` and `device` names are checked with them).
PERSIAN_SECTIONS = ("config", "options", "exceptions", "issues", "services", "selector")
_PLACEHOLDER = re.compile(r"\{\w+\}")
_ISOLATE = re.compile(f"{FSI}[^{FSI}{PDI}]*{PDI}")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9.\-]*")


def _texts(tree: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _texts(value, f"{path}.{key}" if path else key)
    else:
        yield path, str(tree)


def _latin_outside_allowed_isolates(text: str) -> list[str]:
    text = _PLACEHOLDER.sub("", text)
    for term in ALLOWED_LATIN:
        text = text.replace(f"{FSI}{term}{PDI}", "")
    return _LATIN_WORD.findall(text)


def _persian() -> dict[str, Any]:
    tree: dict[str, Any] = json.loads((INTEGRATION / "translations" / "fa.json").read_text())
    return tree


def test_persian_translations_hold_no_english_word() -> None:
    """Latin letters in fa.json only in {placeholders} and in the allowed, isolated terms."""
    found = {
        path: words
        for section in PERSIAN_SECTIONS
        for path, text in _texts(_persian()[section], section)
        if (words := _latin_outside_allowed_isolates(text))
    }
    assert found == {}


def test_the_check_finds_english_words() -> None:
    """The rule above catches what it is for, and lets the allowed spellings through."""
    assert _latin_outside_allowed_isolates("سرویس {service_id} is not active") == [
        "is",
        "not",
        "active",
    ]
    assert _latin_outside_allowed_isolates("کلید API را وارد کنید") == ["API"]  # not isolated
    assert _latin_outside_allowed_isolates(f"کلید {FSI}API{PDI} در {FSI}{{url}}{PDI}") == []


def _latin_outside_isolates(text: str) -> list[str]:
    return _LATIN_WORD.findall(_ISOLATE.sub("", text))


def _assert_persian(rendered: str, values: dict[str, str], *, has_numbers: bool) -> None:
    """A message as a Persian speaker reads it: every placeholder filled, no Latin word and
    no Latin digit outside an isolate, the integration's numbers in Persian digits (an
    isolated value is someone else's text, shown as it is)."""
    assert "{" not in rendered, rendered
    assert _latin_outside_isolates(rendered) == [], rendered
    assert not re.search("[0-9]", _ISOLATE.sub("", rendered)), rendered
    own = {name: value for name, value in values.items() if not value.startswith(FSI)}
    assert {name: value for name, value in own.items() if re.search("[0-9]", value)} == {}
    if has_numbers:
        assert re.search("[۰-۹]", rendered), rendered


async def _render(hass: HomeAssistant, category: str, key: str, values: dict[str, str]) -> str:
    """A translation in Persian with its placeholders, as the frontend shows it."""
    persian = await async_get_translations(hass, "fa", category, [DOMAIN])
    return persian[f"component.{DOMAIN}.{category}.{key}"].format(**values)


async def _render_error(hass: HomeAssistant, err: HomeAssistantError) -> str:
    assert err.translation_key is not None
    values = err.translation_placeholders or {}
    return await _render(hass, "exceptions", f"{err.translation_key}.message", values)


# What an order action was given, as people type it, for the messages that quote it.
ASKED: dict[str, object] = {
    "service_id": "۱۰",
    "count": "۱٬۵۰۰",
    "max_count": 1000,
    "max_orders": 10,
    "max_spend": 2_000_000,
    "order_id": "١٢٣٤",
}
# Each library error as it happens, with the figures the guard and client give.
LIBRARY_ERRORS: list[errors.HappyFollowerError] = [
    errors.HappyFollowerAuthenticationError("The API key was refused"),
    errors.HappyFollowerConnectionError("Could not reach Happy Follower"),
    errors.HappyFollowerRateLimitError("Slow down", retry_after=None),
    errors.HappyFollowerRateLimitError("Slow down", retry_after=1.5),
    # Vendor text is data: English from the vendor stays, in an isolate.
    errors.HappyFollowerApiError(
        "refused", service_message="Invalid link: https://x.example/", http_status=400
    ),
    errors.HappyFollowerApiError("refused", service_message="لینک نامعتبر است", http_status=400),
    errors.HappyFollowerNotEnoughCreditError(
        "no credit", service_message="موجودی کافی نیست", http_status=400
    ),
    errors.HappyFollowerResponseError("HTML from a proxy"),
    errors.HappyFollowerSandboxUnsupportedError("no sandbox cancel"),
    errors.HappyFollowerOrderOutcomeUnknownError("timed out after sending"),
    errors.HappyFollowerLedgerError("disk full"),
    errors.HappyFollowerInputError("something else was refused"),
    errors.HappyFollowerUnknownServiceError(
        "service_id 99 is not an active service; list the services to choose one",
        field="service_id",
    ),
    *(
        errors.HappyFollowerInputError(f"{field} is wrong", field=field)
        for field in sorted(INPUT_KEYS)
    ),
    errors.HappyFollowerSpendCapError(
        "too many", cap=Refusal.MAX_COUNT_PER_ORDER, amounts={"count": 1500, "max_count": 1000}
    ),
    errors.HappyFollowerSpendCapError(
        "too many orders", cap=Refusal.MAX_ORDERS_PER_DAY, amounts={"orders": 10, "max_orders": 10}
    ),
    errors.HappyFollowerSpendCapError(
        "over the cap",
        cap=Refusal.MAX_SPEND_PER_DAY,
        amounts={
            "bound": 1_500_000,
            "spent": 200,
            "reserved": 999_800.5,
            "room": 1_000_000,
            "max_spend": 2_000_000,
        },
    ),
    errors.HappyFollowerSpendCapError(
        "no bound", cap=Refusal.COST_UNKNOWN, amounts={"service_id": 10, "unbounded": 1}
    ),
    errors.HappyFollowerSpendCapError(
        "price rose", cap=Refusal.PRICE_CHANGED, amounts={"service_id": 10, "unit_price": 0.0125}
    ),
    errors.HappyFollowerSpendCapError(
        "bound rose", cap=Refusal.COST_CHANGED, amounts={"confirmed": 1200, "bound": 1500}
    ),
    errors.HappyFollowerSpendCapError(
        "in doubt", cap=Refusal.POSSIBLE_DUPLICATE, amounts={"service_id": 10, "count": 100}
    ),
]


async def test_every_library_error_reads_in_persian(hass: HomeAssistant) -> None:
    """Each library error, through the integration's one mapping with Persian as the
    system language: no English and no Latin digit outside isolates; each key once at
    least, and every key the mapping can give is among them."""
    keys = set()
    for err in LIBRARY_ERRORS:
        ha_error = to_ha_error(err, "fa", ASKED, unit="Toman")
        keys.add(ha_error.translation_key)
        rendered = await _render_error(hass, ha_error)
        values = (ha_error.translation_placeholders or {}).values()
        shown = [value for value in values if value in rendered and re.search("[0-9۰-۹]", value)]
        _assert_persian(rendered, ha_error.translation_placeholders or {}, has_numbers=bool(shown))
    assert keys >= {f"cap_{refusal}" for refusal in Refusal} | set(INPUT_KEYS.values())
    rendered = await _render_error(hass, to_ha_error(LIBRARY_ERRORS[18], "fa", ASKED))
    assert "۱٬۵۰۰" in rendered
    assert "۱٬۰۰۰" in rendered
    spend = to_ha_error(LIBRARY_ERRORS[20], "fa", ASKED, unit="Toman")
    assert "۹۹۹٬۸۰۰٫۵ تومان" in await _render_error(hass, spend)
    # A price per unit is shown exactly (it is what a person confirms), not rounded.
    price = to_ha_error(LIBRARY_ERRORS[22], "fa", ASKED, unit="Toman")
    assert "۰٫۰۱۲۵ تومان" in await _render_error(hass, price)
    # The unknown service's message no longer quotes the library's English.
    unknown = to_ha_error(LIBRARY_ERRORS[12], "fa", ASKED)
    assert (unknown.translation_placeholders or {})["service_id"] == "۱۰"
    assert "active" not in await _render_error(hass, unknown)


async def test_english_messages_are_whole_too(hass: HomeAssistant) -> None:
    """The same errors in English: every placeholder filled, numbers grouped."""
    english = await async_get_translations(hass, "en", "exceptions", [DOMAIN])
    for err in LIBRARY_ERRORS:
        ha_error = to_ha_error(err, "en", ASKED, unit="Toman")
        text = english[f"component.{DOMAIN}.exceptions.{ha_error.translation_key}.message"]
        rendered = text.format(**(ha_error.translation_placeholders or {}))
        assert "{" not in rendered, rendered
        assert not re.search("[۰-۹]", rendered), rendered
    spend = to_ha_error(LIBRARY_ERRORS[20], "en", ASKED, unit="Toman")
    assert (spend.translation_placeholders or {})["bound"] == "1,500,000"
    assert (spend.translation_placeholders or {})["unit"] == "Toman"


@pytest.fixture
def persian(hass: HomeAssistant) -> None:
    """Home Assistant's system language set to Persian."""
    hass.config.language = "fa"


# Actions that answer (the others refuse to be asked for an answer).
_ANSWERING = frozenset({"place_order", "confirm_price", "get_order_status", "list_services"})


async def _action_error(hass: HomeAssistant, action: str, **data: Any) -> HomeAssistantError:
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, action, data, blocking=True, return_response=action in _ANSWERING
        )
    return err.value


@pytest.mark.usefixtures("persian")
async def test_action_refusals_read_in_persian(
    hass: HomeAssistant, simulator: Simulator, api_key: str, loaded_entry: MockConfigEntry
) -> None:
    """Real actions refused, in Persian: what the person typed, in Persian digits or
    isolated; the keys the actions raise themselves included."""
    entry = {"config_entry_id": loaded_entry.entry_id}
    order = {**entry, "service_id": 10, "link": LINK}
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("place_order", {**order, "count": "ده"}, "invalid_count"),
        ("place_order", {**order, "count": "۱۲٫۵"}, "invalid_count"),
        ("place_order", {**order, "count": "9" * 400}, "invalid_count"),  # quoted, cut
        ("place_order", {**order, "service_id": "abc", "count": 10}, "invalid_service_id"),
        ("place_order", {**order, "service_id": "۹۹", "count": 10}, "unknown_service"),
        ("place_order", {**order, "link": "https://example.com/p/x/", "count": 10}, "invalid_link"),
        ("place_order", {**order, "count": "۱٬۵۰۰"}, "cap_max_count_per_order"),
        ("get_order_status", {**entry, "order_id": "-3"}, "invalid_order_id"),
        ("untrack_order", {**entry, "order_id": "۱۲۳۴"}, "order_not_tracked"),
        ("confirm_price", {**entry, "service_id": "۱۰"}, "no_price_offered"),
        ("confirm_price", {**entry, "service_id": 10, "unit_price": "free"}, "invalid_price"),
        ("list_services", {"config_entry_id": "01NOSUCHENTRY"}, "entry_not_found"),
    ]
    for action, data, key in cases:
        err = await _action_error(hass, action, **data)
        assert err.translation_key == key, (action, data)
        rendered = await _render_error(hass, err)
        numbered = key not in ("invalid_link", "entry_not_found", "invalid_price")
        _assert_persian(rendered, err.translation_placeholders or {}, has_numbers=numbered)
    assert not simulator.orders(api_key)

    # A loaded entry's title is the person's own text: isolated.
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    err = await _action_error(hass, "list_services", **entry)
    assert err.translation_key == "entry_not_loaded"
    _assert_persian(
        await _render_error(hass, err), err.translation_placeholders or {}, has_numbers=False
    )


@pytest.mark.usefixtures("persian")
@pytest.mark.parametrize("options", [{CONF_MAX_SPEND_PER_DAY: 2_000_000}])
async def test_spend_refusal_reads_in_persian(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The refusal the issue saw scrambled: its figures in Persian digits, the unit تومان."""
    err = await _action_error(
        hass,
        "place_order",
        config_entry_id=loaded_entry.entry_id,
        service_id=10,
        link=LINK,
        count=100,
    )
    assert err.translation_key == "cap_cost_unknown"
    _assert_persian(
        await _render_error(hass, err), err.translation_placeholders or {}, has_numbers=True
    )


@pytest.mark.usefixtures("persian")
@pytest.mark.parametrize("options", [{CONF_UNIT_PRICES: "10 = 2"}])
async def test_price_hold_repair_reads_in_persian(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    simulator.set_unit_price(10, 3.5)  # charged above the operator's price: held
    await call(hass, loaded_entry, "place_order", True, service_id=10, link=LINK, count=100)
    issue = issue_registry.async_get_issue(DOMAIN, f"price_changed_{loaded_entry.entry_id}_10")
    assert issue is not None
    values = dict(issue.translation_placeholders or {})
    assert values["unit_price"] == "۳٫۵"
    assert values["unit"] == "تومان"
    base = "price_changed"
    for key in (f"{base}.title", f"{base}.fix_flow.step.confirm.description"):
        _assert_persian(await _render(hass, "issues", key, values), values, has_numbers=True)
    # The held service's next order is refused with the same figures.
    err = await _action_error(
        hass,
        "place_order",
        config_entry_id=loaded_entry.entry_id,
        service_id=10,
        link=LINK,
        count=100,
    )
    assert err.translation_key == "cap_price_changed"
    assert "۳٫۵ تومان" in await _render_error(hass, err)


@pytest.mark.usefixtures("persian")
@pytest.mark.parametrize("options", [{CONF_LOW_CREDIT_THRESHOLD: 1_000_000}])
async def test_low_credit_repair_reads_in_persian(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    issue = issue_registry.async_get_issue(DOMAIN, f"low_credit_{loaded_entry.entry_id}")
    assert issue is not None
    values = dict(issue.translation_placeholders or {})
    assert (values["threshold"], values["unit"]) == ("۱٬۰۰۰٬۰۰۰", "تومان")  # not 1e+06 Toman
    assert values["title"] == f"{FSI}Happy Follower{PDI}"
    for key, has_numbers in (("low_credit.title", False), ("low_credit.description", True)):
        rendered = await _render(hass, "issues", key, values)
        _assert_persian(rendered, values, has_numbers=has_numbers)


@pytest.mark.usefixtures("persian")
async def test_interrupted_orders_repair_reads_in_persian(
    hass: HomeAssistant, config_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    attempt = AuditRecord(
        at=dt_util.utcnow() - timedelta(minutes=20),
        event=AuditEvent.ATTEMPT,
        source="home_assistant",
        sandbox=False,
        attempt_id="a1",
        service_id=10,
        link=LINK,
        count=1500,
        confirmed_by="Home Assistant user x",
    )
    path = Path(hass.config.path(".storage", f"{DOMAIN}.{config_entry.entry_id}.ledger.jsonl"))
    await hass.async_add_executor_job(Ledger(path).transact, lambda _records: [attempt])
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    issue = issue_registry.async_get_issue(DOMAIN, f"interrupted_orders_{config_entry.entry_id}")
    assert issue is not None
    values = dict(issue.translation_placeholders or {})
    local = dt_util.as_local(attempt.at)
    year, month, day = solar_hijri(local.date())  # the calendar HA's frontend shows in fa
    sent = f"{year}/{month:02}/{day:02} {local:%H:%M}".translate(_PERSIAN_DIGITS)
    # The link whole in its isolate, in the brackets that end a Markdown autolink before
    # the isolate's closing mark.
    assert values["orders"] == f"- ۱٬۵۰۰ × {FSI}<{LINK}>{PDI} · ۱۰ · {sent}"
    for key, has_numbers in (
        ("interrupted_orders.title", False),
        ("interrupted_orders.fix_flow.step.confirm.title", False),
        ("interrupted_orders.fix_flow.step.confirm.description", True),
    ):
        rendered = await _render(hass, "issues", key, values)
        _assert_persian(rendered, values, has_numbers=has_numbers)


_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.mark.usefixtures("persian")
@pytest.mark.parametrize(
    ("options", "key", "quoted"),
    [
        ({CONF_MAX_SPEND_PER_DAY: -5}, "invalid_max_spend_per_day", "-۵"),
        ({CONF_MAX_SPEND_PER_DAY: float("nan")}, "invalid_max_spend_per_day", f"{FSI}nan{PDI}"),
        ({CONF_MAX_COUNT_PER_ORDER: 0}, "invalid_max_count_per_order", "۰"),
        ({CONF_MAX_ORDERS_PER_DAY: "ten"}, "invalid_max_orders_per_day", f"{FSI}ten{PDI}"),
        ({CONF_MAX_ORDERS_PER_DAY: float("inf")}, "invalid_max_orders_per_day", f"{FSI}inf{PDI}"),
        ({CONF_UNIT_PRICES: "10 = free"}, "invalid_unit_prices", f"{FSI}10 = free{PDI}"),
    ],
)
async def test_invalid_caps_read_in_persian(
    hass: HomeAssistant, config_entry: MockConfigEntry, key: str, quoted: str
) -> None:
    """Caps that cannot be read (options saved by hand or by an older version): the
    message names the option and quotes its value, not the library's English reason."""
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    assert config_entry.error_reason_translation_key == key
    values = dict(config_entry.error_reason_translation_placeholders or {})
    assert values == {"value": quoted}
    rendered = await _render(hass, "exceptions", f"{key}.message", values)
    _assert_persian(rendered, values, has_numbers=True)


@pytest.mark.usefixtures("persian")
async def test_setup_failure_reads_in_persian(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A coordinator's failure is the entry's reason while it cannot start: its figures in
    the system language's digits too."""
    simulator.inject("credit", Fault.RATE_LIMITED, times=None, retry_after=1500)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert config_entry.error_reason_translation_key == "rate_limited_retry_after"
    values = dict(config_entry.error_reason_translation_placeholders or {})
    assert values == {"retry_after": "۱٬۵۰۰"}
    rendered = await _render(hass, "exceptions", "rate_limited_retry_after.message", values)
    _assert_persian(rendered, values, has_numbers=True)


@pytest.mark.usefixtures("persian")
async def test_ledger_unavailable_reads_in_persian(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The ledger's path is the host's text, left to right: isolated, whole."""
    path = Path(hass.config.path(".storage", f"{DOMAIN}.{config_entry.entry_id}.ledger.jsonl"))
    await hass.async_add_executor_job(partial(path.mkdir, parents=True))  # a folder: unwritable
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert config_entry.error_reason_translation_key == "ledger_unavailable"
    values = dict(config_entry.error_reason_translation_placeholders or {})
    assert values == {"path": f"{FSI}{path}{PDI}"}
    rendered = await _render(hass, "exceptions", "ledger_unavailable.message", values)
    _assert_persian(rendered, values, has_numbers=False)


def test_every_exception_and_repair_key_is_rendered_above() -> None:
    """A new key cannot slip past the Persian checks: each is rendered by a test above
    (or named as rendered by the assistants' tests, whose placeholders llm_api.py makes)."""
    source = Path(__file__).read_text(encoding="utf-8")
    rendered_above = {key for key in _persian()["exceptions"] if f'"{key}"' in source}
    rendered_above |= {f"cap_{refusal}" for refusal in Refusal} | set(INPUT_KEYS.values())
    rendered_above |= {"auth_failed", "cannot_connect", "rate_limited", "rate_limited_retry_after"}
    rendered_above |= {"api_error", "not_enough_credit", "invalid_response", "sandbox_unsupported"}
    rendered_above |= {"order_outcome_unknown", "ledger_error", "invalid_input"}
    elsewhere = {
        # No placeholder: the static check above covers all there is.
        "api_root_refused",
        # llm_api.py's approval notification (tests/ha/test_llm_api.py runs it).
        "assistant_order_approval_title",
        "assistant_order_approval_message",
        "assistant_order_approval_duplicate",
        # spending.py's fallback when no single cap is at fault; no placeholder.
        "invalid_caps",
    }
    assert set(_persian()["exceptions"]) - rendered_above - elsewhere == set()
    assert set(_persian()["issues"]) == {"low_credit", "price_changed", "interrupted_orders"}


def test_number_fields_take_persian_digits_and_grouping() -> None:
    """No action field that the input policy reads is a number box (which empties
    "۱٬۰۰۰" before the action sees it)."""
    actions = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    number_boxes = {
        f"{action}.{name}"
        for action, spec in actions.items()
        for name, field in spec.get("fields", {}).items()
        if "number" in field.get("selector", {})
    }
    assert number_boxes == set()


@pytest.mark.parametrize(
    ("count", "service_id", "order_id"),
    [("۱٬۰۰۰", "۱۰", "۱"), ("1,000", "١٠", "١"), ("١٬٠٠٠", 10, "1")],
)
async def test_actions_read_what_people_type(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    count: str,
    service_id: object,
    order_id: str,
) -> None:
    """Persian and Arabic-Indic digits and digit grouping, in every number of an action."""
    placed = await call(
        hass, loaded_entry, "place_order", True, service_id=service_id, link=LINK, count=count
    )
    assert placed is not None
    assert [order.count for order in simulator.orders(api_key)] == [1000]
    status = await call(hass, loaded_entry, "get_order_status", True, order_id=order_id)
    assert status is not None
    assert status["order_id"] == 1


@pytest.mark.parametrize(
    ("gregorian", "solar"),
    [
        (date(2024, 3, 19), (1402, 12, 29)),  # the last day of a common year
        (date(2024, 3, 20), (1403, 1, 1)),  # Nowruz
        (date(2025, 3, 20), (1403, 12, 30)),  # 1403 is a leap year
        (date(2025, 3, 21), (1404, 1, 1)),
        (date(2026, 9, 22), (1405, 6, 31)),  # the last 31-day month
        (date(2026, 12, 6), (1405, 9, 15)),
    ],
)
def test_solar_hijri_dates(gregorian: date, solar: tuple[int, int, int]) -> None:
    assert solar_hijri(gregorian) == solar


def test_solar_hijri_days_follow_each_other_for_thirty_years() -> None:
    """Every day is the one after the day before; months are 31 (1-6), 30 (7-11) and
    29 or 30 (12) days long: no day skipped or repeated."""
    day = date(2010, 3, 21)
    previous = solar_hijri(day)
    assert previous == (1389, 1, 1)
    lengths: dict[tuple[int, int], int] = {}
    for _ in range(365 * 30):
        day += timedelta(days=1)
        current = solar_hijri(day)
        year, month, dom = previous
        assert current in ((year, month, dom + 1), (year, month + 1, 1), (year + 1, 1, 1))
        lengths[current[:2]] = current[2]
        previous = current
    for (_, month), longest in list(lengths.items())[:-1]:
        assert longest == (31 if month <= 6 else 30 if month <= 11 else longest)
        assert month < 12 or longest in (29, 30)


def test_a_moment_in_each_language() -> None:
    at = datetime(2026, 12, 6, 5, 47)
    assert moment(at, "en") == "2026-12-06 05:47"
    assert moment(at, "fa") == "۱۴۰۵/۰۹/۱۵ ۰۵:۴۷"
