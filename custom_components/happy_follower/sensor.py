"""Sensors: the credit, the money spent (in total, and in the last 24 hours against the spend
cap), the number of active orders, and each tracked order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.generated.currencies import ACTIVE_CURRENCIES
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval

from shared_client.errors import HappyFollowerLedgerError
from shared_client.models import OrderStatus
from shared_client.protocol import FINAL_STATUSES, STATUS_TITLES
from shared_client.validation import display_text

from .const import DOMAIN, LOGGER
from .coordinator import (
    CreditCoordinator,
    HappyFollowerConfigEntry,
    OrdersCoordinator,
    credit_unit,
    status_key,
)
from .entity import HappyFollowerEntity, order_device_info, order_id_of_device
from .texts import entry_unit, system_language

# Coordinators do all the fetching.
PARALLEL_UPDATES = 0

# Every status with a translation; a status outside this list is still shown as is.
KNOWN_STATUSES = sorted({status_key(status) for status in (*STATUS_TITLES, *FINAL_STATUSES)})
ORDER_KEY_PREFIX = "order_"
SPEND_LEFT_KEY = "spend_left_24h"
# The 24-hour spend falls as orders leave the window, and the CLI or the MCP server may
# spend from the same ledger: read it again this often, between the orders' polls.
SPEND_WINDOW_REFRESH = timedelta(minutes=1)


def money_unit(
    hass: HomeAssistant, entry: HappyFollowerConfigEntry
) -> tuple[str, SensorDeviceClass | None]:
    """The unit of a sensor of money, and its device class.

    An ISO 4217 currency (IRR) is shown by its code, with the monetary device class (the
    only units that class allows). Any other unit (Toman) is shown as Home Assistant's
    language names it, as every Persian text of the integration does (تومان): Home
    Assistant translates no unit itself.
    """
    unit = credit_unit(entry)
    if unit in ACTIVE_CURRENCIES:
        return unit, SensorDeviceClass.MONETARY
    named = entry_unit(entry, system_language(hass))
    # An unknown unit comes back isolated for sentences: a unit stands alone here.
    return named.strip("\u2068\u2069"), None


def normalized(status: OrderStatus) -> str:
    return status_key(status.status)


@dataclass(frozen=True, kw_only=True)
class OrderSensorDescription(SensorEntityDescription):
    """A sensor of one tracked order."""

    value_fn: Callable[[OrderStatus], str | int | float | None]
    money: bool = False


ORDER_SENSORS: tuple[OrderSensorDescription, ...] = (
    OrderSensorDescription(
        key="status",
        translation_key="order_status",
        device_class=SensorDeviceClass.ENUM,
        value_fn=normalized,
    ),
    OrderSensorDescription(
        key="progress",
        translation_key="order_progress",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda status: status.progress,
    ),
    OrderSensorDescription(
        key="delivered",
        translation_key="order_delivered",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda status: status.delivered,
    ),
    OrderSensorDescription(
        key="remaining",
        translation_key="order_remaining",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda status: status.remain,
    ),
    OrderSensorDescription(
        key="cost",
        translation_key="order_cost",
        money=True,
        value_fn=lambda status: status.cost,
    ),
)


def order_key(order_id: int, description: OrderSensorDescription) -> str:
    return f"{ORDER_KEY_PREFIX}{order_id}_{description.key}"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HappyFollowerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's sensors, and each order's as it is tracked or untracked."""
    data = entry.runtime_data
    async_add_entities(_account_sensors(hass, entry))
    entry.async_on_unload(_read_ledger_often(hass, entry))
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    order_prefix = f"{entry.entry_id}_{ORDER_KEY_PREFIX}"
    added: set[int] = set()

    @callback
    def sync_orders() -> None:
        tracked = set(data.store.orders)
        new = sorted(tracked - added)
        async_add_entities(
            OrderSensor(data.orders, entry, order_id, description)
            for order_id in new
            for description in ORDER_SENSORS
        )
        added.intersection_update(tracked)
        added.update(new)
        # Remove the devices and entities of untracked orders, also those of an earlier run.
        for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
            device_order = order_id_of_device(entry.entry_id, device.identifiers)
            if device_order is not None and device_order not in tracked:
                devices.async_remove_device(device.id)
        for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
            if not entity.unique_id.startswith(order_prefix):
                continue
            entity_order = entity.unique_id.removeprefix(order_prefix).split("_", 1)[0]
            if not entity_order.isdigit() or int(entity_order) not in tracked:
                entities.async_remove(entity.entity_id)

    sync_orders()
    entry.async_on_unload(data.orders.async_add_listener(sync_orders))


