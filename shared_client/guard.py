"""Spend safety shared by every front-end that places orders (CLI, MCP server, Home Assistant).

``SpendGuard.place_order`` is the one path to spend credit. Whatever happens, it holds:
- bounded spend: within any rolling 24 hours the costs of orders (their real cost once
  known, else the bound reserved before sending) never exceed the spend cap, and an order
  whose cost cannot be bounded is refused while a spend cap is set;
- one ledger for many processes: caps are checked and the bound reserved under the ledger's
  exclusive file lock, counting what every process appended;
- write-ahead: the attempt is on disk before the order is sent, its outcome after; an
  attempt without an outcome counts at its bound (``open`` reports those of dead processes);
- never twice: the order is sent once; any failure after sending is "outcome unknown", and
  the same order again (the same target, however its link is spelled) needs a person's fresh
  confirmation that it may be a duplicate;
- the vendor's word never lowers the count: an order counts at the larger of its bound and
  any cost reported for it. A reported cost that is missing, zero, negative or below the
  bound is an anomaly, written to the ledger; nothing settles a lower cost (the credit's
  drop is no witness: other orders, top-ups and refunds move it too), so a lower real cost
  only makes the cap count high for 24 hours. A cost above the bound counts at once and
  stops the service's orders until a person confirms a new price;
- only a price a person stands behind bounds an order: the operator's, or one a person
  confirmed (a ``price`` line; the higher of the two when both exist). A price learned
  from an order's status is only offered for confirmation. Prices, holds and orders of the
  sandbox and of the live API never mix.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from .client import HappyFollowerClient
from .errors import (
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerLedgerError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerSpendCapError,
    HappyFollowerUnknownServiceError,
    Refusal,
)
from .ledger import (
    MAX_REASON_LENGTH,
    AuditEvent,
    AuditRecord,
    Ledger,
    process_is_gone,
    this_process,
)
from .models import OrderStatus
from .validation import (
    DEFAULT_LINK_HOSTS,
    OrderRequest,
    display_text,
    positive_amount,
    positive_int,
    target_identity,
    validate_order,
)

_LOGGER = logging.getLogger(__name__)
WINDOW = timedelta(hours=24)
# An attempt this old without an outcome belongs to a process that stopped: the client
# gives up on any request long before.
STALE_ATTEMPT = timedelta(minutes=15)
SERVICES_TTL = 300.0  # seconds the services list is trusted for checking service ids
_OUTCOMES = frozenset({AuditEvent.PLACED, AuditEvent.FAILED, AuditEvent.OUTCOME_UNKNOWN})
type Outcome = Literal["pending", "placed", "failed", "outcome_unknown"]
_OUTCOME_NAMES: dict[AuditEvent, Outcome] = {
    AuditEvent.ATTEMPT: "pending",
    AuditEvent.PLACED: "placed",
    AuditEvent.FAILED: "failed",
    AuditEvent.OUTCOME_UNKNOWN: "outcome_unknown",
}


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


@dataclass(frozen=True, slots=True)
class OrderQuote:
    """A validated order with what a person needs to confirm it."""

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
            amount = " ".join(filter(None, (f"{self.cost_bound:g}", display_text(unit, 16))))
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
        return f"the status gave a cost of {reported:g}"
    if bound is not None and reported < bound:
        return (
            f"the status gave a cost of {reported:g}, below the order's bound of {bound:g} "
            "(a refund, a price below yours, or a wrong figure): it counts at its bound"
        )
    if bound is not None and reported > bound:
        return f"the service charged {reported:g}, above the order's bound of {bound:g}"
    return None


@dataclass(slots=True)
class _Attempt:
    """The lines of one attempt folded together."""

    first: AuditRecord
    outcome: AuditRecord | None = None
    cost: float | None = None  # the highest plausible cost a status reported
    anomalies: set[str] = field(default_factory=set)  # already written for this attempt

    @property
    def order_id(self) -> int | None:
        return self.outcome.order_id if self.outcome is not None else None

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


type _PriceKey = tuple[bool, int]  # (sandbox, service id)


@dataclass(slots=True)
class _Book:
    """The ledger folded: attempts, the prices people confirmed, the services on hold."""

    attempts: dict[str, _Attempt] = field(default_factory=dict)
    prices: dict[_PriceKey, AuditRecord] = field(default_factory=dict)  # the latest
    holds: dict[_PriceKey, AuditRecord] = field(default_factory=dict)  # not yet lifted

    def by_order(self, sandbox: bool, order_id: int) -> _Attempt | None:
        for attempt in self.attempts.values():
            if attempt.order_id == order_id and attempt.first.sandbox == sandbox:
                return attempt
        return None


def _fold(records: list[AuditRecord]) -> _Book:
    """The ledger's lines folded, oldest first. Lines from before write-ahead stand alone."""
    book = _Book()
    by_order: dict[tuple[bool, int], _Attempt] = {}  # for costs of lines without an id
    for index, record in enumerate(records):
        if record.event is AuditEvent.REFUSED:
            continue
        if record.event in (AuditEvent.PRICE, AuditEvent.PRICE_HOLD):
            if record.service_id is not None:
                service = (record.sandbox, record.service_id)
                if record.event is AuditEvent.PRICE:
                    book.prices[service] = record
                    book.holds.pop(service, None)
                else:
                    book.holds[service] = record
            continue
        if record.event is AuditEvent.COST:
            target = book.attempts.get(record.attempt_id or "") or by_order.get(
                (record.sandbox, record.order_id or 0)
            )
            if target is not None:
                target.note(record)
            continue
        key = record.attempt_id or f"line-{index}"
        attempt = book.attempts.setdefault(key, _Attempt(record))
        if record.event in _OUTCOMES:
            attempt.outcome = record
            attempt.note(record)
            if record.order_id is not None:
                by_order[(record.sandbox, record.order_id)] = attempt
    return book


