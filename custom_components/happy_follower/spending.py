"""The shared spend guard in Home Assistant: its ledger, its caps, and who asked.

Every process that spends for an account checks the same caps against one ledger file
(shared_client.ledger). Home Assistant keeps one ledger per config entry in its
``.storage`` folder, so backups include it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pydantic import ValidationError

from shared_client import HappyFollowerClient
from shared_client.errors import HappyFollowerInputError, HappyFollowerLedgerError
from shared_client.guard import DEFAULT_CAPS, SpendCaps, SpendGuard
from shared_client.ledger import AuditRecord, Ledger
from shared_client.validation import display_text, parse_unit_prices

from .const import (
    CONF_MAX_COUNT_PER_ORDER,
    CONF_MAX_ORDERS_PER_DAY,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
    DOMAIN,
    ISSUE_INTERRUPTED_ORDERS,
    LOGGER,
    SOURCE,
)
from .errors import figure
from .store import HappyFollowerStore
from .texts import (
    MAX_ADDRESS,
    Language,
    identifier,
    isolated,
    markdown_link,
    moment,
    number,
    system_language,
)

# How many interrupted orders a repair issue lists by name.
MAX_LISTED_ORDERS = 5
# The options that make the caps, each refused with its own message when it is not valid.
CAP_OPTIONS = (
    CONF_MAX_COUNT_PER_ORDER,
    CONF_MAX_ORDERS_PER_DAY,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
)
# A path on the Home Assistant host or a link, quoted whole (display-safe), not cut as a
# name would be.
# A column an old ledger line left empty: a sign that reads the same in both languages.
_UNKNOWN = "—"


def ledger_path(hass: HomeAssistant, entry_id: str) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry_id}.ledger.jsonl"))


def spend_caps(options: Mapping[str, Any]) -> SpendCaps:
    """The caps of the options, defaulting to the one set shared with the CLI and MCP server.

    Raises HappyFollowerInputError (a cap that is not finite and above 0), ValueError or
    OverflowError (an infinite whole-number cap).
    """
    count = options.get(CONF_MAX_COUNT_PER_ORDER, DEFAULT_CAPS.max_count_per_order)
    orders = options.get(CONF_MAX_ORDERS_PER_DAY, DEFAULT_CAPS.max_orders_per_day)
    spend = options.get(CONF_MAX_SPEND_PER_DAY, DEFAULT_CAPS.max_spend_per_day)
    return SpendCaps(
        max_count_per_order=None if count is None else int(count),
        max_orders_per_day=None if orders is None else int(orders),
        max_spend_per_day=None if spend is None else float(spend),
        unit_prices=parse_unit_prices(str(options.get(CONF_UNIT_PRICES) or "")),
    )


async def async_open_guard(
    hass: HomeAssistant,
    entry_id: str,
    options: Mapping[str, Any],
    client: HappyFollowerClient,
    store: HappyFollowerStore,
) -> SpendGuard:
    """The entry's guard, its ledger proven writable (else the entry is not ready).

    Audit records of versions before the shared ledger are carried over first, so
    today's caps still count them; attempts a crash interrupted become a repair issue.
    """
    try:
        caps = spend_caps(options)
    except (HappyFollowerInputError, ValueError, OverflowError) as err:
        raise _invalid_caps(options, system_language(hass)) from err
    ledger = Ledger(ledger_path(hass, entry_id))
    guard = SpendGuard(client, ledger, caps, source=SOURCE)
    try:
        await _carry_over(hass, ledger, store)
        interrupted = await guard.open()
    except HappyFollowerLedgerError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="ledger_unavailable",
            translation_placeholders={"path": isolated(str(ledger.path), MAX_ADDRESS)},
        ) from err
    if interrupted:
        _report_interrupted(hass, entry_id, interrupted)
    return guard


def _invalid_caps(options: Mapping[str, Any], language: Language) -> ConfigEntryError:
    """The entry's caps cannot be read: the message names the option and quotes its value
    (the library's reason is English, and stays in the log)."""
    for option in CAP_OPTIONS:
        value = options.get(option)
        try:
            spend_caps({option: value})  # this option alone, the others at their defaults
        except (HappyFollowerInputError, ValueError, OverflowError):
            return ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key=f"invalid_{option}",
                translation_placeholders={"value": figure(option, value, language)},
            )
    # Each option is valid alone (no rule reads two of them together yet).
    return ConfigEntryError(translation_domain=DOMAIN, translation_key="invalid_caps")


