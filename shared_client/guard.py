"""Spend safety shared by every front-end that places orders.

``SpendGuard.place_order`` is the one path to spend credit: it validates the input,
enforces the operator's caps over a rolling 24 hours, places the order once (never
retried), learns its cost, and leaves an audit record of every attempt. Orders are
placed one at a time, so concurrent callers can never exceed a cap together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .client import HappyFollowerClient
from .errors import (
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerSpendCapError,
)
from .models import OrderStatus
from .validation import OrderRequest, validate_order

_LOGGER = logging.getLogger(__name__)
WINDOW = timedelta(hours=24)
MAX_REASON_LENGTH = 300


@dataclass(frozen=True, slots=True)
class SpendCaps:
    """Limits on spending; ``None`` means no limit."""

    max_count_per_order: int | None = None
    max_orders_per_day: int | None = None
    max_spend_per_day: float | None = None


class AuditEvent(StrEnum):
    """What happened to one attempt to place an order."""

    PLACED = "placed"
    REFUSED = "refused"  # by validation or a cap; nothing was sent
    FAILED = "failed"  # the service answered with an error; nothing was placed
    OUTCOME_UNKNOWN = "outcome_unknown"  # sent, no answer: counted as placed


class AuditRecord(BaseModel):
    """One line of the audit trail. Never holds a secret."""

    at: datetime
    event: AuditEvent
    source: str
    sandbox: bool
    service_id: int | None = None
    link: str | None = None
    count: int | None = None
    order_id: int | None = None
    cost: float | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order the guard placed, with its first status (None when that read failed)."""

    order_id: int
    service_id: int
    link: str
    count: int
    status: OrderStatus | None

    @property
    def cost(self) -> float | None:
        """What the service charged, as its first status reported it."""
        if self.status is None or self.status.cost is None:
            return None
        return float(self.status.cost)