def _account_sensors(hass: HomeAssistant, entry: HappyFollowerConfigEntry) -> list[SensorEntity]:
    data = entry.runtime_data
    account: list[SensorEntity] = [
        CreditSensor(data.credit, entry),
        SpentLast24HoursSensor(data.orders, entry),
        SpentSensor(data.orders, entry),
        ActiveOrdersSensor(data.orders, entry),
    ]
    if data.guard.caps.max_spend_per_day is not None:
        account.append(SpendLeftSensor(data.orders, entry))
    else:  # the cap was lifted: nothing is left "under" it
        entities = er.async_get(hass)
        unique_id = f"{entry.entry_id}_{SPEND_LEFT_KEY}"
        if left := entities.async_get_entity_id("sensor", DOMAIN, unique_id):
            entities.async_remove(left)
    return account


def _read_ledger_often(hass: HomeAssistant, entry: HappyFollowerConfigEntry) -> CALLBACK_TYPE:
    """Re-read the ledger every SPEND_WINDOW_REFRESH and update the entities; returns the
    function that stops it."""
    data = entry.runtime_data

    async def read_ledger(_: datetime) -> None:
        try:
            await data.guard.refresh()
        except HappyFollowerLedgerError as err:
            LOGGER.debug("Could not read the ledger for the 24-hour spend: %s", err)
            return
        data.orders.async_update_listeners()

    return async_track_time_interval(hass, read_ledger, SPEND_WINDOW_REFRESH)


class CreditSensor(HappyFollowerEntity[CreditCoordinator], SensorEntity):
    """The account's credit, in the unit chosen in the options."""

    _attr_translation_key = "credit"
    _attr_suggested_display_precision = 0

    def __init__(self, coordinator: CreditCoordinator, entry: HappyFollowerConfigEntry) -> None:
        super().__init__(coordinator, entry, "credit")
        self._attr_native_unit_of_measurement, self._attr_device_class = money_unit(
            coordinator.hass, entry
        )
        # Monetary sensors allow only TOTAL; both give long-term statistics.
        self._attr_state_class = (
            SensorStateClass.TOTAL if self._attr_device_class else SensorStateClass.MEASUREMENT
        )

    @property
    def native_value(self) -> int | float:
        return self.coordinator.data


class _LedgerWindowSensor(HappyFollowerEntity[OrdersCoordinator], SensorEntity):
    """A money figure of the last 24 hours, read from the ledger (so available whether or
    not the last status read worked). It falls as orders leave the window: a measurement,
    which the monetary class does not allow (no long-term statistics then; the history
    stays)."""

    _attr_suggested_display_precision = 0

    def __init__(
        self, coordinator: OrdersCoordinator, entry: HappyFollowerConfigEntry, key: str
    ) -> None:
        super().__init__(coordinator, entry, key)
        self._attr_native_unit_of_measurement, self._attr_device_class = money_unit(
            coordinator.hass, entry
        )
        if self._attr_device_class is None:
            self._attr_state_class = SensorStateClass.MEASUREMENT

    @property
    def available(self) -> bool:
        return True


class SpentLast24HoursSensor(_LedgerWindowSensor):
    """What the spend cap counts now: the orders of the last 24 hours, by their cost, or
    by their bound while the cost is not known (spent + reserved). Read from the shared
    ledger, so the CLI's and the MCP server's orders count too.

    The cap is an attribute (a setting, not a reading), beside the parts of the sum; what
    is left under the cap is a sensor of its own (SpendLeftSensor), to show on a card.
    """

    _attr_translation_key = "spent_24h"

    def __init__(self, coordinator: OrdersCoordinator, entry: HappyFollowerConfigEntry) -> None:
        super().__init__(coordinator, entry, "spent_24h")

    @property
    def native_value(self) -> float:
        return self.coordinator.guard.usage().counted

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        usage = self.coordinator.guard.usage()
        return {
            "spend_cap": self.coordinator.guard.caps.max_spend_per_day,
            "spent": usage.spent,
            "reserved": usage.reserved,
            "orders": usage.orders,
            "orders_without_bound": usage.unbounded,
        }


