"""The shared spend guard in Home Assistant: its ledger, its caps, and who asked.

Every process that spends for an account checks the same caps against one ledger file
(shared_client.ledger). Home Assistant keeps one ledger per config entry in its
``.storage`` folder, so backups include it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from pathlib import Path
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
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
from .store import HappyFollowerStore

# How many interrupted orders a repair issue lists by name.
MAX_LISTED_ORDERS = 5


def ledger_path(hass: HomeAssistant, entry_id: str) -> Path:
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry_id}.ledger.jsonl"))


def spend_caps(options: Mapping[str, Any]) -> SpendCaps:
    """The caps of the options, defaulting to the one set shared with the CLI and MCP server.

    Raises HappyFollowerInputError (a cap that is not finite and above 0) or ValueError.
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
    except (HappyFollowerInputError, ValueError) as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_caps",
            translation_placeholders={"error": display_text(err)},
        ) from err
    ledger = Ledger(ledger_path(hass, entry_id))
    guard = SpendGuard(client, ledger, caps, source=SOURCE)
    try:
        await _carry_over(hass, ledger, store)
        interrupted = await guard.open()
    except HappyFollowerLedgerError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="ledger_unavailable",
            translation_placeholders={"path": str(ledger.path)},
        ) from err
    if interrupted:
        _report_interrupted(hass, entry_id, interrupted)
    return guard


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


def _report_interrupted(hass: HomeAssistant, entry_id: str, interrupted: list[AuditRecord]) -> None:
    """A repair issue naming the orders that may or may not have been placed."""
    # Language-neutral lines; the translation names the columns.
    lines = [
        f"{record.count} × {record.link} · {record.service_id} · "
        f"{record.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        for record in interrupted[:MAX_LISTED_ORDERS]
    ]
    if len(interrupted) > MAX_LISTED_ORDERS:
        lines.append("…")
    LOGGER.warning(
        "%d order(s) were being sent when Home Assistant stopped; they may or may not have "
        "been placed: %s",
        len(interrupted),
        "; ".join(lines),
    )
    ir.async_create_issue(
        hass,
        DOMAIN,
        interrupted_issue_id(entry_id),
        is_fixable=True,
        is_persistent=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_INTERRUPTED_ORDERS,
        translation_placeholders={
            "count": str(len(interrupted)),
            "orders": "\n".join(f"- {display_text(line, 200)}" for line in lines),
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
