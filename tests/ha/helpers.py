"""Small helpers of the Home Assistant tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant, ServiceResponse
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.happy_follower.const import DOMAIN

LINK = "https://www.instagram.com/mehdifeizi"
SENT = LINK + "/"  # LINK as the input policy writes it (its canonical form)


async def call(
    hass: HomeAssistant, entry: MockConfigEntry, action: str, response: bool = False, **data: Any
) -> ServiceResponse:
    return await hass.services.async_call(
        DOMAIN,
        action,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=response,
    )


async def place(
    hass: HomeAssistant, entry: MockConfigEntry, count: int = 100, service_id: int = 10
) -> int:
    result = await call(
        hass, entry, "place_order", True, service_id=service_id, link=LINK, count=count
    )
    assert result is not None
    order_id = result["order_id"]
    assert isinstance(order_id, int)
    return order_id


async def tick(hass: HomeAssistant, minutes: float) -> None:
    """Move Home Assistant's time forward and let the refreshes it triggers finish."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=minutes))
    await hass.async_block_till_done(wait_background_tasks=True)