class SpendLeftSensor(_LedgerWindowSensor):
    """How much more the spend cap lets orders cost now (never below 0); added only while
    a spend cap is set. An order whose bound is above this is refused."""

    _attr_translation_key = SPEND_LEFT_KEY

    def __init__(self, coordinator: OrdersCoordinator, entry: HappyFollowerConfigEntry) -> None:
        super().__init__(coordinator, entry, SPEND_LEFT_KEY)

    @property
    def native_value(self) -> float | None:
        cap = self.coordinator.guard.caps.max_spend_per_day
        if cap is None:
            return None
        return self.coordinator.guard.usage().room(cap)


class SpentSensor(HappyFollowerEntity[OrdersCoordinator], SensorEntity):
    """Money spent on the orders placed or tracked here, a running total ("Total spent";
    the 24-hour window is SpentLast24HoursSensor).

    A total (not a measurement): Home Assistant's statistics show the spend per hour,
    day or month from it, and users' history of it goes on. A cost that changes later
    (a partial refund) changes the total by the difference. Same unit as the credit.
    """

    _attr_translation_key = "spent"
    _attr_state_class = SensorStateClass.TOTAL
    _attr_suggested_display_precision = 0

    def __init__(self, coordinator: OrdersCoordinator, entry: HappyFollowerConfigEntry) -> None:
        super().__init__(coordinator, entry, "spent")
        self._attr_native_unit_of_measurement, self._attr_device_class = money_unit(
            coordinator.hass, entry
        )

    @property
    def available(self) -> bool:
        # A total read from storage: true whether or not the last status read worked.
        return True

    @property
    def suggested_object_id(self) -> str:
        # Its entity id stays what it was before the sensor was named "Total spent".
        return "spent"

    @property
    def native_value(self) -> float:
        return self.coordinator.store.spent


class ActiveOrdersSensor(HappyFollowerEntity[OrdersCoordinator], SensorEntity):
    """How many tracked orders are not final yet.

    No unit: Home Assistant shows units untranslated and without plural forms ("1 orders").
    """

    _attr_translation_key = "active_orders"
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, coordinator: OrdersCoordinator, entry: HappyFollowerConfigEntry) -> None:
        super().__init__(coordinator, entry, "active_orders")

    @property
    def native_value(self) -> int:
        return sum(not order.is_final for order in self.coordinator.data.values())


class OrderSensor(HappyFollowerEntity[OrdersCoordinator], SensorEntity):
    """One value of one tracked order."""

    entity_description: OrderSensorDescription

    def __init__(
        self,
        coordinator: OrdersCoordinator,
        entry: HappyFollowerConfigEntry,
        order_id: int,
        description: OrderSensorDescription,
    ) -> None:
        super().__init__(coordinator, entry, order_key(order_id, description))
        self.entity_description = description
        self.order_id = order_id
        self._attr_device_info = order_device_info(
            entry, coordinator.store.orders[order_id], system_language(coordinator.hass)
        )
        # Entity ids keep the order id, whatever the device's (translated) name.
        self.entity_id = f"sensor.{DOMAIN}_{order_key(order_id, description)}"
        if description.money:
            self._attr_native_unit_of_measurement, self._attr_device_class = money_unit(
                coordinator.hass, entry
            )

    @property
    def _status(self) -> OrderStatus | None:
        order = self.coordinator.data.get(self.order_id)
        return None if order is None else order.status

    @property
    def available(self) -> bool:
        return super().available and self.order_id in self.coordinator.data

    @property
    def native_value(self) -> str | int | float | None:
        status = self._status
        return None if status is None else self.entity_description.value_fn(status)

    @property
    def options(self) -> list[str] | None:
        if self.entity_description.device_class is not SensorDeviceClass.ENUM:
            return None
        status = self._status
        if status is not None and normalized(status) not in KNOWN_STATUSES:
            return [*KNOWN_STATUSES, normalized(status)]
        return KNOWN_STATUSES

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        # The order, its service, the page it is for and the service's own (Persian) status title.
        if self.entity_description.key != "status":
            return None
        order = self.coordinator.data.get(self.order_id)
        status = self._status
        return {
            "order_id": self.order_id,
            "service_id": None if order is None else order.service_id,
            "service_name": (
                None
                if order is None or not order.service_name
                else display_text(order.service_name)
            ),
            "link": None if order is None else order.target_link,
            "status_title": None if status is None else display_text(status.status_title),
        }
