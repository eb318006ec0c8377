"""The spend caps, their use in the last 24 hours, and the rules that refuse an order.

Every refusal is a ``HappyFollowerSpendCapError`` whose ``cap`` is a ``Refusal`` kind and
whose ``amounts`` hold the figures its message gives (for translated messages).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .book import Book
from .errors import HappyFollowerInputError, HappyFollowerSpendCapError, Refusal
from .ledger import AuditRecord
from .validation import OrderRequest, amount_text, target_identity

WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SpendCaps:
    """Limits on spending; ``None`` means no limit.

    ``unit_prices`` is the operator's price per unit of a service, an upper bound the
    guard reserves before an order's real cost is known.
    """

    max_count_per_order: int | None = None
    max_orders_per_day: int | None = None
    max_spend_per_day: float | None = None
    unit_prices: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("max_count_per_order", "max_orders_per_day"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value <= 0):
                raise HappyFollowerInputError(
                    f"{name} must be a whole number above 0 (or no limit), got {value!r}"
                )
        _check_amount("max_spend_per_day", self.max_spend_per_day)
        for service_id, price in self.unit_prices.items():
            if type(service_id) is not int or service_id <= 0:
                raise HappyFollowerInputError(f"unit price for a bad service id {service_id!r}")
            _check_amount(f"the unit price of service {service_id}", price)


def _check_amount(name: str, value: object) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise HappyFollowerInputError(
            f"{name} must be a finite amount above 0 (or no limit), got {value!r}"
        )


# The one set of defaults for the CLI, the MCP server and Home Assistant. The API lists
# no prices, so there is no default spend cap: the operator sets one in their currency.
DEFAULT_CAPS = SpendCaps(max_count_per_order=1000, max_orders_per_day=10)


@dataclass(frozen=True, slots=True)
class Usage:
    """The caps' use in the last 24 hours, in one environment (live or sandbox)."""

    orders: int  # placed, possibly placed, or being placed
    spent: float  # real costs known
    reserved: float  # bounds of orders whose cost is not known yet
    unbounded: int  # orders whose cost is neither known nor bounded

    @property
    def counted(self) -> float:
        """What the spend cap counts: the known costs, and the bound of each order whose
        cost is not known yet."""
        return self.spent + self.reserved

    def room(self, cap: float) -> float:
        """How much more orders may cost under a spend cap of ``cap`` (never below 0): an
        order whose bound is above it is refused."""
        return max(0.0, cap - self.counted)


def usage(book: Book, now: datetime, sandbox: bool) -> Usage:
    """The caps' use in the 24 hours before ``now``, in one environment."""
    since = now - WINDOW
    orders, spent, reserved, unbounded = 0, 0.0, 0.0, 0
    for attempt in book.attempts.values():
        first = attempt.first
        if first.at < since or first.sandbox != sandbox or attempt.failed:
            continue
        orders += 1
        cost, bound, unknown = attempt.spend()
        spent, reserved, unbounded = spent + cost, reserved + bound, unbounded + unknown
    return Usage(orders, spent, reserved, unbounded)


def cap_refusal(
    caps: SpendCaps,
    order: OrderRequest,
    bound: float | None,
    book: Book,
    *,
    now: datetime,
    sandbox: bool,
) -> HappyFollowerSpendCapError | None:
    """The first cap the order (which may cost up to ``bound``) would break, or None."""
    used = usage(book, now, sandbox)
    if caps.max_count_per_order is not None and order.count > caps.max_count_per_order:
        return HappyFollowerSpendCapError(
            f"count {order.count} is above the largest allowed per order "
            f"({caps.max_count_per_order}); order less or raise the cap",
            cap=Refusal.MAX_COUNT_PER_ORDER,
            amounts={"count": order.count, "max_count": caps.max_count_per_order},
        )
    if caps.max_orders_per_day is not None and used.orders >= caps.max_orders_per_day:
        return HappyFollowerSpendCapError(
            f"{used.orders} orders were placed (or may have been) in the last 24 hours, "
            f"the most allowed is {caps.max_orders_per_day}; wait or raise the cap",
            cap=Refusal.MAX_ORDERS_PER_DAY,
            amounts={"orders": used.orders, "max_orders": caps.max_orders_per_day},
        )
    hold = book.holds.get((sandbox, order.service_id))
    if hold is not None:
        return hold_refusal(hold)
    if caps.max_spend_per_day is None:
        return None
    return spend_refusal(order, bound, used, caps.max_spend_per_day)