class SpendGuard:
    """Validation, caps, write-ahead audit and a single send around placing an order."""

    def __init__(
        self,
        client: HappyFollowerClient,
        ledger: Ledger,
        caps: SpendCaps = DEFAULT_CAPS,
        *,
        source: str,
        link_hosts: Collection[str] = DEFAULT_LINK_HOSTS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.caps = caps
        self.link_hosts = tuple(link_hosts)
        self._source = source
        self._clock = clock
        self._records: list[AuditRecord] = []
        self._services: dict[int, str] = {}
        self._services_read_at = -math.inf
        self._lock = asyncio.Lock()  # one order at a time in this process

    # --- reading the ledger -----------------------------------------------------------

    @property
    def records(self) -> list[AuditRecord]:
        """Every ledger line, oldest first, as of the last read or write."""
        return list(self._records)

    async def open(self) -> list[AuditRecord]:
        """Check the ledger can be locked, read and written (raises HappyFollowerLedgerError),
        and record attempts left without an outcome by a process that stopped (a crash, a
        kill) as outcome unknown. Returns those attempts, to tell the person."""
        interrupted: list[AuditRecord] = []

        def settle(records: list[AuditRecord]) -> list[AuditRecord]:
            now = self._clock()
            interrupted.clear()
            for attempt in _fold(records).attempts.values():
                first = attempt.first
                pending = first.event is AuditEvent.ATTEMPT and attempt.outcome is None
                if pending and (process_is_gone(first.process) or now - first.at > STALE_ATTEMPT):
                    interrupted.append(first)
            return [
                self._record(
                    AuditEvent.OUTCOME_UNKNOWN,
                    attempt_id=first.attempt_id,
                    order=_order_of(first),
                    sandbox=first.sandbox,
                    reason="interrupted: the process stopped while the order was being sent",
                )
                for first in interrupted
            ]

        self._records = await asyncio.to_thread(self.ledger.transact, settle)
        return list(interrupted)

    async def refresh(self) -> list[AuditRecord]:
        """Re-read the ledger (other processes may have appended)."""
        self._records = await asyncio.to_thread(self.ledger.read)
        return self.records

    def usage(self) -> Usage:
        """The caps' use in the last 24 hours, from the ledger as last read."""
        attempts = list(_fold(self._records).attempts.values())
        return _usage(attempts, self._clock(), self.client.sandbox)

    def orders(self, limit: int = 20) -> list[LedgerOrder]:
        """Order attempts of this environment in the active ledger (the last 48 hours at
        least), newest first."""
        return self._listing(self._records, limit)

    async def history(self, limit: int = 20) -> list[LedgerOrder]:
        """Order attempts of this environment in the whole ledger, its archive included,
        newest first: for listing what was ordered, however long ago."""
        return self._listing(await asyncio.to_thread(self.ledger.history), limit)

    def _listing(self, records: list[AuditRecord], limit: int) -> list[LedgerOrder]:
        items = []
        for key, attempt in _fold(records).attempts.items():
            first = attempt.first
            if first.sandbox != self.client.sandbox:
                continue
            event = attempt.outcome.event if attempt.outcome is not None else first.event
            items.append(
                LedgerOrder(
                    attempt_id=first.attempt_id or key,
                    at=first.at,
                    outcome=_OUTCOME_NAMES[event],
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

    def unit_price(self, service_id: int) -> tuple[float, str] | None:
        """The price per unit that bounds the service's orders, and where it comes from:
        the operator's, or the one a person confirmed last in this environment (the higher
        of the two when both exist). None when no person stands behind a price."""
        return _price_basis(self.caps, _fold(self._records), service_id, self.client.sandbox)

    def price_offer(self, service_id: int) -> tuple[float, str] | None:
        """A price per unit the vendor was seen to charge for the service in this
        environment, for a person to confirm (``confirm_price``); never a bound by itself.
        The price of a hold, else the highest price of an order's first status."""
        return _price_offer(_fold(self._records), service_id, self.client.sandbox)

    def held_services(self) -> dict[int, float]:
        """Services of this environment whose orders stop until a person confirms a price:
        service id -> the price per unit the vendor charged."""
        return {
            service_id: record.unit_price or 0.0
            for (sandbox, service_id), record in _fold(self._records).holds.items()
            if sandbox == self.client.sandbox
        }

    async def confirm_price(
        self, service_id: object, unit_price: object, *, confirmed_by: str
    ) -> float:
        """A person stands behind ``unit_price`` for the service in this environment: it
        bounds its orders under a spend cap from now on and lifts a hold. Audited."""
        service = positive_int(service_id, "service_id")
        price = _price(unit_price)
        await self._service_name(service)  # an active service, or refused
        await self._append(
            [
                self._record(
                    AuditEvent.PRICE,
                    order=_RawOrder(service, None, None),
                    unit_price=price,
                    confirmed_by=confirmed_by,
                    reason="price per unit confirmed by a person",
                )
            ]
        )
        return price

    # --- placing ----------------------------------------------------------------------

    async def quote(self, service_id: object, link: object, count: object) -> OrderQuote:
        """Validate an order and check it against the caps without reserving anything, for a
        person to confirm. Refusals are audited and raised; nothing is sent."""
        await self.refresh()
        order, name = await self._validated(service_id, link, count)
        bound = self._cost_bound(order)
        book = _fold(self._records)
        duplicate = self._possible_duplicate(order, book)
        refusal = self._cap_refusal(order, bound.amount, book)
        if refusal is not None:
            await self._append([self._record(AuditEvent.REFUSED, order=order, reason=str(refusal))])
            raise refusal
        return OrderQuote(order, name, bound.amount, bound.basis, duplicate, self.client.sandbox)

    async def place_order(
        self,
        service_id: object,
        link: object,
        count: object,
        *,
        confirmed_by: str,
        duplicate_confirmed: bool = False,
        confirmed_cost_bound: float | None = None,
    ) -> PlacedOrder:
        """Validate, reserve the cost bound under the caps, write the attempt, send it once,
        record the outcome and learn the cost. See the module's docstring for what holds.

        ``confirmed_cost_bound`` is the most the person was shown the order may cost (its
        quote's ``cost_bound``): if a price changed since and the bound is now higher (or
        gone), the order is refused rather than sent at a cost nobody confirmed."""
        async with self._lock:
            await self.refresh()
            order, name = await self._validated(service_id, link, count, confirmed_by)
            bound = self._cost_bound(order)
            changed = _bound_changed(confirmed_cost_bound, bound.amount)
            if changed is not None:
                await self._append(
                    [self._record(AuditEvent.REFUSED, order=order, reason=str(changed))]
                )
                raise changed
            credit_before = await self._credit_before(bound)
            attempt_id = await self._reserve(order, bound.amount, confirmed_by, duplicate_confirmed)
            order_id = await self._send(order, attempt_id)
            status, estimate = await self._first_status(order_id, credit_before)
            reported = None if status is None else _reported(status.cost)
            anomaly = None if status is None else cost_anomaly(reported, bound.amount)
            await self._record_outcome(
                AuditEvent.PLACED,
                order,
                attempt_id,
                order_id=order_id,
                cost=plausible_cost(reported),
                cost_estimate=estimate,
                anomaly=anomaly,
                also=self._hold_if_overcharged(
                    order, order_id, bound.amount, max(plausible_cost(reported) or 0, estimate or 0)
                ),
            )
            if anomaly is not None:
                _LOGGER.warning("Order %s: %s", order_id, anomaly)
            return PlacedOrder(
                order_id,
                order.service_id,
                order.link,
                order.count,
                status,
                plausible_cost(reported),
                estimated_cost=estimate,
                service_name=name,
                cost_bound=bound.amount,
                anomaly=anomaly,
            )

    async def record_refusal(
        self,
        service_id: object,
        link: object,
        count: object,
        *,
        reason: str,
        confirmed_by: str | None = None,
    ) -> None:
        """Audit an order a front-end refused (declined by the person, no way to confirm).
        Nothing was sent."""
        await self._append(
            [
                self._record(
                    AuditEvent.REFUSED,
                    order=_raw_order(service_id, link, count),
                    reason=reason,
                    confirmed_by=confirmed_by,
                )
            ]
        )

    async def note_cost(self, order_id: int, cost: float | None) -> str | None:
        """A status read gave an order's cost (None: it gave none): write what changes the
        count (a higher cost) or is a new anomaly. Returns the anomaly, to show the person.
        The one rule for every status read after the first, in every front-end."""
        anomaly: str | None = None

        def settle(records: list[AuditRecord]) -> list[AuditRecord]:
            nonlocal anomaly
            attempt = _fold(records).by_order(self.client.sandbox, order_id)
            if attempt is None:
                return []
            first, reported = attempt.first, _reported(cost)
            anomaly = cost_anomaly(reported, first.cost_bound)
            plausible = plausible_cost(reported)
            higher = plausible is not None and (attempt.cost is None or plausible > attempt.cost)
            if not higher and (anomaly is None or anomaly in attempt.anomalies):
                return []
            record = self._record(
                AuditEvent.COST,
                attempt_id=first.attempt_id,
                order=_order_of(first),
                sandbox=first.sandbox,
                order_id=order_id,
                cost=plausible if higher else None,
                anomaly=anomaly,
                reason="from the order's status",
            )
            order = OrderRequest(first.service_id or 0, first.link or "", first.count or 0)
            held = self._hold_if_overcharged(order, order_id, first.cost_bound, plausible)
            return [record, *held] if higher else [record]

        self._records = await asyncio.to_thread(self.ledger.transact, settle)
        return anomaly

    # --- the steps of place_order ---------------------------------------------------

    async def _validated(
        self, service_id: object, link: object, count: object, confirmed_by: str | None = None
    ) -> tuple[OrderRequest, str]:
        """The order and its service's display name, or an audited HappyFollowerInputError."""
        try:
            order = validate_order(service_id, link, count, link_hosts=self.link_hosts)
            name = await self._service_name(order.service_id)
        except HappyFollowerError as err:
            await self._append(
                [
                    self._record(
                        AuditEvent.REFUSED,
                        order=_raw_order(service_id, link, count),
                        reason=str(err),
                        confirmed_by=confirmed_by,
                    )
                ]
            )
            raise
        return order, name

    async def _service_name(self, service_id: int) -> str:
        if time.monotonic() - self._services_read_at > SERVICES_TTL:
            # A failure here (key refused, service unreachable) propagates as it is:
            # nothing was sent, and its message says what to do.
            services = await self.client.get_services()
            self._services = {item.service_id: display_text(item.name) for item in services}
            self._services_read_at = time.monotonic()
        if service_id not in self._services:
            raise HappyFollowerUnknownServiceError(
                f"service_id {service_id} is not an active service; "
                "list the services to choose one",
                field="service_id",
            )
        return self._services[service_id]

    def _cost_bound(self, order: OrderRequest) -> _CostBound:
        """The most the order can cost and why (amount None when nothing bounds it): its
        count at the service's price per unit, the operator's or one a person confirmed.

        The credit does not bound it: credit added between reading it and the order's
        charge (a top-up, a refund) would let the service charge more.
        """
        price = self.unit_price(order.service_id)
        if price is None:
            return _CostBound(None, "no price is known for this service")
        return _CostBound(price[0] * order.count, price[1])

    async def _credit_before(self, bound: _CostBound) -> float | None:
        """With a spend cap, the credit before an order that can go ahead: the credit after
        it gives its cost when its status cannot be read. None when not read."""
        if self.caps.max_spend_per_day is None or bound.amount is None:
            return None
        try:
            return float(await self.client.get_credit())
        except HappyFollowerError as err:
            _LOGGER.warning("Credit unreadable before an order: %s", err)
            return None

    async def _reserve(
        self,
        order: OrderRequest,
        bound: float | None,
        confirmed_by: str,
        duplicate_confirmed: bool,
    ) -> str:
        """Check the caps and write the attempt under the ledger's lock; return its id."""
        attempt_id = uuid.uuid4().hex
        refusal: HappyFollowerSpendCapError | None = None

        def reserve(records: list[AuditRecord]) -> list[AuditRecord]:
            nonlocal refusal
            book = _fold(records)  # once, for both rules
            refusal = self._cap_refusal(order, bound, book)
            if refusal is None and not duplicate_confirmed:
                refusal = _duplicate_refusal(self._possible_duplicate(order, book))
            if refusal is not None:
                return [
                    self._record(
                        AuditEvent.REFUSED,
                        order=order,
                        reason=str(refusal),
                        cost_bound=bound,
                        confirmed_by=confirmed_by,
                    )
                ]
            return [
                self._record(
                    AuditEvent.ATTEMPT,
                    attempt_id=attempt_id,
                    order=order,
                    cost_bound=bound,
                    confirmed_by=confirmed_by,
                    process=this_process(),
                )
            ]

        try:
            self._records = await asyncio.to_thread(self.ledger.transact, reserve)
        except HappyFollowerLedgerError as err:
            raise HappyFollowerLedgerError(f"Nothing was sent. {err}") from None
        if refusal is not None:
            raise refusal
        return attempt_id

    async def _send(self, order: OrderRequest, attempt_id: str) -> int:
        """Send the order once; record a failure or an unknown outcome."""
        try:
            return await self.client.place_order(
                service_id=order.service_id, link=order.link, count=order.count
            )
        except HappyFollowerOrderOutcomeUnknownError as err:
            await self._record_outcome(
                AuditEvent.OUTCOME_UNKNOWN, order, attempt_id, reason=str(err)
            )
            raise
        except HappyFollowerError as err:
            # The service answered, or the request never left: nothing was placed.
            await self._record_outcome(AuditEvent.FAILED, order, attempt_id, reason=str(err))
            raise
        except BaseException as err:
            # Cancelled or broken half-way: the order may have reached the service.
            await asyncio.shield(
                self._record_outcome(
                    AuditEvent.OUTCOME_UNKNOWN,
                    order,
                    attempt_id,
                    reason=f"interrupted while sending ({type(err).__name__})",
                )
            )
            if isinstance(err, Exception):
                raise HappyFollowerOrderOutcomeUnknownError(
                    "The order was being sent when something went wrong here "
                    f"({type(err).__name__}): it may or may not have been placed. Do not "
                    "order again before checking the credit and the recent orders."
                ) from err
            raise

    async def _first_status(
        self, order_id: int, credit_before: float | None
    ) -> tuple[OrderStatus | None, float | None]:
        """The order's first status (None when it cannot be read) and, when the credit was
        read before it, its cost estimated from the credit before and after. The estimate
        only ever raises the count (above the bound it also holds the service): other
        orders and top-ups move the credit too, so it never lowers one."""
        try:
            status = await self.client.get_order_status(order_id)
        except HappyFollowerError as err:
            _LOGGER.warning("Order %s placed; its status could not be read: %s", order_id, err)
            status = None
        if credit_before is None:
            return status, None
        try:
            credit_after = float(await self.client.get_credit())
        except HappyFollowerError as err:
            _LOGGER.warning("Order %s placed; its cost is not known yet: %s", order_id, err)
            return status, None
        return status, max(0.0, credit_before - credit_after)

    def _hold_if_overcharged(
        self, order: OrderRequest, order_id: int, bound: float | None, charged: float | None
    ) -> list[AuditRecord]:
        """A hold on the service when it charged more than the order's bound (its price
        rose above the one that bounded it): its orders stop until a person confirms."""
        if bound is None or charged is None or charged <= bound or order.count <= 0:
            return []
        _LOGGER.warning(
            "Order %s cost %g, above its bound of %g: orders of service %s stop until a "
            "person confirms its new price",
            order_id,
            charged,
            bound,
            order.service_id,
        )
        return [
            self._record(
                AuditEvent.PRICE_HOLD,
                order=_RawOrder(order.service_id, None, None),
                order_id=order_id,
                unit_price=charged / order.count,
                reason=f"order {order_id} cost {charged:g}, above its bound of {bound:g}",
            )
        ]

    async def _record_outcome(
        self,
        event: AuditEvent,
        order: OrderRequest,
        attempt_id: str,
        *,
        order_id: int | None = None,
        cost: float | None = None,
        cost_estimate: float | None = None,
        reason: str | None = None,
        anomaly: str | None = None,
        also: list[AuditRecord] | None = None,
    ) -> None:
        """Write an attempt's outcome (and ``also``, in the same write). If the ledger fails
        now, the attempt stays without an outcome and keeps counting at its bound: log it,
        but report the order's real fate."""
        record = self._record(
            event,
            attempt_id=attempt_id,
            order=order,
            order_id=order_id,
            cost=cost,
            cost_estimate=cost_estimate,
            reason=reason,
            anomaly=anomaly,
        )
        try:
            await self._append([record, *(also or [])])
        except HappyFollowerLedgerError as err:
            _LOGGER.error(
                "Order attempt %s: its outcome (%s, order %s) could not be written; it keeps "
                "counting at its bound: %s",
                attempt_id,
                event.value,
                order_id,
                err,
            )

    # --- rules ------------------------------------------------------------------------

    def _cap_refusal(
        self, order: OrderRequest, bound: float | None, book: _Book
    ) -> HappyFollowerSpendCapError | None:
        """The first cap the order would break, or None."""
        caps, sandbox = self.caps, self.client.sandbox
        usage = _usage(list(book.attempts.values()), self._clock(), sandbox)
        if caps.max_count_per_order is not None and order.count > caps.max_count_per_order:
            return HappyFollowerSpendCapError(
                f"count {order.count} is above the largest allowed per order "
                f"({caps.max_count_per_order}); order less or raise the cap",
                cap=Refusal.MAX_COUNT_PER_ORDER,
                amounts={"count": order.count, "max_count": caps.max_count_per_order},
            )
        if caps.max_orders_per_day is not None and usage.orders >= caps.max_orders_per_day:
            return HappyFollowerSpendCapError(
                f"{usage.orders} orders were placed (or may have been) in the last 24 hours, "
                f"the most allowed is {caps.max_orders_per_day}; wait or raise the cap",
                cap=Refusal.MAX_ORDERS_PER_DAY,
                amounts={"orders": usage.orders, "max_orders": caps.max_orders_per_day},
            )
        hold = book.holds.get((sandbox, order.service_id))
        if hold is not None:
            return _hold_refusal(hold)
        if caps.max_spend_per_day is None:
            return None
        return _spend_refusal(order, bound, usage, caps.max_spend_per_day)

    def _possible_duplicate(self, order: OrderRequest, book: _Book) -> AuditRecord | None:
        """The latest attempt of the last 24 hours of the same order (the same service,
        target and count, however its link was spelled) whose outcome is unknown."""
        since = self._clock() - WINDOW
        found = None
        for attempt in book.attempts.values():
            first = attempt.first
            unknown = attempt.outcome is None or (
                attempt.outcome.event is AuditEvent.OUTCOME_UNKNOWN
            )
            if (
                unknown
                and first.at >= since
                and first.sandbox == self.client.sandbox
                and (first.service_id, first.count) == (order.service_id, order.count)
                # Read as the order's own link is, with no host limit: a line written before
                # links were canonical, on a host since dropped, is still the same target.
                and target_identity(first.link or "", None) == order.target_identity
            ):
                found = first
        return found

    # --- records ----------------------------------------------------------------------

    def _record(
        self,
        event: AuditEvent,
        *,
        order: OrderRequest | _RawOrder,
        sandbox: bool | None = None,
        attempt_id: str | None = None,
        order_id: int | None = None,
        cost: float | None = None,
        cost_estimate: float | None = None,
        cost_bound: float | None = None,
        confirmed_by: str | None = None,
        process: str | None = None,
        reason: str | None = None,
        unit_price: float | None = None,
        anomaly: str | None = None,
    ) -> AuditRecord:
        return AuditRecord(
            at=self._clock(),
            event=event,
            source=self._source,
            sandbox=self.client.sandbox if sandbox is None else sandbox,
            attempt_id=attempt_id,
            service_id=order.service_id,
            link=order.link,
            count=order.count,
            order_id=order_id,
            cost=cost,
            cost_estimate=cost_estimate,
            cost_bound=cost_bound,
            confirmed_by=display_text(confirmed_by, MAX_REASON_LENGTH) if confirmed_by else None,
            process=process,
            reason=display_text(reason, MAX_REASON_LENGTH) if reason else None,
            unit_price=unit_price,
            anomaly=display_text(anomaly, MAX_REASON_LENGTH) if anomaly else None,
        )

    async def _append(self, records: list[AuditRecord]) -> None:
        self._records = await asyncio.to_thread(self.ledger.transact, lambda _old: records)


@dataclass(frozen=True, slots=True)
class _CostBound:
    amount: float | None  # the most the order can cost; None: nothing bounds it
    basis: str  # where the amount comes from, for the person


@dataclass(frozen=True, slots=True)
class _RawOrder:
    """What was asked for, kept in a refusal's record when it is well-formed."""

    service_id: int | None
    link: str | None
    count: int | None


def _reported(cost: float | None) -> float | None:
    return None if cost is None else float(cost)


def _price(value: object) -> float:
    """A price per unit a person gives (Persian digits too)."""
    return positive_amount(value, "the price per unit", field="unit_price")


def _price_basis(
    caps: SpendCaps, book: _Book, service_id: int, sandbox: bool
) -> tuple[float, str] | None:
    operator = caps.unit_prices.get(service_id)
    confirmed = book.prices.get((sandbox, service_id))
    candidates = []
    if operator is not None:
        candidates.append((float(operator), "operator's price per unit"))
    if confirmed is not None and confirmed.unit_price is not None:
        who = confirmed.confirmed_by or "a person"
        candidates.append((confirmed.unit_price, f"price per unit confirmed by {who}"))
    return max(candidates, default=None, key=lambda item: item[0])


def _price_offer(book: _Book, service_id: int, sandbox: bool) -> tuple[float, str] | None:
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


def _raw_order(service_id: object, link: object, count: object) -> _RawOrder:
    return _RawOrder(
        service_id if type(service_id) is int else None,
        display_text(link, 200) if isinstance(link, str) else None,
        count if type(count) is int else None,
    )


def _order_of(record: AuditRecord) -> _RawOrder:
    return _RawOrder(record.service_id, record.link, record.count)


def _usage(attempts: list[_Attempt], now: datetime, sandbox: bool) -> Usage:
    since = now - WINDOW
    orders, spent, reserved, unbounded = 0, 0.0, 0.0, 0
    for attempt in attempts:
        first = attempt.first
        failed = attempt.outcome is not None and attempt.outcome.event is AuditEvent.FAILED
        if first.at < since or first.sandbox != sandbox or failed:
            continue
        orders += 1
        cost, bound, unknown = attempt.spend()
        spent, reserved, unbounded = spent + cost, reserved + bound, unbounded + unknown
    return Usage(orders, spent, reserved, unbounded)


def _spend_refusal(
    order: OrderRequest, bound: float | None, usage: Usage, cap: float
) -> HappyFollowerSpendCapError | None:
    """The spend cap's refusal of an order that may cost up to ``bound``, or None."""
    if usage.unbounded:
        return HappyFollowerSpendCapError(
            f"{usage.unbounded} order(s) of the last 24 hours have a cost that is not known "
            "yet and was never bounded, so the spend cap cannot be checked; read their "
            "status so their cost is learned, or wait until they leave the 24-hour window",
            cap=Refusal.COST_UNKNOWN,
            amounts={"service_id": order.service_id, "unbounded": usage.unbounded},
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
    spent, reserved = usage.spent, usage.reserved
    room = max(0.0, cap - spent - reserved)
    if bound > room:
        return HappyFollowerSpendCapError(
            f"this order may cost up to {bound:g}; in the last 24 hours {spent:g} was spent "
            f"and {reserved:g} is reserved for orders whose cost is not settled, so "
            f"{room:g} of the spend cap of {cap:g} is left. Order less, wait, or raise "
            "the cap",
            cap=Refusal.MAX_SPEND_PER_DAY,
            amounts={
                "bound": bound,
                "spent": spent,
                "reserved": reserved,
                "room": room,
                "max_spend": cap,
            },
        )
    return None


def _bound_changed(
    confirmed: float | None, bound: float | None
) -> HappyFollowerSpendCapError | None:
    if confirmed is None or (bound is not None and bound <= confirmed):
        return None
    now = "cannot be bounded any more" if bound is None else f"may now cost up to {bound:g}"
    return HappyFollowerSpendCapError(
        f"the order was confirmed at a cost of at most {confirmed:g}, but a price changed "
        f"since and it {now}; nothing was sent. Ask again, so that the person sees the new cost",
        cap=Refusal.COST_CHANGED,
        amounts={"confirmed": confirmed, "bound": bound if bound is not None else 0.0},
    )


def _hold_refusal(hold: AuditRecord) -> HappyFollowerSpendCapError:
    charged = hold.unit_price or 0.0
    return HappyFollowerSpendCapError(
        f"service {hold.service_id} charged {charged:g} per unit ({hold.reason}), more than "
        "the price that bounded the order: its orders are stopped until a person confirms "
        "the service's price per unit (set it, or confirm the price it charged)",
        cap=Refusal.PRICE_CHANGED,
        amounts={"service_id": hold.service_id or 0, "unit_price": charged},
    )


def _duplicate_refusal(duplicate: AuditRecord | None) -> HappyFollowerSpendCapError | None:
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


__all__ = [
    "DEFAULT_CAPS",
    "AuditEvent",
    "AuditRecord",
    "Ledger",
    "LedgerOrder",
    "OrderQuote",
    "PlacedOrder",
    "SpendCaps",
    "SpendGuard",
    "Usage",
]
