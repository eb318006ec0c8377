"""The ledger folded into a book: each order attempt with its outcome and the costs its
statuses gave, the prices people confirmed, the services on hold.

Also the one rule for a cost a status reports (``plausible_cost``, ``cost_anomaly``):
the vendor's word never lowers what the caps count below an order's bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from .ledger import AuditEvent, AuditRecord
from .validation import amount_text

OUTCOMES = frozenset({AuditEvent.PLACED, AuditEvent.FAILED, AuditEvent.OUTCOME_UNKNOWN})
type Outcome = Literal["pending", "placed", "failed", "outcome_unknown"]
OUTCOME_NAMES: dict[AuditEvent, Outcome] = {
    AuditEvent.ATTEMPT: "pending",
    AuditEvent.PLACED: "placed",
    AuditEvent.FAILED: "failed",
    AuditEvent.OUTCOME_UNKNOWN: "outcome_unknown",
}
type PriceKey = tuple[bool, int]  # (sandbox, service id)


def reported_cost(cost: float | None) -> float | None:
    """A status's cost as a float; a whole number too large for a float is infinite (an
    anomaly), not a crash."""
    if cost is None:
        return None
    try:
        return float(cost)
    except OverflowError:
        return math.inf


def plausible_cost(reported: float | None) -> float | None:
    """A reported cost the guard can count: finite and above 0, else None."""
    if reported is None or not math.isfinite(reported) or reported <= 0:
        return None
    return float(reported)


def cost_anomaly(reported: float | None, bound: float | None) -> str | None:
    """Why a cost a status reported is not simply the order's cost, or None. The one rule
    for every status read (the first one after placing, and every later one)."""
    if reported is None:
        return "the status gave no cost"
    if not math.isfinite(reported) or reported <= 0:
        return f"the status gave a cost of {amount_text(reported)}"
    if bound is not None and reported < bound:
        return (
            f"the status gave a cost of {amount_text(reported)}, below the order's bound of "
            f"{amount_text(bound)} (a refund, a price below yours, or a wrong figure): it "
            "counts at its bound"
        )
    if bound is not None and reported > bound:
        return (
            f"the service charged {amount_text(reported)}, above the order's bound of "
            f"{amount_text(bound)}"
        )
    return None


@dataclass(slots=True)
class Attempt:
    """The lines of one attempt folded together."""

    first: AuditRecord
    outcome: AuditRecord | None = None
    cost: float | None = None  # the highest plausible cost a status reported
    anomalies: set[str] = field(default_factory=set)  # already written for this attempt

    @property
    def order_id(self) -> int | None:
        return self.outcome.order_id if self.outcome is not None else None

    @property
    def failed(self) -> bool:
        return self.outcome is not None and self.outcome.event is AuditEvent.FAILED

    @property
    def outcome_unknown(self) -> bool:
        """Sent (or being sent) without an answer: it may have been placed."""
        return self.outcome is None or self.outcome.event is AuditEvent.OUTCOME_UNKNOWN

    @property
    def unit_price(self) -> float | None:
        """The price per unit the first status showed, offered to a person for confirmation
        (never a bound by itself). Not from a later status (a partial or cancelled order
        costs less than its count) nor from the credit (a top-up or a refund moves it)."""
        outcome = self.outcome
        if outcome is None or outcome.event is not AuditEvent.PLACED or not self.first.count:
            return None
        cost = plausible_cost(outcome.cost)
        return None if cost is None else cost / self.first.count

    def note(self, record: AuditRecord) -> None:
        """Take a cost and an anomaly from one of this attempt's lines."""
        cost = plausible_cost(record.cost)
        if cost is not None and (self.cost is None or cost > self.cost):
            self.cost = cost
        if record.anomaly:
            self.anomalies.add(record.anomaly)

    def spend(self) -> tuple[float, float, int]:
        """(known cost, reserved amount, 1 if neither) of this attempt.

        With a bound, the order counts at the largest of its bound, its reported cost and
        its cost estimated from the credit: the vendor's word never lowers it. Without one,
        at its reported cost, else its estimate, else it is unbounded.
        """
        bound = self.first.cost_bound
        estimate = self.outcome.cost_estimate if self.outcome is not None else None
        spent = self.cost or 0.0
        if bound is not None:
            return spent, max(bound, spent, estimate or 0.0) - spent, 0
        if self.cost is not None:
            return spent, 0.0, 0
        if estimate is not None:
            return 0.0, estimate, 0
        return 0.0, 0.0, 1


@dataclass(slots=True)
class Book:
    """The ledger folded: attempts, the prices people confirmed, the services on hold."""

    attempts: dict[str, Attempt] = field(default_factory=dict)
    prices: dict[PriceKey, AuditRecord] = field(default_factory=dict)  # the latest
    holds: dict[PriceKey, AuditRecord] = field(default_factory=dict)  # not yet lifted

    def by_order(self, sandbox: bool, order_id: int) -> Attempt | None:
        for attempt in self.attempts.values():
            if attempt.order_id == order_id and attempt.first.sandbox == sandbox:
                return attempt
        return None

    def take_price(self, record: AuditRecord) -> None:
        """Take a PRICE (a person stands behind it; lifts a hold) or PRICE_HOLD line."""
        if record.service_id is None:
            return
        service = (record.sandbox, record.service_id)
        if record.event is AuditEvent.PRICE:
            self.prices[service] = record
            self.holds.pop(service, None)
        else:
            self.holds[service] = record


def fold(records: list[AuditRecord]) -> Book:
    """The ledger's lines folded, oldest first. Lines from before write-ahead stand alone."""
    book = Book()
    by_order: dict[tuple[bool, int], Attempt] = {}  # for costs of lines without an id
    for index, record in enumerate(records):
        if record.event is AuditEvent.REFUSED:
            continue
        if record.event in (AuditEvent.PRICE, AuditEvent.PRICE_HOLD):
            book.take_price(record)
            continue
        if record.event is AuditEvent.COST:
            target = book.attempts.get(record.attempt_id or "") or by_order.get(
                (record.sandbox, record.order_id or 0)
            )
            if target is not None:
                target.note(record)
            continue
        key = record.attempt_id or f"line-{index}"
        attempt = book.attempts.setdefault(key, Attempt(record))
        if record.event in OUTCOMES:
            attempt.outcome = record
            attempt.note(record)
            if record.order_id is not None:
                by_order[(record.sandbox, record.order_id)] = attempt
    return book
