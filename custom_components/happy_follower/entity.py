"""The base entity of the Happy Follower integration: one service device per account."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import DOMAIN, SIGNUP_URL
from .coordinator import HappyFollowerConfigEntry


class HappyFollowerEntity[CoordinatorT: DataUpdateCoordinator[Any]](
    CoordinatorEntity[CoordinatorT]
):
    """An entity of one Happy Follower account."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: CoordinatorT, entry: HappyFollowerConfigEntry, key: str
    ) -> None:
        super().__init__(coordinator)
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Happy Follower",
            model="SMM panel API v1",
            entry_type=DeviceEntryType.SERVICE,
            configuration_url=SIGNUP_URL,
        )
