"""Tracked orders and the money spent on them, kept in Home Assistant storage.

One file per config entry. Orders are kept per environment (live, sandbox, or a test
server): an entry reconfigured to another environment follows only that
environment's orders, and finds its earlier ones again when it is switched back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from pydantic import ValidationError

from shared_client.models import OrderStatus

from .const import DOMAIN, LOGGER

STORAGE_VERSION = 1
# Progress is written soon after; tracking changes, status changes (which fire events)
# and costs at once.
SAVE_DELAY = 5


class _StoredOrder(TypedDict):
    order_id: int
    added_at: str
    final_since: str | None
    status: dict[str, Any] | None
    environment: NotRequired[str]
    service_id: NotRequired[int | None]
    service_name: NotRequired[str | None]
    link: NotRequired[str | None]
    counted_cost: NotRequired[float]


class _StoredData(TypedDict):
    orders: list[_StoredOrder]
    spent: NotRequired[dict[str, float]]
    # Audit records of versions before the shared ledger; read once, to carry over.
    audit: NotRequired[list[dict[str, Any]]]


@dataclass(slots=True)
class TrackedOrder:
    """An order the integration follows; ``status`` is the last one read.

    ``service_id``, ``service_name`` and ``link`` are known for orders placed here
    (``link`` also from the status); ``counted_cost`` is what the spend total holds
    for this order, so a cost that changes later is counted by its difference.
    """

    order_id: int
    added_at: datetime
    environment: str
    status: OrderStatus | None = None
    final_since: datetime | None = None
    service_id: int | None = None
    service_name: str | None = None
    link: str | None = None
    counted_cost: float = 0.0

    @property
    def is_final(self) -> bool:
        return self.status is not None and self.status.is_final

    @property
    def target_link(self) -> str | None:
        """The page the order is for: as ordered, else as the service reports it."""
        if self.link:
            return self.link
        return self.status.link if self.status is not None and self.status.link else None


class HappyFollowerStore:
    """The tracked orders and spend total of one config entry, for one environment."""

    def __init__(self, hass: HomeAssistant, entry_id: str, environment: str) -> None:
        self._store: Store[_StoredData] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", atomic_writes=True
        )
        self.environment = environment
        self.orders: dict[int, TrackedOrder] = {}
        self.legacy_audit: list[dict[str, Any]] = []
        self._spent: dict[str, float] = {}
        # Orders of other environments, kept as stored and untouched.
        self._other_orders: list[_StoredOrder] = []

    @property
    def spent(self) -> float:
        """Money spent on the orders tracked in this environment, since the entry was set up."""
        return self._spent.get(self.environment, 0.0)

    async def async_load(self) -> None:
        """Read what was saved; a damaged item is skipped with a warning, never fatal."""
        data = await self._store.async_load()
        if data is None:
            return
        spent = data.get("spent", {})
        self._spent = {
            str(root): float(value)
            for root, value in spent.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        self.legacy_audit = [item for item in data.get("audit", []) if isinstance(item, dict)]
        for item in data.get("orders", []):
            # Orders saved before environments were kept belong to the environment in use.
            if item.get("environment", self.environment) != self.environment:
                self._other_orders.append(item)
                continue
            try:
                order = self._parse(item)
            except (KeyError, TypeError, ValueError, ValidationError):
                LOGGER.warning("Skipping a damaged tracked order in storage: %s", item)
                continue
            self.orders[order.order_id] = order

    def _parse(self, item: _StoredOrder) -> TrackedOrder:
        status = item["status"]
        final_since = item["final_since"]
        service_id = item.get("service_id")
        return TrackedOrder(
            order_id=int(item["order_id"]),
            added_at=_parse_time(item["added_at"]),
            environment=self.environment,
            status=None if status is None else OrderStatus.model_validate(status),
            final_since=None if final_since is None else _parse_time(final_since),
            service_id=None if service_id is None else int(service_id),
            service_name=_optional_text(item.get("service_name")),
            link=_optional_text(item.get("link")),
            counted_cost=float(item.get("counted_cost", 0.0)),
        )

    def count_cost(self, order: TrackedOrder) -> bool:
        """Add what the order's cost adds to the spend total; True if the total changed."""
        if order.status is None or order.status.cost is None:
            return False
        cost = float(order.status.cost)
        if cost == order.counted_cost:
            return False
        self._spent[self.environment] = self.spent + cost - order.counted_cost
        order.counted_cost = cost
        return True

    async def async_save(self) -> None:
        """Write now: what fires events or counts money may not be lost on a crash."""
        await self._store.async_save(self._data())

    def async_schedule_save(self) -> None:
        """Write soon (progress); Home Assistant flushes pending writes on stop."""
        self._store.async_delay_save(self._data, SAVE_DELAY)

    async def async_forget_legacy_audit(self) -> None:
        """The old audit records were carried over to the ledger: drop them from here."""
        if self.legacy_audit:
            self.legacy_audit = []
            await self.async_save()

    async def async_remove(self) -> None:
        """Delete the file (the config entry was removed)."""
        await self._store.async_remove()

    def _data(self) -> _StoredData:
        data: _StoredData = {
            "orders": [
                *(_stored(order) for order in self.orders.values()),
                *self._other_orders,
            ],
            "spent": dict(self._spent),
        }
        if self.legacy_audit:
            data["audit"] = self.legacy_audit
        return data


def _stored(order: TrackedOrder) -> _StoredOrder:
    return {
        "order_id": order.order_id,
        "added_at": order.added_at.isoformat(),
        "final_since": order.final_since.isoformat() if order.final_since else None,
        "status": (
            None if order.status is None else order.status.model_dump(mode="json", by_alias=True)
        ),
        "environment": order.environment,
        "service_id": order.service_id,
        "service_name": order.service_name,
        "link": order.link,
        "counted_cost": order.counted_cost,
    }


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_time(value: str) -> datetime:
    parsed = dt_util.parse_datetime(value)
    if parsed is None:
        raise ValueError(value)
    return parsed
