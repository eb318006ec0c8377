"""Repairs: the person confirms they checked the orders a crash left in doubt."""

from __future__ import annotations

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import HomeAssistant


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The interrupted-orders issue: its text says how to check; confirming closes it."""
    return ConfirmRepairFlow()
