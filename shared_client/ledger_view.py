"""The spend guard's view of its ledger: reading it (every process's lines), the order
list and the caps' use, the prices that bound orders, the services list orders are
checked against, the lines the guard writes, and settling an order's cost from a status
read (``settle_cost``, the one rule every front-end calls). ``SpendGuard`` places orders
on it."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from . import caps as cap_rules
from .audit import LineDetails, LineWriter, RawOrder
from .book import Book, cost_anomaly, fold, plausible_cost, reported_cost
from .caps import DEFAULT_CAPS, SpendCaps, Usage
from .client import HappyFollowerClient
from .errors import HappyFollowerLedgerError, HappyFollowerUnknownServiceError
from .ledger import AuditEvent, AuditRecord, Ledger, process_is_gone
from .order_list import LedgerOrder, ledger_orders
from .prices import bounding_price, held_services, offered_price, read_price
from .quotes import SettledCost
from .validation import DEFAULT_LINK_HOSTS, OrderRequest, amount_text, display_text, positive_int

# The spend guard logs under one name, whichever of its modules writes the line.
_LOGGER = logging.getLogger("shared_client.guard")
# An attempt this old without an outcome belongs to a process that stopped: the client
# gives up on any request long before.
STALE_ATTEMPT = timedelta(minutes=15)
SERVICES_TTL = 300.0  # seconds the services list is trusted for checking service ids
INTERRUPTED = "interrupted: the process stopped while the order was being sent"


class LedgerView:
    """The ledger as the guard reads and writes it, in one environment (live or sandbox)."""

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
        self._clock = clock
        self._lines = LineWriter(source, clock)
        self._records: list[AuditRecord] = []
        self._folded: tuple[list[AuditRecord], Book] | None = None  # (those lines, their book)
        self._services: dict[int, str] = {}
        self._services_read_at = -math.inf
        self._lock = asyncio.Lock()  # one order at a time in this process
        # One ledger operation at a time in this process: a read that began before a write
        # and ended after it would otherwise replace what the write saw with older lines.
        self._ledger_turn = asyncio.Lock()

    # --- reading the ledger -----------------------------------------------------------

    @property
    def records(self) -> list[AuditRecord]:
        """Every ledger line, oldest first, as of the last read or write."""
        return list(self._records)

    @property
    def book(self) -> Book:
        """The ledger as last read or written, folded once: every rule below reads it, and a
        read or write replaces the lines (never changes them in place)."""
        if self._folded is None or self._folded[0] is not self._records:
            self._folded = (self._records, fold(self._records))
        return self._folded[1]

    async def open(self) -> list[AuditRecord]:
        """Check the ledger can be locked, read and written (raises HappyFollowerLedgerError),
        and record attempts left without an outcome by a process that stopped (a crash, a
        kill) as outcome unknown. Returns those attempts, to tell the person."""
        interrupted: list[AuditRecord] = []

        def settle(records: list[AuditRecord]) -> list[AuditRecord]:
            now = self._clock()
            interrupted.clear()
            for attempt in fold(records).attempts.values():
                first = attempt.first
                pending = first.event is AuditEvent.ATTEMPT and attempt.outcome is None
                if pending and (process_is_gone(first.process) or now - first.at > STALE_ATTEMPT):
                    interrupted.append(first)
            return [
                self._lines.line(
                    AuditEvent.OUTCOME_UNKNOWN,
                    RawOrder.of(first),
                    first.sandbox,
                    LineDetails(attempt_id=first.attempt_id, reason=INTERRUPTED),
                )
                for first in interrupted
            ]

        await self._transact(settle)
        return list(interrupted)

    async def refresh(self) -> list[AuditRecord]:
        """Re-read the ledger (other processes may have appended)."""
        async with self._ledger_turn:
            self._records = await asyncio.to_thread(self.ledger.read)
        return self.records

    async def _transact(self, change: Callable[[list[AuditRecord]], list[AuditRecord]]) -> None:
        """Append what ``change`` returns for the ledger's lines, under its lock, off the
        event loop; keep the lines it saw."""
        async with self._ledger_turn:
            self._records = await asyncio.to_thread(self.ledger.transact, change)

    def usage(self) -> Usage:
        """The caps' use in the last 24 hours, from the ledger as last read."""
        return cap_rules.usage(self.book, self._clock(), self.client.sandbox)

    def orders(self, limit: int = 20) -> list[LedgerOrder]:
        """Order attempts of this environment in the active ledger (the last 48 hours at
        least), newest first."""
        return ledger_orders(self._records, self.client.sandbox, limit)

    async def history(self, limit: int = 20) -> list[LedgerOrder]:
        """Order attempts of this environment in the whole ledger, its archive included,
        newest first: for listing what was ordered, however long ago."""
        records = await asyncio.to_thread(self.ledger.history)
        return ledger_orders(records, self.client.sandbox, limit)

    # --- prices -----------------------------------------------------------------------

    def unit_price(self, service_id: int) -> tuple[float, str] | None:
        """The price per unit that bounds the service's orders, and where it comes from:
        the operator's, or the one a person confirmed last in this environment (the higher
        of the two when both exist). None when no person stands behind a price."""
        return bounding_price(self.caps, self.book, service_id, self.client.sandbox)

    def price_offer(self, service_id: int) -> tuple[float, str] | None:
        """A price per unit the vendor was seen to charge for the service in this
        environment, for a person to confirm (``confirm_price``); never a bound by itself.
        The price of a hold, else the highest price of an order's first status."""
        return offered_price(self.book, service_id, self.client.sandbox)

    def held_services(self) -> dict[int, float]:
        """Services of this environment whose orders stop until a person confirms a price:
        service id -> the price per unit the vendor charged."""
        return held_services(self.book, self.client.sandbox)

    async def confirm_price(
        self, service_id: object, unit_price: object, *, confirmed_by: str
    ) -> float:
        """A person stands behind ``unit_price`` for the service in this environment: it
        bounds its orders under a spend cap from now on and lifts a hold. Audited."""
        service = positive_int(service_id, "service_id")
        price = read_price(unit_price)
        await self._service_name(service)  # an active service, or refused
        details = LineDetails(
            unit_price=price,
            confirmed_by=confirmed_by,
            reason="price per unit confirmed by a person",
        )
        await self._append([self._line(AuditEvent.PRICE, RawOrder(service, None, None), details)])
        return price

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

    # --- records ----------------------------------------------------------------------

    def _line(
        self, event: AuditEvent, order: OrderRequest | RawOrder, details: LineDetails
    ) -> AuditRecord:
        """A line of this guard's environment."""
        return self._lines.line(event, order, self.client.sandbox, details)

    async def _append(self, records: list[AuditRecord]) -> None:
        await self._transact(lambda _old: records)

    # --- settling a cost from a status read ---------------------------------------------

    async def settle_cost(self, order_id: int, cost: float | None) -> SettledCost:
        """A status read gave an order's cost (None: it gave none): write what changes the
        count (a higher cost) or is a new anomaly, and hold its service when it charged
        above the order's bound. The one rule for every status read after the first, in
        every front-end. A ledger that cannot be written does not fail the read: the order
        keeps counting at its bound (the safe side), and ``not_written`` says why."""
        try:
            anomaly = await self._note_cost(order_id, reported_cost(cost))
        except HappyFollowerLedgerError as err:
            _LOGGER.warning("Cost of order %s not written to the ledger: %s", order_id, err)
            return SettledCost(not_written=str(err))
        return SettledCost(anomaly)

    async def _note_cost(self, order_id: int, reported: float | None) -> str | None:
        anomaly: str | None = None

        def settle(records: list[AuditRecord]) -> list[AuditRecord]:
            nonlocal anomaly
            attempt = fold(records).by_order(self.client.sandbox, order_id)
            if attempt is None:
                return []
            first = attempt.first
            anomaly = cost_anomaly(reported, first.cost_bound)
            plausible = plausible_cost(reported)
            higher = plausible is not None and (attempt.cost is None or plausible > attempt.cost)
            if not higher and (anomaly is None or anomaly in attempt.anomalies):
                return []
            details = LineDetails(
                attempt_id=first.attempt_id,
                order_id=order_id,
                cost=plausible if higher else None,
                anomaly=anomaly,
                reason="from the order's status",
            )
            record = self._lines.line(AuditEvent.COST, RawOrder.of(first), first.sandbox, details)
            order = OrderRequest(first.service_id or 0, first.link or "", first.count or 0)
            held = self._hold_if_overcharged(order, order_id, first.cost_bound, plausible)
            return [record, *held] if higher else [record]

        await self._transact(settle)
        return anomaly

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
        details = LineDetails(
            order_id=order_id,
            unit_price=charged / order.count,
            reason=(
                f"order {order_id} cost {amount_text(charged)}, above its bound of "
                f"{amount_text(bound)}"
            ),
        )
        service = RawOrder(order.service_id, None, None)
        return [self._line(AuditEvent.PRICE_HOLD, service, details)]
