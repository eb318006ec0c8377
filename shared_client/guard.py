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
  the same order again needs a person's fresh confirmation that it may be a duplicate.
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
from .validation import DEFAULT_LINK_HOSTS, OrderRequest, display_text, validate_order

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


@dataclass(frozen=True, slots=True)
class OrderQuote:
    """A validated order with what a person needs to confirm it."""

    order: OrderRequest
    service_name: str  # display-safe
    cost_bound: float | None
    cost_basis: str  # where the bound comes from, for the person
    possible_duplicate: AuditRecord | None
    sandbox: bool

    def confirmation_lines(self, environment: str) -> list[str]:
        """Fixed fields in a fixed order: exactly what will be sent, and what it may cost."""
        order = self.order
        cost = (
            f"at most {self.cost_bound:g} ({self.cost_basis})"
            if self.cost_bound is not None
            else f"unknown until placed ({self.cost_basis})"
        )
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


@dataclass(slots=True)
class _Attempt:
    """The lines of one attempt folded together."""

    first: AuditRecord
    outcome: AuditRecord | None = None
    cost: float | None = None  # read from the order's status: what the service charged

    @property
    def order_id(self) -> int | None:
        return self.outcome.order_id if self.outcome is not None else None

    @property
    def unit_price(self) -> float | None:
        """The price per unit the first status showed. Not from a later status (a partial
        or cancelled order costs less than its count) nor from the credit (a top-up or a
        refund in between lowers it): either would teach a price that is too low."""
        outcome = self.outcome
        if outcome is None or outcome.event is not AuditEvent.PLACED or not self.first.count:
            return None
        if outcome.cost is None or outcome.cost <= 0:
            return None
        return outcome.cost / self.first.count

    def spend(self) -> tuple[float, float, int]:
        """(known cost, reserved amount, 1 if neither) of this attempt. Until its cost is
        read, an order counts at the larger of its bound and its cost estimated from the
        credit (never lower: credit arriving in between makes that estimate too small)."""
        if self.cost is not None:
            return self.cost, 0.0, 0
        estimate = self.outcome.cost_estimate if self.outcome is not None else None
        if self.first.cost_bound is None and estimate is None:
            return 0.0, 0.0, 1
        return 0.0, max(self.first.cost_bound or 0.0, estimate or 0.0), 0