class SpendGuard:
    """Validation, caps and audit around ``HappyFollowerClient.place_order``.

    ``history`` is the audit trail so far (to count today's orders after a restart);
    ``record`` persists each new record (a JSON-lines file, Home Assistant storage...).
    """

    def __init__(
        self,
        caps: SpendCaps,
        *,
        source: str,
        history: Iterable[AuditRecord] = (),
        record: Callable[[AuditRecord], Awaitable[None]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.caps = caps
        self._source = source
        self._records = list(history)
        self._persist = record
        self._clock = clock
        self._lock = asyncio.Lock()

    @property
    def records(self) -> list[AuditRecord]:
        """The audit trail, oldest first."""
        return list(self._records)

    def orders_in_window(self) -> int:
        """Orders placed (or possibly placed) in the last 24 hours."""
        return len(self._spending_records())

    def spent_in_window(self) -> float:
        """Credit spent in the last 24 hours, from the costs the API reported."""
        return sum(record.cost or 0.0 for record in self._spending_records())

    def check(self, order: OrderRequest) -> None:
        """Raise HappyFollowerSpendCapError if order would break a cap. Sends nothing."""
        caps = self.caps
        if caps.max_count_per_order is not None and order.count > caps.max_count_per_order:
            raise HappyFollowerSpendCapError(
                f"count {order.count} is above the largest allowed per order "
                f"({caps.max_count_per_order}); order less or raise the cap",
                cap="max_count_per_order",
            )
        if caps.max_orders_per_day is not None and (
            self.orders_in_window() >= caps.max_orders_per_day
        ):
            raise HappyFollowerSpendCapError(
                f"{caps.max_orders_per_day} orders were already placed in the last 24 hours, "
                "the most allowed; wait or raise the cap",
                cap="max_orders_per_day",
            )
        if caps.max_spend_per_day is not None:
            spent = self.spent_in_window()
            estimate = self.estimated_cost(order) or 0.0
            if spent + estimate > caps.max_spend_per_day or spent >= caps.max_spend_per_day:
                raise HappyFollowerSpendCapError(
                    f"this order (about {estimate:g}) would take the spending of the last 24 "
                    f"hours ({spent:g}) above the cap of {caps.max_spend_per_day:g}; "
                    "wait or raise the cap",
                    cap="max_spend_per_day",
                )

    def estimated_cost(self, order: OrderRequest) -> float | None:
        """Estimate from the last unit price seen for the service (the API lists no prices)."""
        for record in reversed(self._records):
            if (
                record.service_id == order.service_id
                and record.event is AuditEvent.PLACED
                and record.cost is not None
                and record.count
            ):
                return record.cost / record.count * order.count
        return None

    async def record_refusal(self, order: OrderRequest, reason: str, *, sandbox: bool) -> None:
        """Audit an order refused before ``place_order`` (declined by the person, a cap hit
        before asking, no way to confirm). Nothing was sent."""
        await self._audit(AuditEvent.REFUSED, sandbox, order=order, reason=reason)

    async def place_order(
        self, client: HappyFollowerClient, *, service_id: object, link: object, count: object
    ) -> PlacedOrder:
        """Validate, check the caps, place the order once and audit the attempt."""
        async with self._lock:
            try:
                order = validate_order(service_id, link, count)
                self.check(order)
            except (HappyFollowerInputError, HappyFollowerSpendCapError) as err:
                await self._audit(
                    AuditEvent.REFUSED,
                    client.sandbox,
                    reason=str(err),
                    raw=(service_id, link, count),
                )
                raise
            try:
                order_id = await client.place_order(
                    service_id=order.service_id, link=order.link, count=order.count
                )
            except HappyFollowerOrderOutcomeUnknownError as err:
                await self._audit(
                    AuditEvent.OUTCOME_UNKNOWN, client.sandbox, order=order, reason=str(err)
                )
                raise
            except HappyFollowerError as err:
                await self._audit(AuditEvent.FAILED, client.sandbox, order=order, reason=str(err))
                raise
            status: OrderStatus | None = None
            try:
                status = await client.get_order_status(order_id)
            except HappyFollowerError as err:
                _LOGGER.warning("Order %s placed; its cost could not be read: %s", order_id, err)
            placed = PlacedOrder(order_id, order.service_id, order.link, order.count, status)
            await self._audit(
                AuditEvent.PLACED, client.sandbox, order=order, order_id=order_id, cost=placed.cost
            )
            return placed

    def _spending_records(self) -> list[AuditRecord]:
        since = self._clock() - WINDOW
        return [
            record
            for record in self._records
            if record.at >= since
            and record.event in (AuditEvent.PLACED, AuditEvent.OUTCOME_UNKNOWN)
        ]

    async def _audit(
        self,
        event: AuditEvent,
        sandbox: bool,
        *,
        order: OrderRequest | None = None,
        raw: tuple[object, object, object] | None = None,
        order_id: int | None = None,
        cost: float | None = None,
        reason: str | None = None,
    ) -> None:
        fields: dict[str, object] = {}
        if order is not None:
            fields = {"service_id": order.service_id, "link": order.link, "count": order.count}
        elif raw is not None:
            # Keep what was asked for when it is well-formed; drop the rest.
            service_id, link, count = raw
            fields = {
                "service_id": service_id if type(service_id) is int else None,
                "link": link[:200] if isinstance(link, str) else None,
                "count": count if type(count) is int else None,
            }
        record = AuditRecord(
            at=self._clock(),
            event=event,
            source=self._source,
            sandbox=sandbox,
            order_id=order_id,
            cost=cost,
            reason=reason[:MAX_REASON_LENGTH] if reason else None,
            **fields,
        )
        self._records.append(record)
        if self._persist is not None:
            await self._persist(record)


class JsonlAuditLedger:
    """An append-only JSON-lines file of audit records."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[AuditRecord]:
        """Read every record; a damaged line is skipped with a warning, never fatal."""
        if not self.path.exists():
            return []
        records = []
        with self.path.open(encoding="utf-8") as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    records.append(AuditRecord.model_validate_json(line))
                except ValidationError:
                    _LOGGER.warning("Skipping damaged line %d of %s", number, self.path)
        return records

    def append(self, record: AuditRecord) -> None:
        """Append one record and flush it to disk."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(record.model_dump_json() + "\n")
            file.flush()

    async def append_async(self, record: AuditRecord) -> None:
        """``append`` off the event loop, for ``SpendGuard(record=...)``."""
        await asyncio.to_thread(self.append, record)


__all__ = [
    "AuditEvent",
    "AuditRecord",
    "JsonlAuditLedger",
    "PlacedOrder",
    "SpendCaps",
    "SpendGuard",
]
