"""The ledger lines the spend guard writes: every field a person may read made
display-safe and bounded, the time from the guard's clock, the environment its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .ledger import MAX_REASON_LENGTH, AuditEvent, AuditRecord
from .validation import OrderRequest, display_text


@dataclass(frozen=True, slots=True)
class RawOrder:
    """What was asked for, kept in a refusal's record when it is well-formed."""

    service_id: int | None
    link: str | None
    count: int | None

    @classmethod
    def asked(cls, service_id: object, link: object, count: object) -> RawOrder:
        """The parts of unvalidated input that a refusal's record can keep."""
        return cls(
            service_id if type(service_id) is int else None,
            display_text(link, 200) if isinstance(link, str) else None,
            count if type(count) is int else None,
        )

    @classmethod
    def of(cls, record: AuditRecord) -> RawOrder:
        """The order a ledger line is about."""
        return cls(record.service_id, record.link, record.count)


@dataclass(frozen=True, slots=True)
class LineDetails:
    """The optional fields of a line the guard writes."""

    attempt_id: str | None = None
    order_id: int | None = None
    cost: float | None = None
    cost_estimate: float | None = None
    cost_bound: float | None = None
    confirmed_by: str | None = None
    process: str | None = None
    reason: str | None = None
    unit_price: float | None = None
    anomaly: str | None = None


def _shown(text: str | None) -> str | None:
    return display_text(text, MAX_REASON_LENGTH) if text else None


@dataclass(frozen=True, slots=True)
class LineWriter:
    """Builds the guard's ledger lines for one front-end (``source``)."""

    source: str
    clock: Callable[[], datetime]

    def line(
        self,
        event: AuditEvent,
        order: OrderRequest | RawOrder,
        sandbox: bool,
        details: LineDetails | None = None,
    ) -> AuditRecord:
        more = details or LineDetails()
        return AuditRecord(
            at=self.clock(),
            event=event,
            source=self.source,
            sandbox=sandbox,
            attempt_id=more.attempt_id,
            service_id=order.service_id,
            link=order.link,
            count=order.count,
            order_id=more.order_id,
            cost=more.cost,
            cost_estimate=more.cost_estimate,
            cost_bound=more.cost_bound,
            confirmed_by=_shown(more.confirmed_by),
            process=more.process,
            reason=_shown(more.reason),
            unit_price=more.unit_price,
            anomaly=_shown(more.anomaly),
        )
