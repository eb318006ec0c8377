"""Actions of the Happy Follower integration, registered once in ``async_setup``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service

from shared_client.errors import (
    HappyFollowerAuthenticationError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerOrderOutcomeUnknownError,
)
from shared_client.validation import display_text, positive_int, to_number

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_CONFIRM_DUPLICATE,
    ATTR_COUNT,
    ATTR_LINK,
    ATTR_ORDER_ID,
    ATTR_SERVICE_ID,
    ATTR_UNIT_PRICE,
    DOMAIN,
    LOGGER,
)
from .coordinator import HappyFollowerConfigEntry, credit_unit, status_key
from .errors import EXAMPLE_LINK, to_ha_error
from .repairs import async_sync_price_holds
from .spending import async_confirmed_by
from .texts import EXACT_DECIMALS, identifier, isolated, number, system_language

# Home Assistant (2026.9+) runs voluptuous as its successor probatio; type-check
# against what runs. Older versions run voluptuous itself, with the same API.
if TYPE_CHECKING:
    import probatio as vol
else:
    import voluptuous as vol

SERVICE_PLACE_ORDER = "place_order"
SERVICE_CANCEL_ORDER = "cancel_order"
SERVICE_RECHECK_ORDER = "recheck_order"
SERVICE_GET_ORDER_STATUS = "get_order_status"
SERVICE_LIST_SERVICES = "list_services"
SERVICE_TRACK_ORDER = "track_order"
SERVICE_UNTRACK_ORDER = "untrack_order"
SERVICE_CONFIRM_PRICE = "confirm_price"


def _typed_number(value: int | float | str) -> int | float | str:
    """A number as people type it (Persian or Arabic-Indic digits, "1,000", "۱٬۰۰۰") read
    by the library's one number reader; what it cannot read goes on as typed, for the
    shared input policy to refuse with a translated error."""
    # Exponents ("1e3") are no way to type a count or an id: left for the policy to refuse.
    if isinstance(value, str) and "e" not in value.casefold():
        try:
            return to_number(value)
        except ValueError:
            return value
    return value


# Numbers may arrive as text: the shared validators decide, so that every refusal is a
# translated error rather than a bare schema message.
_NUMBER = vol.All(vol.Any(int, float, str), _typed_number)
ENTRY_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
ORDER_SCHEMA = ENTRY_SCHEMA.extend({vol.Required(ATTR_ORDER_ID): _NUMBER})
PLACE_ORDER_SCHEMA = ENTRY_SCHEMA.extend(
    {
        vol.Required(ATTR_SERVICE_ID): _NUMBER,
        vol.Required(ATTR_LINK): cv.string,
        vol.Required(ATTR_COUNT): _NUMBER,
        vol.Optional(ATTR_CONFIRM_DUPLICATE, default=False): cv.boolean,
    }
)
CONFIRM_PRICE_SCHEMA = ENTRY_SCHEMA.extend(
    {
        vol.Required(ATTR_SERVICE_ID): _NUMBER,
        # Omitted (or left empty): the price the service was seen to charge.
        vol.Optional(ATTR_UNIT_PRICE): vol.Any(None, _NUMBER),
    }
)

type _Handler = Callable[
    [HappyFollowerConfigEntry, ServiceCall], Coroutine[Any, Any, ServiceResponse]
]


def _loaded_entry(hass: HomeAssistant, call: ServiceCall) -> HappyFollowerConfigEntry:
    entry_id: str = call.data[ATTR_CONFIG_ENTRY_ID]
    entry: HappyFollowerConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": isolated(entry_id)},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": isolated(entry.title)},
        )
    return entry


def _order_id(call: ServiceCall) -> int:
    asked = call.data[ATTR_ORDER_ID]
    try:
        return positive_int(asked, ATTR_ORDER_ID)
    except HappyFollowerInputError as err:
        raise to_ha_error(err, system_language(call.hass), {ATTR_ORDER_ID: asked}) from None


async def _place_order(entry: HappyFollowerConfigEntry, call: ServiceCall) -> ServiceResponse:
    """Place an order through the shared guard: input policy, caps, write-ahead audit
    (refusals included), sent once. The guard validates the fields; this maps its errors."""
    data = entry.runtime_data
    # Calling the action is the confirmation: its refusals are audited with who called it.
    confirmed_by = await async_confirmed_by(call.hass, call.context)
    try:
        quote = await data.guard.prepare_order(
            call.data[ATTR_SERVICE_ID],
            call.data[ATTR_LINK],
            call.data[ATTR_COUNT],
            confirmed_by=confirmed_by,
        )
        placed = await data.guard.place_order(
            quote,
            confirmed_by=confirmed_by,
            duplicate_confirmed=call.data[ATTR_CONFIRM_DUPLICATE],
        )
    except HappyFollowerError as err:
        if isinstance(err, HappyFollowerOrderOutcomeUnknownError):
            # Never retried: a retry could buy the same thing twice.
            LOGGER.warning("An order's outcome is unknown; it was not sent again: %s", err)
        # A hold written by another program shows here as well as in the refusal.
        async_sync_price_holds(call.hass, entry, data.guard)
        raise _action_error(entry, err, _order_placeholders(entry, call)) from err
    # The guard read the first status (and logged its anomaly): not noted twice.
    await data.async_placed(placed)
    return {
        "order_id": placed.order_id,
        "cost": placed.cost,
        # What the caps count it at, at least; what was wrong with the cost its status
        # gave (None when nothing was), in the guard's words.
        "cost_bound": placed.cost_bound,
        "anomaly": placed.anomaly,
    }


async def _confirm_price(entry: HappyFollowerConfigEntry, call: ServiceCall) -> ServiceResponse:
    """A person stands behind a price per unit of a service: it bounds its orders under a
    spend cap, and lifts a hold. Without a price, the one the service was seen to charge."""
    guard = entry.runtime_data.guard
    given = call.data.get(ATTR_UNIT_PRICE)
    try:
        service_id = positive_int(call.data[ATTR_SERVICE_ID], ATTR_SERVICE_ID)
        if given is None or (isinstance(given, str) and not given.strip()):
            await guard.refresh()  # the offer of the ledger as it is now
            offer = guard.price_offer(service_id)
            if offer is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="no_price_offered",
                    translation_placeholders={
                        "service_id": identifier(service_id, system_language(call.hass))
                    },
                )
            given = offer[0]
        unit_price = await guard.confirm_price(
            service_id, given, confirmed_by=await async_confirmed_by(call.hass, call.context)
        )
    except HappyFollowerError as err:
        raise _action_error(entry, err, {ATTR_SERVICE_ID: call.data[ATTR_SERVICE_ID]}) from err
    LOGGER.info(
        "Price per unit %s of service %s confirmed",
        number(unit_price, "en", EXACT_DECIMALS),
        service_id,
    )
    async_sync_price_holds(call.hass, entry, guard)
    return {"service_id": service_id, "unit_price": unit_price}


def _order_placeholders(entry: HappyFollowerConfigEntry, call: ServiceCall) -> dict[str, object]:
    caps = entry.runtime_data.guard.caps
    asked: dict[str, object] = {
        # As the user gave them: the messages quote what was asked for.
        ATTR_SERVICE_ID: call.data[ATTR_SERVICE_ID],
        ATTR_COUNT: call.data[ATTR_COUNT],
        "max_count": caps.max_count_per_order,
        "max_orders": caps.max_orders_per_day,
        "max_spend": caps.max_spend_per_day,
    }
    # A cap that is not set is no figure (a refusal by it cannot happen).
    return {name: value for name, value in asked.items() if value is not None}


async def _cancel_order(entry: HappyFollowerConfigEntry, call: ServiceCall) -> ServiceResponse:
    order_id = _order_id(call)
    data = entry.runtime_data
    LOGGER.info(
        "Canceling order %s, asked by %s",
        order_id,
        await async_confirmed_by(call.hass, call.context),
    )
    await _run(entry, data.client.cancel_order(order_id))
    await _run(entry, entry.runtime_data.async_refresh_after_action(order_id))
    return None


async def _recheck_order(entry: HappyFollowerConfigEntry, call: ServiceCall) -> ServiceResponse:
    order_id = _order_id(call)
    await _run(entry, entry.runtime_data.client.recheck_order(order_id))
    await _run(entry, entry.runtime_data.async_refresh_after_action(order_id))
    return None


async def _get_order_status(entry: HappyFollowerConfigEntry, call: ServiceCall) -> ServiceResponse:
    order_id = _order_id(call)
    status = await _run(entry, entry.runtime_data.orders.async_refresh_order(order_id))
    response: dict[str, Any] = {**status.summary(order_id)}
    # The same status values as the sensors and events; vendor text made display-safe.
    response["status"] = status_key(status.status)
    response["status_title"] = display_text(status.status_title)
    response["tracked"] = order_id in entry.runtime_data.store.orders
    return response


async def _list_services(entry: HappyFollowerConfigEntry, call: ServiceCall) -> ServiceResponse:
    services = await _run(entry, entry.runtime_data.client.get_services())
    return {
        "services": [
            {"service_id": item.service_id, "name": display_text(item.name)} for item in services
        ]
    }


async def _track_order(entry: HappyFollowerConfigEntry, call: ServiceCall) -> ServiceResponse:
    order_id = _order_id(call)
    await _run(entry, entry.runtime_data.orders.async_track(order_id))
    return None


async def _untrack_order(entry: HappyFollowerConfigEntry, call: ServiceCall) -> ServiceResponse:
    order_id = _order_id(call)
    if not await entry.runtime_data.orders.async_untrack(order_id):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="order_not_tracked",
            translation_placeholders={"order_id": identifier(order_id, system_language(call.hass))},
        )
    return None


async def _run[T](entry: HappyFollowerConfigEntry, call: Awaitable[T]) -> T:
    try:
        return await call
    except HappyFollowerError as err:
        raise _action_error(entry, err) from err


def _action_error(
    entry: HappyFollowerConfigEntry,
    err: HappyFollowerError,
    asked: dict[str, object] | None = None,
) -> HomeAssistantError:
    hass = entry.runtime_data.credit.hass
    if isinstance(err, HappyFollowerAuthenticationError):
        entry.async_start_reauth(hass)
    return to_ha_error(err, system_language(hass), asked, unit=credit_unit(entry))


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every action of the integration."""

    async def handle(handler: _Handler, call: ServiceCall) -> ServiceResponse:
        return await handler(_loaded_entry(hass, call), call)

    # One rule: what makes the vendor act (place, cancel, recheck, confirm a price) and
    # what changes the orders everyone sees tracked (track, untrack) is for
    # administrators (and automations and scripts); reads are open to every user.
    admin_actions: list[tuple[str, _Handler, vol.Schema, SupportsResponse]] = [
        (SERVICE_PLACE_ORDER, _place_order, PLACE_ORDER_SCHEMA, SupportsResponse.OPTIONAL),
        (SERVICE_CANCEL_ORDER, _cancel_order, ORDER_SCHEMA, SupportsResponse.NONE),
        (SERVICE_RECHECK_ORDER, _recheck_order, ORDER_SCHEMA, SupportsResponse.NONE),
        (SERVICE_CONFIRM_PRICE, _confirm_price, CONFIRM_PRICE_SCHEMA, SupportsResponse.OPTIONAL),
        (SERVICE_TRACK_ORDER, _track_order, ORDER_SCHEMA, SupportsResponse.NONE),
        (SERVICE_UNTRACK_ORDER, _untrack_order, ORDER_SCHEMA, SupportsResponse.NONE),
    ]
    for name, handler, schema, supports_response in admin_actions:
        async_register_admin_service(
            hass,
            DOMAIN,
            name,
            partial(handle, handler),
            schema,
            supports_response,
            description_placeholders={"example_link": EXAMPLE_LINK},
        )
    read_actions: list[tuple[str, _Handler, vol.Schema, SupportsResponse]] = [
        (SERVICE_GET_ORDER_STATUS, _get_order_status, ORDER_SCHEMA, SupportsResponse.ONLY),
        (SERVICE_LIST_SERVICES, _list_services, ENTRY_SCHEMA, SupportsResponse.ONLY),
    ]
    for name, handler, schema, supports_response in read_actions:
        hass.services.async_register(
            DOMAIN,
            name,
            partial(handle, handler),
            schema=schema,
            supports_response=supports_response,
        )
