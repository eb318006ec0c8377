"""Repairs: orders a crash left in doubt, and services held because their price rose.

A held service (it charged more than the price that bounded its order) stops taking
orders until a person confirms a price per unit; its issue shows the price it charged
and confirms it in one step. The issues follow the guard's ledger: raised while a
service is held, deleted once a price is confirmed (here, by the confirm price action,
or by another program sharing the ledger).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from shared_client.errors import HappyFollowerError
from shared_client.guard import SpendGuard

from .const import DOMAIN, ISSUE_PRICE_CHANGED, LOGGER
from .texts import (
    EXACT_DECIMALS,
    entry_unit,
    identifier,
    isolated,
    number,
    system_language,
)

if TYPE_CHECKING:
    import probatio as vol

    from .coordinator import HappyFollowerConfigEntry
else:
    import voluptuous as vol

# Who stands behind a price confirmed here: repairs are for administrators, and a fix
# flow is not told which one.
CONFIRMED_IN_REPAIRS = "Home Assistant administrator, in the repair of a held service"


def price_hold_issue_id(entry_id: str, service_id: int) -> str:
    return f"{ISSUE_PRICE_CHANGED}_{entry_id}_{service_id}"


def _placeholders(
    hass: HomeAssistant, entry: HappyFollowerConfigEntry, service_id: int, unit_price: float
) -> dict[str, str]:
    """The issue's and its form's figures, in Home Assistant's system language: the price
    exactly as it is confirmed, the account's title isolated."""
    language = system_language(hass)
    return {
        "title": isolated(entry.title),
        "service_id": identifier(service_id, language),
        "unit_price": number(unit_price, language, EXACT_DECIMALS),
        "unit": entry_unit(entry, language),
    }


@callback
def async_sync_price_holds(
    hass: HomeAssistant, entry: HappyFollowerConfigEntry, guard: SpendGuard
) -> None:
    """One repair issue per service the guard holds (from the ledger as it last read it),
    none for the others."""
    held = guard.held_services()
    prefix = price_hold_issue_id(entry.entry_id, 0)[:-1]
    registry = ir.async_get(hass)
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and issue_id.startswith(prefix):
            service = issue_id.removeprefix(prefix)
            if not service.isdigit() or int(service) not in held:
                ir.async_delete_issue(hass, DOMAIN, issue_id)
    for service_id, unit_price in held.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            price_hold_issue_id(entry.entry_id, service_id),
            is_fixable=True,
            is_persistent=False,  # raised again from the ledger at every start
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_PRICE_CHANGED,
            translation_placeholders=_placeholders(hass, entry, service_id, unit_price),
            data={"entry_id": entry.entry_id, "service_id": service_id},
        )


class PriceHoldRepairFlow(RepairsFlow):
    """Confirm, in one step, the price per unit a held service charged.

    What is confirmed is the price the form showed: if the hold's price changed in the
    meantime, the form is shown again with the new one.
    """

    def __init__(self, entry_id: str, service_id: int) -> None:
        self._entry_id = entry_id
        self._service_id = service_id
        self._shown: float | None = None  # the price the person was shown

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        entry: HappyFollowerConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        guard = entry.runtime_data.guard
        confirmed = False
        try:
            await guard.refresh()  # another program may have confirmed a price
            held = guard.held_services().get(self._service_id)
            if held is not None and user_input is not None and held == self._shown:
                await guard.confirm_price(self._service_id, held, confirmed_by=CONFIRMED_IN_REPAIRS)
                confirmed = True
        except HappyFollowerError as err:
            LOGGER.warning("Could not confirm the price of service %s: %s", self._service_id, err)
            return self.async_abort(reason="ledger_error")
        async_sync_price_holds(self.hass, entry, guard)
        if confirmed:
            LOGGER.info(
                "Price per unit %s of service %s confirmed in a repair",
                number(self._shown or 0, "en", EXACT_DECIMALS),
                self._service_id,
            )
            return self.async_create_entry(data={})
        if held is None:
            # Lifted meanwhile (the action, another program): nothing to confirm here.
            return self.async_abort(reason="price_confirmed")
        # First shown, or the price it charged changed since: show it (again).
        self._shown = held
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=_placeholders(self.hass, entry, self._service_id, held),
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of an issue: a held service's price, or the interrupted orders (whose
    text says how to check; confirming closes it)."""
    if issue_id.startswith(f"{ISSUE_PRICE_CHANGED}_") and data is not None:
        entry_id, service_id = data.get("entry_id"), data.get("service_id")
        if isinstance(entry_id, str) and isinstance(service_id, int):
            return PriceHoldRepairFlow(entry_id, service_id)
    return ConfirmRepairFlow()
