"""Diagnostics of a Happy Follower config entry, with secrets and personal data redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from .const import ATTR_LINK
from .coordinator import HappyFollowerConfigEntry

# The key is a secret; links name the user's Instagram pages; who confirmed an order
# names a Home Assistant user.
TO_REDACT = {CONF_API_KEY, ATTR_LINK, "confirmed_by"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: HappyFollowerConfigEntry
) -> dict[str, Any]:
    data = entry.runtime_data
    guard = data.guard
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "client": {"base_url": data.client.base_url, "sandbox": data.client.sandbox},
            "credit": {
                "value": data.credit.data,
                "last_update_success": data.credit.last_update_success,
            },
            "orders": {
                "last_update_success": data.orders.last_update_success,
                "tracked": [
                    {
                        "order_id": order.order_id,
                        "added_at": order.added_at.isoformat(),
                        "final_since": order.final_since.isoformat() if order.final_since else None,
                        "status": None
                        if order.status is None
                        else order.status.model_dump(mode="json"),
                    }
                    for order in data.store.orders.values()
                ],
            },
            "spend_guard": {
                "caps": {
                    "max_count_per_order": guard.caps.max_count_per_order,
                    "max_orders_per_day": guard.caps.max_orders_per_day,
                    "max_spend_per_day": guard.caps.max_spend_per_day,
                    "unit_prices": dict(guard.caps.unit_prices),
                },
                # The last 24 hours in this environment: real costs known, and the
                # bounds still reserved for orders whose cost is not known yet.
                "usage": asdict(guard.usage()),
                "spent_total": data.store.spent,
                "ledger": str(guard.ledger.path),
                "orders": [asdict(order) for order in guard.orders(20)],
            },
        },
        TO_REDACT,
    )
