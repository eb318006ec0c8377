"""Prices per unit: the one that bounds a service's orders (the operator's, or one a
person confirmed) and the one the vendor was seen to charge (only ever offered to a
person for confirmation, never a bound by itself)."""

from __future__ import annotations

from dataclasses import dataclass

from .book import Book
from .caps import SpendCaps
from .validation import positive_amount


@dataclass(frozen=True, slots=True)
class CostBound:
    """The most an order can cost, and why."""

    amount: float | None  # None: nothing bounds it
    basis: str  # where the amount comes from, for the person


def read_price(value: object) -> float:
    """A price per unit a person gives (Persian digits too), or HappyFollowerInputError."""
    return positive_amount(value, "the price per unit", field="unit_price")


def bounding_price(
    caps: SpendCaps, book: Book, service_id: int, sandbox: bool
) -> tuple[float, str] | None:
    """The price per unit that bounds the service's orders and where it comes from: the
    operator's or the latest a person confirmed, the higher when both exist."""
    operator = caps.unit_prices.get(service_id)
    confirmed = book.prices.get((sandbox, service_id))
    candidates = []
    if operator is not None:
        candidates.append((float(operator), "operator's price per unit"))
    if confirmed is not None and confirmed.unit_price is not None:
        who = confirmed.confirmed_by or "a person"
        candidates.append((confirmed.unit_price, f"price per unit confirmed by {who}"))
    return max(candidates, default=None, key=lambda item: item[0])


def cost_bound(price: tuple[float, str] | None, count: int) -> CostBound:
    """The most an order of ``count`` units can cost at the bounding ``price``.

    The credit does not bound it: credit added between reading it and the order's
    charge (a top-up, a refund) would let the service charge more.
    """
    if price is None:
        return CostBound(None, "no price is known for this service")
    return CostBound(price[0] * count, price[1])


def offered_price(book: Book, service_id: int, sandbox: bool) -> tuple[float, str] | None:
    """The price of a hold, else the highest price of an order's first status."""
    hold = book.holds.get((sandbox, service_id))
    if hold is not None and hold.unit_price is not None:
        return hold.unit_price, f"charged per unit by order {hold.order_id}"
    seen = [
        (price, f"charged per unit by order {attempt.order_id}")
        for attempt in book.attempts.values()
        if attempt.first.service_id == service_id
        and attempt.first.sandbox == sandbox
        and (price := attempt.unit_price) is not None
    ]
    return max(seen, default=None, key=lambda item: item[0])


def held_services(book: Book, sandbox: bool) -> dict[int, float]:
    """Services of one environment on hold -> the price per unit the vendor charged."""
    return {
        service_id: record.unit_price or 0.0
        for (in_sandbox, service_id), record in book.holds.items()
        if in_sandbox == sandbox
    }
