"""Sensors: the credit, the money spent, the number of active orders, and each tracked order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant, callback
from homeassistant.generated.currencies import ACTIVE_CURRENCIES
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from shared_client.models import OrderStatus
from shared_client.protocol import FINAL_STATUSES, STATUS_TITLES
from shared_client.validation import display_text

from .const import DOMAIN
from .coordinator import (
    CreditCoordinator,
    HappyFollowerConfigEntry,
    OrdersCoordinator,
    credit_unit,
    status_key,
)
from .entity import HappyFollowerEntity, order_device_info, order_id_of_device

# Coordinators do all the fetching.
PARALLEL_UPDATES = 0

# Every status with a translation; a status outside this list is still shown as is.
KNOWN_STATUSES = sorted({status_key(status) for status in (*STATUS_TITLES, *FINAL_STATUSES)})
ORDER_KEY_PREFIX = "order_"


def money_device_class(unit: str) -> SensorDeviceClass | None:
    """Only an ISO 4217 currency (IRR, not Toman) may use the monetary device class."""
    return SensorDeviceClass.MONETARY if unit in ACTIVE_CURRENCIES else None


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
    async_add_entities(
        [
            CreditSensor(data.credit, entry),
            SpentSensor(data.orders, entry),
            ActiveOrdersSensor(data.orders, entry),
        ]
    )
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


class CreditSensor(HappyFollowerEntity[CreditCoordinator], SensorEntity):
    """The account's credit, in the unit chosen in the options."""

    _attr_translation_key = "credit"
    _attr_suggested_display_precision = 0

    def __init__(self, coordinator: CreditCoordinator, entry: HappyFollowerConfigEntry) -> None:
        super().__init__(coordinator, entry, "credit")
        unit = credit_unit(entry)
        self._attr_native_unit_of_measurement = unit
        self._attr_device_class = money_device_class(unit)
        # Monetary sensors allow only TOTAL; both give long-term statistics.
        self._attr_state_class = (
            SensorStateClass.TOTAL if self._attr_device_class else SensorStateClass.MEASUREMENT
        )

    @property
    def native_value(self) -> int | float:
        return self.coordinator.data


class SpentSensor(HappyFollowerEntity[OrdersCoordinator], SensorEntity):
    """Money spent on the orders placed or tracked here, a running total.

    A total (not a measurement): Home Assistant's statistics show the spend per hour,
    day or month from it. A cost that changes later (a partial refund) changes the
    total by the difference. Same unit as the credit.
    """

    _attr_translation_key = "spent"
    _attr_state_class = SensorStateClass.TOTAL
    _attr_suggested_display_precision = 0

    def __init__(self, coordinator: OrdersCoordinator, entry: HappyFollowerConfigEntry) -> None:
        super().__init__(coordinator, entry, "spent")
        unit = credit_unit(entry)
        self._attr_native_unit_of_measurement = unit
        self._attr_device_class = money_device_class(unit)

    @property
    def available(self) -> bool:
        # A total read from storage: true whether or not the last status read worked.
        return True

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
        self._attr_device_info = order_device_info(entry, coordinator.store.orders[order_id])
        # Entity ids keep the order id, whatever the device's (translated) name.
        self.entity_id = f"sensor.{DOMAIN}_{order_key(order_id, description)}"
        if description.money:
            unit = credit_unit(entry)
            self._attr_native_unit_of_measurement = unit
            self._attr_device_class = money_device_class(unit)

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
        # The order, the page it is for and the service's own (Persian) status title.
        if self.entity_description.key != "status":
            return None
        order = self.coordinator.data.get(self.order_id)
        status = self._status
        return {
            "order_id": self.order_id,
            "service_id": None if order is None else order.service_id,
            "link": None if order is None else order.target_link,
            "status_title": None if status is None else display_text(status.status_title),
        }
