"""Tracked orders and the audit trail of orders placed, kept in Home Assistant storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from pydantic import ValidationError

from shared_client.guard import AuditRecord
from shared_client.models import OrderStatus

from .const import DOMAIN, LOGGER

STORAGE_VERSION = 1
# Status changes are written soon after; tracking changes and audit records at once.
SAVE_DELAY = 5
# The caps look back 24 hours; keep a week of audit for diagnostics.
AUDIT_KEEP = timedelta(days=7)


class _StoredOrder(TypedDict):
    order_id: int
    added_at: str
    final_since: str | None
    status: dict[str, Any] | None


class _StoredData(TypedDict):
    orders: list[_StoredOrder]
    audit: list[dict[str, Any]]


@dataclass(slots=True)
class TrackedOrder:
    """An order the integration follows; ``status`` is the last one read."""

    order_id: int
    added_at: datetime
    status: OrderStatus | None = None
    final_since: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.status is not None and self.status.is_final


class HappyFollowerStore:
    """The tracked orders and audit records of one config entry."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[_StoredData] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", atomic_writes=True
        )
        self.orders: dict[int, TrackedOrder] = {}
        self.audit: list[AuditRecord] = []

    async def async_load(self) -> None:
        """Read what was saved; a damaged item is skipped with a warning, never fatal."""
        data = await self._store.async_load()
        if data is None:
            return
        for item in data.get("orders", []):
            try:
                status = item["status"]
                order = TrackedOrder(
                    order_id=int(item["order_id"]),
                    added_at=_parse_time(item["added_at"]),
                    status=None if status is None else OrderStatus.model_validate(status),
                    final_since=(
                        None if item["final_since"] is None else _parse_time(item["final_since"])
                    ),
                )
            except (KeyError, TypeError, ValueError, ValidationError):
                LOGGER.warning("Skipping a damaged tracked order in storage: %s", item)
                continue
            self.orders[order.order_id] = order
        for record in data.get("audit", []):
            try:
                self.audit.append(AuditRecord.model_validate(record))
            except ValidationError:
                LOGGER.warning("Skipping a damaged audit record in storage")

    async def async_save(self) -> None:
        """Write now (tracking changes, audit records): nothing may be lost on a crash."""
        await self._store.async_save(self._data())

    def async_schedule_save(self) -> None:
        """Write soon (status changes); Home Assistant flushes pending writes on stop."""
        self._store.async_delay_save(self._data, SAVE_DELAY)

    async def async_add_audit(self, record: AuditRecord) -> None:
        """Keep a record of the spend guard (its ``record=`` callback)."""
        since = dt_util.utcnow() - AUDIT_KEEP
        self.audit = [item for item in self.audit if item.at >= since]
        self.audit.append(record)
        await self.async_save()

    async def async_remove(self) -> None:
        """Delete the file (the config entry was removed)."""
        await self._store.async_remove()

    def _data(self) -> _StoredData:
        return {
            "orders": [
                {
                    "order_id": order.order_id,
                    "added_at": order.added_at.isoformat(),
                    "final_since": order.final_since.isoformat() if order.final_since else None,
                    "status": (
                        None
                        if order.status is None
                        else order.status.model_dump(mode="json", by_alias=True)
                    ),
                }
                for order in self.orders.values()
            ],
            "audit": [record.model_dump(mode="json") for record in self.audit],
        }


def _parse_time(value: str) -> datetime:
    parsed = dt_util.parse_datetime(value)
    if parsed is None:
        raise ValueError(value)
    return parsed