async def _carry_over(hass: HomeAssistant, ledger: Ledger, store: HappyFollowerStore) -> None:
    """Move the audit records kept in storage by earlier versions into the ledger, once."""
    if not store.legacy_audit:
        return
    legacy: list[AuditRecord] = []
    for item in store.legacy_audit:
        try:
            legacy.append(AuditRecord.model_validate(item))
        except ValidationError:
            LOGGER.warning("Skipping a damaged audit record in storage")

    def append_missing(records: list[AuditRecord]) -> list[AuditRecord]:
        # A crash between this write and the next save must not count them twice.
        present = {(record.at, record.event, record.order_id) for record in records}
        return [r for r in legacy if (r.at, r.event, r.order_id) not in present]

    await hass.async_add_executor_job(ledger.transact, append_missing)
    await store.async_forget_legacy_audit()


def interrupted_issue_id(entry_id: str) -> str:
    return f"{ISSUE_INTERRUPTED_ORDERS}_{entry_id}"


def _interrupted_line(record: AuditRecord, language: Language) -> str:
    """One order in doubt as "count × link · service ID · time sent" (the translation
    names the columns): figures in the language's digits, the time in Home Assistant's
    time zone, the link as ``markdown_link``."""
    link = markdown_link(record.link) if record.link else _UNKNOWN
    sent = moment(dt_util.as_local(record.at), language)
    count = _UNKNOWN if record.count is None else number(record.count, language)
    service = _UNKNOWN if record.service_id is None else identifier(record.service_id, language)
    return f"{count} × {link} · {service} · {sent}"


def _report_interrupted(hass: HomeAssistant, entry_id: str, interrupted: list[AuditRecord]) -> None:
    """A repair issue naming the orders that may or may not have been placed."""
    LOGGER.warning(
        "%d order(s) were being sent when Home Assistant stopped; they may or may not have "
        "been placed: %s",
        len(interrupted),
        "; ".join(
            f"{record.count} × {display_text(record.link, MAX_ADDRESS)} · service "
            f"{record.service_id} · {record.at.isoformat(timespec='seconds')}"
            for record in interrupted
        ),
    )
    language = system_language(hass)
    lines = [_interrupted_line(record, language) for record in interrupted[:MAX_LISTED_ORDERS]]
    if len(interrupted) > MAX_LISTED_ORDERS:
        lines.append("…")
    ir.async_create_issue(
        hass,
        DOMAIN,
        interrupted_issue_id(entry_id),
        is_fixable=True,
        is_persistent=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_INTERRUPTED_ORDERS,
        translation_placeholders={
            "count": number(len(interrupted), language),
            "orders": "\n".join(f"- {line}" for line in lines),
        },
        data={"entry_id": entry_id},
    )


async def async_confirmed_by(hass: HomeAssistant, context: Context) -> str:
    """Who asked for an action, for the audit record: the automation or script that ran
    it, and the user who did (a person in the UI, or who started the script).

    An automation or script run writes its entity's state with the context it then
    calls actions with; that is how the logbook names what triggered something too.
    """
    parts = [
        f"Home Assistant {domain} {state.entity_id}"
        for domain in ("automation", "script")
        for state in hass.states.async_all(domain)
        if state.context.id == context.id
    ]
    if context.user_id:
        user = await hass.auth.async_get_user(context.user_id)
        name = user.name if user is not None and user.name else "?"
        parts.append(f"Home Assistant user {name} ({context.user_id})")
    return ", run by ".join(parts) or f"Home Assistant, no user (context {context.id})"
