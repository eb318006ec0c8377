"""The typed order on its one path: the quote a person confirms (what will be sent and what
it may cost) and the order placed from it."""

from __future__ import annotations

from dataclasses import dataclass

from .ledger import AuditRecord
from .models import OrderStatus
from .validation import OrderRequest, amount_text, display_text


@dataclass(frozen=True, slots=True)
class OrderQuote:
    """A validated order priced against the caps, for a person to confirm: what
    ``SpendGuard.place_order`` sends, and the most it may cost."""

    order: OrderRequest
    service_name: str  # display-safe
    cost_bound: float | None
    cost_basis: str  # where the bound comes from, for the person
    possible_duplicate: AuditRecord | None
    sandbox: bool

    def confirmation_lines(self, environment: str, unit: str = "") -> list[str]:
        """Fixed fields in a fixed order: exactly what will be sent, and what it may cost
        (in ``unit``, the credit's, when given)."""
        order = self.order
        if self.cost_bound is not None:
            amount = " ".join(
                filter(None, (f"{amount_text(self.cost_bound)}", display_text(unit, 16)))
            )
            cost = f"at most {amount} ({self.cost_basis})"
        else:
            cost = f"unknown until placed ({self.cost_basis})"
        lines = [
            f"Place this Happy Follower order? ({display_text(environment)})",
            f"Service: {order.service_id} - {self.service_name}",
            f"Link: {order.link}",
            f"Count: {order.count}",
            f"Cost: {cost}",
        ]
        if self.possible_duplicate is not None:
            earlier = self.possible_duplicate.at.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(
                f"WARNING: the same order was sent at {earlier} and its outcome is unknown: it "
                "may have been placed. Confirm only if you checked it was not (order status, "
                "credit)."
            )
        return lines


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order the guard placed, with its first status (None when that read failed)."""

    order_id: int
    service_id: int
    link: str
    count: int
    status: OrderStatus | None
    cost: float | None  # what the service charged, from its first status
    # When the status could not be read: the credit before minus after (too small if credit
    # arrived in between; the guard counts the order at its bound until the cost is read).
    estimated_cost: float | None = None
    service_name: str = ""  # display-safe, from the services list the order was checked against
    cost_bound: float | None = None  # what the caps count it at, at least
    anomaly: str | None = None  # what was wrong with the cost its first status gave


@dataclass(frozen=True, slots=True)
class SettledCost:
    """What settling an order's cost from a status read gave."""

    anomaly: str | None = None  # what was wrong with the cost, to show the person
    # Why the cost could not be written (the order keeps counting at its bound), or None.
    not_written: str | None = None
