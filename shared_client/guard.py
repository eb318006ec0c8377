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

Beside it, one module per concern: ``caps`` (the caps, their use, every refusal),
``book`` (the ledger folded; the rule for a reported cost), ``prices`` (bounding and
offered prices), ``order_list`` (the rows shown to people), ``quotes`` (the typed order
a person confirms and the order placed), ``audit`` (the lines written) and
``ledger_view`` (reading the ledger, settling a cost from a status read).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from . import caps as cap_rules
from .audit import LineDetails, RawOrder
from .book import Book, cost_anomaly, fold, plausible_cost, reported_cost
from .caps import DEFAULT_CAPS, SpendCaps, Usage
from .errors import (
    HappyFollowerError,
    HappyFollowerLedgerError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerSpendCapError,
)
from .ledger import AuditEvent, AuditRecord, Ledger, this_process
from .ledger_view import SERVICES_TTL, LedgerView
from .models import OrderStatus
from .order_list import LedgerOrder
from .prices import CostBound, cost_bound
from .quotes import OrderQuote, PlacedOrder, SettledCost
from .validation import OrderRequest, validate_order

_LOGGER = logging.getLogger(__name__)


class SpendGuard(LedgerView):
    """Validation, caps, write-ahead audit and a single send around placing an order.

    The one path: ``prepare_order`` (raw input validated once into an ``OrderRequest``,
    then ``prepare_request``: priced by ``quote``, a refusal audited), a person confirms
    the quote, then ``place_order(quote)`` places exactly what was priced. A front-end
    whose argument types already applied the input policy calls ``prepare_request``.
    """

    # --- pricing ----------------------------------------------------------------------

    async def quote(self, order: OrderRequest) -> OrderQuote:
        """Price a validated order and check it against the caps, for a person to confirm.
        Pure: it reads the ledger and the services list, writes nothing and reserves
        nothing; a refusal is raised (``prepare_request`` audits it)."""
        await self.refresh()
        name = await self._service_name(order.service_id)
        bound = self._cost_bound(order)
        book = self.book
        refusal = self._cap_refusal(order, bound.amount, book)
        if refusal is not None:
            raise refusal
        duplicate = cap_rules.possible_duplicate(
            order, book, now=self._clock(), sandbox=self.client.sandbox
        )
        return OrderQuote(order, name, bound.amount, bound.basis, duplicate, self.client.sandbox)

    async def prepare_order(
        self, service_id: object, link: object, count: object, *, confirmed_by: str | None = None
    ) -> OrderQuote:
        """A front-end's order, from its raw input: validated once into an ``OrderRequest``
        (a refusal audited, with ``confirmed_by`` when a person already stands behind the
        order) and priced by ``prepare_request``; nothing is sent."""
        try:
            order = validate_order(service_id, link, count, link_hosts=self.link_hosts)
        except HappyFollowerError as err:
            await self._audit_refusal(RawOrder.asked(service_id, link, count), err, confirmed_by)
            raise
        return await self.prepare_request(order, confirmed_by=confirmed_by)

    async def prepare_request(
        self, order: OrderRequest, *, confirmed_by: str | None = None
    ) -> OrderQuote:
        """An order its front-end already validated by the input policy (``validate_order``,
        or argument types built on its rules with this guard's ``link_hosts``), priced by
        ``quote``; a refusal is audited and raised. Nothing is sent."""
        try:
            return await self.quote(order)
        except HappyFollowerError as err:
            await self._audit_refusal(order, err, confirmed_by)
            raise

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
        details = LineDetails(reason=reason, confirmed_by=confirmed_by)
        order = RawOrder.asked(service_id, link, count)
        await self._append([self._line(AuditEvent.REFUSED, order, details)])

    async def _audit_refusal(
        self, order: OrderRequest | RawOrder, err: HappyFollowerError, confirmed_by: str | None
    ) -> None:
        if isinstance(err, HappyFollowerLedgerError):
            return  # the ledger itself failed: there is nowhere to write the refusal
        bound = None
        if isinstance(err, HappyFollowerSpendCapError) and isinstance(order, OrderRequest):
            bound = self._cost_bound(order).amount  # what it would have reserved
        details = LineDetails(reason=str(err), cost_bound=bound, confirmed_by=confirmed_by)
        await self._append([self._line(AuditEvent.REFUSED, order, details)])

    # --- placing ----------------------------------------------------------------------

    async def place_order(
        self,
        quote: OrderQuote,
        *,
        confirmed_by: str,
        duplicate_confirmed: bool = False,
    ) -> PlacedOrder:
        """Place exactly the order ``quote`` priced, which a person confirmed: reserve its
        cost bound under the caps, write the attempt, send it once, record the outcome and
        learn the cost. See the module's docstring for what holds. If a price changed
        since the quote and the bound is now higher (or gone), the order is refused rather
        than sent at a cost nobody confirmed.

        ``duplicate_confirmed``: the person was told it may be a duplicate (the quote's
        ``possible_duplicate``) and confirmed it anyway.
        """
        order = quote.order
        async with self._lock:
            # A ledger error from here to the send is raised as it is: before anything is
            # sent, which its ``nothing_sent`` says (front-ends say so from that fact).
            await self.refresh()
            bound = self._cost_bound(order)
            changed = cap_rules.bound_changed(quote.cost_bound, bound.amount)
            if changed is not None:
                details = LineDetails(reason=str(changed), confirmed_by=confirmed_by)
                await self._append([self._line(AuditEvent.REFUSED, order, details)])
                raise changed
            credit_before = await self._credit_before(bound)
            attempt_id = await self._reserve(order, bound.amount, confirmed_by, duplicate_confirmed)
            order_id = await self._send(order, attempt_id)
            return await self._placed(quote, attempt_id, order_id, bound.amount, credit_before)

    async def _placed(
        self,
        quote: OrderQuote,
        attempt_id: str,
        order_id: int,
        bound: float | None,
        credit_before: float | None,
    ) -> PlacedOrder:
        """Read the placed order's first status (and the credit after it), record the
        outcome with its cost, and hold the service if it charged above the bound."""
        order = quote.order
        status, estimate = await self._first_status(order_id, credit_before)
        reported = None if status is None else reported_cost(status.cost)
        anomaly = None if status is None else cost_anomaly(reported, bound)
        cost = plausible_cost(reported)
        charged = max(cost or 0, estimate or 0)
        details = LineDetails(
            attempt_id=attempt_id,
            order_id=order_id,
            cost=cost,
            cost_estimate=estimate,
            anomaly=anomaly,
        )
        held = self._hold_if_overcharged(order, order_id, bound, charged)
        await self._record_outcome(AuditEvent.PLACED, order, details, also=held)
        if anomaly is not None:
            _LOGGER.warning("Order %s: %s", order_id, anomaly)
        return PlacedOrder(
            order_id,
            order.service_id,
            order.link,
            order.count,
            status,
            cost,
            estimated_cost=estimate,
            service_name=quote.service_name,
            cost_bound=bound,
            anomaly=anomaly,
        )

    # --- the steps of place_order ---------------------------------------------------

    def _cost_bound(self, order: OrderRequest) -> CostBound:
        """The most the order can cost and why (amount None when nothing bounds it)."""
        return cost_bound(self.unit_price(order.service_id), order.count)

    def _cap_refusal(
        self, order: OrderRequest, bound: float | None, book: Book
    ) -> HappyFollowerSpendCapError | None:
        return cap_rules.cap_refusal(
            self.caps, order, bound, book, now=self._clock(), sandbox=self.client.sandbox
        )

    async def _credit_before(self, bound: CostBound) -> float | None:
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
            book = fold(records)  # once, for both rules
            refusal = self._cap_refusal(order, bound, book)
            if refusal is None and not duplicate_confirmed:
                duplicate = cap_rules.possible_duplicate(
                    order, book, now=self._clock(), sandbox=self.client.sandbox
                )
                refusal = cap_rules.duplicate_refusal(duplicate)
            if refusal is not None:
                details = LineDetails(
                    reason=str(refusal), cost_bound=bound, confirmed_by=confirmed_by
                )
                return [self._line(AuditEvent.REFUSED, order, details)]
            details = LineDetails(
                attempt_id=attempt_id,
                cost_bound=bound,
                confirmed_by=confirmed_by,
                process=this_process(),
            )
            return [self._line(AuditEvent.ATTEMPT, order, details)]

        await self._transact(reserve)
        if refusal is not None:
            raise refusal
        return attempt_id

    async def _send(self, order: OrderRequest, attempt_id: str) -> int:
        """Send the order once; record a failure or an unknown outcome."""
        try:
            return await self.client.send_order(order)  # as validated and priced
        except HappyFollowerOrderOutcomeUnknownError as err:
            details = LineDetails(attempt_id=attempt_id, reason=str(err))
            await self._record_outcome(AuditEvent.OUTCOME_UNKNOWN, order, details)
            raise
        except HappyFollowerError as err:
            # The service answered, or the request never left: nothing was placed.
            details = LineDetails(attempt_id=attempt_id, reason=str(err))
            await self._record_outcome(AuditEvent.FAILED, order, details)
            raise
        except BaseException as err:
            # Cancelled or broken half-way: the order may have reached the service.
            reason = f"interrupted while sending ({type(err).__name__})"
            details = LineDetails(attempt_id=attempt_id, reason=reason)
            await asyncio.shield(self._record_outcome(AuditEvent.OUTCOME_UNKNOWN, order, details))
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

    async def _record_outcome(
        self,
        event: AuditEvent,
        order: OrderRequest,
        details: LineDetails,
        *,
        also: list[AuditRecord] | None = None,
    ) -> None:
        """Write an attempt's outcome (and ``also``, in the same write). If the ledger fails
        now, the attempt stays without an outcome and keeps counting at its bound: log it,
        but report the order's real fate."""
        try:
            await self._append([self._line(event, order, details), *(also or [])])
        except HappyFollowerLedgerError as err:
            _LOGGER.error(
                "Order attempt %s: its outcome (%s, order %s) could not be written; it keeps "
                "counting at its bound: %s",
                details.attempt_id,
                event.value,
                details.order_id,
                err,
            )


__all__ = [
    "DEFAULT_CAPS",
    "SERVICES_TTL",
    "AuditEvent",
    "AuditRecord",
    "Ledger",
    "LedgerOrder",
    "OrderQuote",
    "PlacedOrder",
    "SettledCost",
    "SpendCaps",
    "SpendGuard",
    "Usage",
]