def _fold(records: list[AuditRecord]) -> dict[str, _Attempt]:
    """Every order attempt by its id. Lines from before write-ahead stand alone."""
    attempts: dict[str, _Attempt] = {}
    by_order: dict[tuple[bool, int], _Attempt] = {}  # for costs of lines without an id
    for index, record in enumerate(records):
        if record.event is AuditEvent.REFUSED:
            continue
        if record.event is AuditEvent.COST:
            target = attempts.get(record.attempt_id or "") or by_order.get(
                (record.sandbox, record.order_id or 0)
            )
            if target is not None and record.cost is not None:
                target.cost = record.cost
            continue
        key = record.attempt_id or f"line-{index}"
        attempt = attempts.setdefault(key, _Attempt(record))
        if record.event in _OUTCOMES:
            attempt.outcome = record
            if record.cost is not None:
                attempt.cost = record.cost
            if record.order_id is not None:
                by_order[(record.sandbox, record.order_id)] = attempt
    return attempts


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
            for attempt in _fold(records).values():
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
        return _usage(list(_fold(self._records).values()), self._clock(), self.client.sandbox)

    def orders(self, limit: int = 20) -> list[LedgerOrder]:
        """Order attempts of this environment, newest first."""
        items = []
        for key, attempt in _fold(self._records).items():
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
                )
            )
        items.sort(key=lambda item: item.at, reverse=True)
        return items[:limit]

    def unit_price(self, service_id: int) -> tuple[float, str] | None:
        """The price per unit to bound an order with, and where it comes from: the
        operator's price, else the highest price an earlier order of the service cost."""
        if service_id in self.caps.unit_prices:
            return float(self.caps.unit_prices[service_id]), "operator's price per unit"
        learned = [
            price
            for attempt in _fold(self._records).values()
            if attempt.first.service_id == service_id and (price := attempt.unit_price) is not None
        ]
        if not learned:
            return None
        return max(learned), "highest price per unit of earlier orders"

    # --- placing ----------------------------------------------------------------------

    async def quote(self, service_id: object, link: object, count: object) -> OrderQuote:
        """Validate an order and check it against the caps without reserving anything, for a
        person to confirm. Refusals are audited and raised; nothing is sent."""
        await self.refresh()
        order, name = await self._validated(service_id, link, count)
        bound = self._cost_bound(order)
        attempts = list(_fold(self._records).values())
        duplicate = self._possible_duplicate(order, attempts)
        refusal = self._cap_refusal(order, bound.amount, attempts)
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
    ) -> PlacedOrder:
        """Validate, reserve the cost bound under the caps, write the attempt, send it once,
        record the outcome and learn the cost. See the module's docstring for what holds."""
        async with self._lock:
            await self.refresh()
            order, name = await self._validated(service_id, link, count, confirmed_by)
            bound = self._cost_bound(order)
            credit_before = await self._credit_before(bound)
            attempt_id = await self._reserve(order, bound.amount, confirmed_by, duplicate_confirmed)
            order_id = await self._send(order, attempt_id)
            status, cost, estimate = await self._learn_cost(order_id, credit_before)
            await self._record_outcome(
                AuditEvent.PLACED,
                order,
                attempt_id,
                order_id=order_id,
                cost=cost,
                cost_estimate=estimate,
            )
            return PlacedOrder(
                order_id,
                order.service_id,
                order.link,
                order.count,
                status,
                cost,
                estimated_cost=estimate,
                service_name=name,
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

    async def note_cost(self, order_id: int, cost: float | None) -> None:
        """A status read learned an order's real cost: settle its reserved bound."""
        if cost is None or not math.isfinite(cost) or cost < 0:
            return

        def settle(records: list[AuditRecord]) -> list[AuditRecord]:
            for attempt in _fold(records).values():
                if attempt.order_id == order_id and attempt.first.sandbox == self.client.sandbox:
                    if attempt.cost is not None:
                        return []
                    return [
                        self._record(
                            AuditEvent.COST,
                            attempt_id=attempt.first.attempt_id,
                            order=_order_of(attempt.first),
                            order_id=order_id,
                            cost=float(cost),
                            reason="from the order's status",
                        )
                    ]
            return []

        self._records = await asyncio.to_thread(self.ledger.transact, settle)

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
        count at the service's price per unit, the operator's or a learned one.

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
            attempts = list(_fold(records).values())  # once, for both rules
            refusal = self._cap_refusal(order, bound, attempts)
            if refusal is None and not duplicate_confirmed:
                refusal = _duplicate_refusal(self._possible_duplicate(order, attempts))
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

    async def _learn_cost(
        self, order_id: int, credit_before: float | None
    ) -> tuple[OrderStatus | None, float | None, float | None]:
        """The order's first status, its cost from that status, and else an estimate from
        the credit before and after (which counts only when above the order's bound)."""
        try:
            status = await self.client.get_order_status(order_id)
        except HappyFollowerError as err:
            _LOGGER.warning("Order %s placed; its status could not be read: %s", order_id, err)
            status = None
        if status is not None and status.cost is not None:
            return status, float(status.cost), None
        if credit_before is not None:
            try:
                credit_after = float(await self.client.get_credit())
            except HappyFollowerError as err:
                _LOGGER.warning("Order %s placed; its cost is not known yet: %s", order_id, err)
            else:
                return status, None, max(0.0, credit_before - credit_after)
        return status, None, None

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
    ) -> None:
        """Write an attempt's outcome. If the ledger fails now, the attempt stays without an
        outcome and keeps counting at its bound: log it, but report the order's real fate."""
        record = self._record(
            event,
            attempt_id=attempt_id,
            order=order,
            order_id=order_id,
            cost=cost,
            cost_estimate=cost_estimate,
            reason=reason,
        )
        try:
            await self._append([record])
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
        self, order: OrderRequest, bound: float | None, attempts: list[_Attempt]
    ) -> HappyFollowerSpendCapError | None:
        """The first cap the order would break, or None."""
        caps = self.caps
        usage = _usage(attempts, self._clock(), self.client.sandbox)
        if caps.max_count_per_order is not None and order.count > caps.max_count_per_order:
            return HappyFollowerSpendCapError(
                f"count {order.count} is above the largest allowed per order "
                f"({caps.max_count_per_order}); order less or raise the cap",
                cap="max_count_per_order",
            )
        if caps.max_orders_per_day is not None and usage.orders >= caps.max_orders_per_day:
            return HappyFollowerSpendCapError(
                f"{usage.orders} orders were placed (or may have been) in the last 24 hours, "
                f"the most allowed is {caps.max_orders_per_day}; wait or raise the cap",
                cap="max_orders_per_day",
            )
        if caps.max_spend_per_day is None:
            return None
        return _spend_refusal(order, bound, usage, caps.max_spend_per_day)

    def _possible_duplicate(
        self, order: OrderRequest, attempts: list[_Attempt]
    ) -> AuditRecord | None:
        """The latest identical attempt of the last 24 hours whose outcome is unknown."""
        since = self._clock() - WINDOW
        found = None
        for attempt in attempts:
            first = attempt.first
            unknown = attempt.outcome is None or (
                attempt.outcome.event is AuditEvent.OUTCOME_UNKNOWN
            )
            if (
                unknown
                and first.at >= since
                and first.sandbox == self.client.sandbox
                and (first.service_id, first.link, first.count)
                == (order.service_id, order.link, order.count)
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
            confirmed_by=display_text(confirmed_by, 120) if confirmed_by else None,
            process=process,
            reason=display_text(reason, MAX_REASON_LENGTH) if reason else None,
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
            cap="cost_unknown",
        )
    if bound is None:
        return HappyFollowerSpendCapError(
            f"the cost of this order cannot be bounded, so the spend cap cannot be checked: "
            f"no price is known for service {order.service_id}. Set the service's price per "
            "unit (it is also learned from the status of an order placed without a spend "
            "cap), or lift the spend cap",
            cap="cost_unknown",
        )
    used = usage.spent + usage.reserved
    if used + bound > cap:
        return HappyFollowerSpendCapError(
            f"this order may cost up to {bound:g}, and {used:g} is spent or reserved in the "
            f"last 24 hours; together above the spend cap of {cap:g}. "
            "Order less, wait, or raise the cap",
            cap="max_spend_per_day",
        )
    return None


def _duplicate_refusal(duplicate: AuditRecord | None) -> HappyFollowerSpendCapError | None:
    if duplicate is None:
        return None
    earlier = duplicate.at.strftime("%Y-%m-%d %H:%M UTC")
    return HappyFollowerSpendCapError(
        f"the same order (service {duplicate.service_id}, {duplicate.count} to "
        f"{duplicate.link}) was sent at {earlier} and its outcome is unknown: it may have been "
        "placed. Check the order's status and the credit first; to place it again anyway, a "
        "person must confirm that it may be a duplicate",
        cap="possible_duplicate",
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
