"""Small helpers of the Home Assistant tests."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from homeassistant.components import persistent_notification
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


def ledger_lines(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    """The entry's ledger as written, one dict per line (none before the first write)."""
    path = Path(hass.config.path(".storage", f"{DOMAIN}.{entry.entry_id}.ledger.jsonl"))
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def approval_notifications(hass: HomeAssistant) -> list[dict[str, Any]]:
    """The notifications that ask the person to approve an assistant's order."""
    return [
        dict(item)
        for item in persistent_notification._async_get_or_create_notifications(hass).values()
        if item["notification_id"].startswith(f"{DOMAIN}_approval_")
    ]


def approval_code(hass: HomeAssistant) -> str:
    """The code, read from the one approval notification as the person reads it."""
    (notification,) = approval_notifications(hass)
    match = re.search(r"\*\*(\d{6})\*\*", notification["message"])
    assert match is not None, notification["message"]
    return match.group(1)
