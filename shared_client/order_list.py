"""The order list shown to people: one typed row per order attempt, built here once, and
the one plain view of it that every front-end (CLI, MCP server, Home Assistant's
assistants) renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .book import OUTCOME_NAMES, Outcome, fold
from .ledger import AuditRecord
from .validation import display_text

CONFIRMED_BY_LENGTH = 200  # who confirmed, as shown: a name, a source, a code's note


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    """One order attempt as the ledger tells it, for listing."""

    attempt_id: str
    at: datetime
    outcome: Outcome
    service_id: int | None
    link: str | None
    count: int | None
    order_id: int | None
    cost: float | None
    cost_bound: float | None
    confirmed_by: str | None
    source: str
    sandbox: bool
    # What was wrong with the costs its statuses gave (it counts at its bound anyway).
    anomalies: tuple[str, ...] = ()

    @classmethod
    def interrupted(cls, record: AuditRecord) -> LedgerOrder:
        """The row of an attempt a stopped process left without an outcome."""
        return cls(
            attempt_id=record.attempt_id or "",
            at=record.at,
            outcome="outcome_unknown",
            service_id=record.service_id,
            link=record.link,
            count=record.count,
            order_id=None,
            cost=None,
            cost_bound=record.cost_bound,
            confirmed_by=record.confirmed_by,
            source=record.source,
            sandbox=record.sandbox,
        )

    def summary(self) -> dict[str, Any]:
        """The row as plain data (JSON-ready; text display-safe): what every front-end
        shows of an order of the ledger."""
        return {
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "order_id": self.order_id,
            "service_id": self.service_id,
            "link": self.link,
            "count": self.count,
            "cost": self.cost,
            "cost_bound": self.cost_bound,
            "confirmed_by": (
                None
                if self.confirmed_by is None
                else display_text(self.confirmed_by, CONFIRMED_BY_LENGTH)
            ),
            "source": self.source,
            "sandbox": self.sandbox,
            "anomalies": list(self.anomalies),
        }


def ledger_orders(records: list[AuditRecord], sandbox: bool, limit: int) -> list[LedgerOrder]:
    """The order attempts of one environment in ``records``, newest first."""
    items = []
    for key, attempt in fold(records).attempts.items():
        first = attempt.first
        if first.sandbox != sandbox:
            continue
        event = attempt.outcome.event if attempt.outcome is not None else first.event
        items.append(
            LedgerOrder(
                attempt_id=first.attempt_id or key,
                at=first.at,
                outcome=OUTCOME_NAMES[event],
                service_id=first.service_id,
                link=first.link,
                count=first.count,
                order_id=attempt.order_id,
                cost=attempt.cost,
                cost_bound=first.cost_bound,
                confirmed_by=first.confirmed_by,
                source=first.source,
                sandbox=first.sandbox,
                anomalies=tuple(sorted(attempt.anomalies)),
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]
