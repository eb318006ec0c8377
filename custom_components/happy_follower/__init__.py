"""The Happy Follower integration: credit, orders and spend-safe actions."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from shared_client import HappyFollowerClient, HappyFollowerInputError

from .assist import async_setup_assist
from .const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_ENVIRONMENT,
    DOMAIN,
    ENVIRONMENT_SANDBOX,
)
from .coordinator import (
    CreditCoordinator,
    HappyFollowerConfigEntry,
    HappyFollowerData,
    OrdersCoordinator,
    low_credit_issue_id,
)
from .entity import order_id_of_device
from .llm_api import async_setup_llm_api
from .services import async_setup_services
from .spending import async_open_guard, interrupted_issue_id
from .store import HappyFollowerStore

PLATFORMS: list[Platform] = [Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, the assistants' tools and Assist's sentences, once for every
    entry."""
    async_setup_services(hass)
    async_setup_llm_api(hass)
    async_setup_assist(hass)
    return True


def create_client(hass: HomeAssistant, data: dict[str, object]) -> HappyFollowerClient:
    """A client for config entry data, on Home Assistant's shared HTTP session."""
    advanced = data.get(CONF_ADVANCED)
    api_root = advanced.get(CONF_API_ROOT) if isinstance(advanced, dict) else None
    return HappyFollowerClient(
        str(data[CONF_API_KEY]),
        session=async_get_clientsession(hass),
        sandbox=data.get(CONF_ENVIRONMENT) == ENVIRONMENT_SANDBOX,
        base_url=str(api_root) if api_root else None,
    )


def environment_key(client: HappyFollowerClient) -> str:
    """Where an order lives: the environment and the API root it was placed on."""
    return f"{'sandbox' if client.sandbox else 'live'} {client.base_url}"


async def async_setup_entry(hass: HomeAssistant, entry: HappyFollowerConfigEntry) -> bool:
    """Set up one Happy Follower account."""
    try:
        client = create_client(hass, dict(entry.data))
    except HappyFollowerInputError:
        # A root saved before the rule that refuses it (issue 14, I13): fixed by reconfigure.
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="api_root_refused"
        ) from None
    store = HappyFollowerStore(hass, entry.entry_id, environment_key(client))
    await store.async_load()
    # Before anything can spend: a ledger that cannot be written is reported now.
    guard = await async_open_guard(hass, entry.entry_id, entry.options, client, store)
    credit = CreditCoordinator(hass, entry, client)
    orders = OrdersCoordinator(hass, entry, client, store, guard)
    # Either raises ConfigEntryAuthFailed (reauth) or ConfigEntryNotReady (retry).
    await credit.async_config_entry_first_refresh()
    await orders.async_config_entry_first_refresh()
    entry.runtime_data = HappyFollowerData(client, credit, orders, guard, store)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HappyFollowerConfigEntry) -> bool:
    """Unload a config entry; tracked orders stay in storage for the next start."""
    # Write pending status changes now: the next setup reads them back.
    await entry.runtime_data.store.async_save()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: HappyFollowerConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Deleting an order's device untracks the order (the order itself is not touched)."""
    order_id = order_id_of_device(entry.entry_id, device.identifiers)
    if order_id is None or entry.state is not ConfigEntryState.LOADED:
        return False
    await entry.runtime_data.orders.async_untrack(order_id)
    return True


async def async_remove_entry(hass: HomeAssistant, entry: HappyFollowerConfigEntry) -> None:
    """Forget the entry's tracked orders and repair issues."""
    await HappyFollowerStore(hass, entry.entry_id, "").async_remove()
    ir.async_delete_issue(hass, DOMAIN, low_credit_issue_id(entry.entry_id))
    ir.async_delete_issue(hass, DOMAIN, interrupted_issue_id(entry.entry_id))
    # The ledger stays: it is the audit trail of money spent, and other processes
    # (the CLI, the MCP server) may share it.