def spend_refusal(
    order: OrderRequest, bound: float | None, used: Usage, cap: float
) -> HappyFollowerSpendCapError | None:
    """The spend cap's refusal of an order that may cost up to ``bound``, or None."""
    if used.unbounded:
        return HappyFollowerSpendCapError(
            f"{used.unbounded} order(s) of the last 24 hours have a cost that is not known "
            "yet and was never bounded, so the spend cap cannot be checked; read their "
            "status so their cost is learned, or wait until they leave the 24-hour window",
            cap=Refusal.COST_UNKNOWN,
            amounts={"service_id": order.service_id, "unbounded": used.unbounded},
        )
    if bound is None:
        return HappyFollowerSpendCapError(
            f"the cost of this order cannot be bounded, so the spend cap cannot be checked: "
            f"no price per unit that a person stands behind is known for service "
            f"{order.service_id}. Set the service's price per unit, or confirm the price it "
            "was seen to charge, or lift the spend cap",
            cap=Refusal.COST_UNKNOWN,
            amounts={"service_id": order.service_id},
        )
    spent, reserved = used.spent, used.reserved
    room = used.room(cap)
    if bound <= room:
        return None
    return HappyFollowerSpendCapError(
        f"this order may cost up to {amount_text(bound)}; in the last 24 hours "
        f"{amount_text(spent)} was spent and {amount_text(reserved)} is reserved for orders "
        f"whose cost is not settled, so {amount_text(room)} of the spend cap of "
        f"{amount_text(cap)} is left. Order less, wait, or raise the cap",
        cap=Refusal.MAX_SPEND_PER_DAY,
        amounts={
            "bound": bound,
            "spent": spent,
            "reserved": reserved,
            "room": room,
            "max_spend": cap,
        },
    )


def bound_changed(
    confirmed: float | None, bound: float | None
) -> HappyFollowerSpendCapError | None:
    """The refusal of an order whose bound rose (or went) after a person confirmed it."""
    if confirmed is None or (bound is not None and bound <= confirmed):
        return None
    now = (
        "cannot be bounded any more"
        if bound is None
        else f"may now cost up to {amount_text(bound)}"
    )
    return HappyFollowerSpendCapError(
        f"the order was confirmed at a cost of at most {amount_text(confirmed)}, but a price "
        f"changed since and it {now}; nothing was sent. Ask again, so that the person sees "
        "the new cost",
        cap=Refusal.COST_CHANGED,
        amounts={"confirmed": confirmed, "bound": bound if bound is not None else 0.0},
    )


def hold_refusal(hold: AuditRecord) -> HappyFollowerSpendCapError:
    """The refusal of an order of a service on hold (it charged above a bound)."""
    charged = hold.unit_price or 0.0
    return HappyFollowerSpendCapError(
        f"service {hold.service_id} charged {amount_text(charged)} per unit ({hold.reason}), "
        "more than the price that bounded the order: its orders are stopped until a person "
        "confirms the service's price per unit (set it, or confirm the price it charged)",
        cap=Refusal.PRICE_CHANGED,
        amounts={"service_id": hold.service_id or 0, "unit_price": charged},
    )


def possible_duplicate(
    order: OrderRequest, book: Book, *, now: datetime, sandbox: bool
) -> AuditRecord | None:
    """The latest attempt of the last 24 hours of the same order (the same service,
    target and count, however its link was spelled) whose outcome is unknown."""
    since = now - WINDOW
    found = None
    for attempt in book.attempts.values():
        first = attempt.first
        if (
            attempt.outcome_unknown
            and first.at >= since
            and first.sandbox == sandbox
            and (first.service_id, first.count) == (order.service_id, order.count)
            # Read as the order's own link is, with no host limit: a line written before
            # links were canonical, on a host since dropped, is still the same target.
            and target_identity(first.link or "", None) == order.target_identity
        ):
            found = first
    return found


def duplicate_refusal(duplicate: AuditRecord | None) -> HappyFollowerSpendCapError | None:
    """The refusal of a possible duplicate no person confirmed, or None."""
    if duplicate is None:
        return None
    earlier = duplicate.at.strftime("%Y-%m-%d %H:%M UTC")
    return HappyFollowerSpendCapError(
        f"the same order (service {duplicate.service_id}, {duplicate.count} to "
        f"{duplicate.link}) was sent at {earlier} and its outcome is unknown: it may have been "
        "placed. Check the order's status and the credit first; to place it again anyway, a "
        "person must confirm that it may be a duplicate",
        cap=Refusal.POSSIBLE_DUPLICATE,
        amounts={"service_id": duplicate.service_id or 0, "count": duplicate.count or 0},
    )


__all__ = ["DEFAULT_CAPS", "WINDOW", "SpendCaps", "Usage"]
