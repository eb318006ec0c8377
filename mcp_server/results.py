"""Results that more than one tool or resource returns, built in one place each."""

from __future__ import annotations

import logging
import math

from shared_client.errors import HappyFollowerLedgerError
from shared_client.guard import LedgerOrder as GuardLedgerOrder
from shared_client.ledger import AuditRecord
from shared_client.validation import display_text

from .backend import Backend
from .errors import guarded
from .models import LedgerOrder, OrdersResult, OrderStatusResult, ServiceItem, ServicesResult

_LOGGER = logging.getLogger(__name__)


async def services(backend: Backend) -> ServicesResult:
    """The service catalogue (names display-safe), with the unit price that bounds orders."""
    listed = await guarded(backend.environment, backend.client.get_services)
    items = []
    for service in listed:
        price = backend.guard.unit_price(service.service_id)
        items.append(
            ServiceItem(
                service_id=service.service_id,
                name=display_text(service.name),
                unit_price=price[0] if price is not None else None,
            )
        )
    return ServicesResult(services=items, **backend.result_fields)


async def order_status(backend: Backend, order_id: int) -> OrderStatusResult:
    """One order's status, as ``OrderStatus.summary`` gives it. Every read goes to the guard
    with the cost it gave, as it gave it (none included): a higher cost counts, and what is
    wrong with it (the guard's one rule) is written to the ledger and shown."""
    status = await guarded(backend.environment, lambda: backend.client.get_order_status(order_id))
    anomaly = None
    try:
        anomaly = await backend.guard.note_cost(order_id, _as_float(status.cost))
    except HappyFollowerLedgerError as err:
        # The order keeps counting at its bound: the caps stay on the safe side.
        _LOGGER.warning("Cost of order %s not written to the ledger: %s", order_id, err)
    return OrderStatusResult(
        **status.summary(order_id), cost_anomaly=anomaly, **backend.result_fields
    )


def _as_float(cost: float | None) -> float | None:
    """A status's cost for the guard; a whole number too large for a float is infinite
    (an anomaly), not a crash."""
    if cost is None:
        return None
    try:
        return float(cost)
    except OverflowError:
        return math.inf


async def orders(backend: Backend, limit: int) -> OrdersResult:
    """The orders of this environment in the ledger (every process's), newest first, and
    the caps' use in the last 24 hours."""
    guard = backend.guard
    await guarded(backend.environment, guard.refresh)
    usage = guard.usage()
    caps = guard.caps
    return OrdersResult(
        orders=[
            _listed(order)
            for order in await guarded(backend.environment, lambda: guard.history(limit))
        ],
        orders_last_24h=usage.orders,
        spent_last_24h=usage.spent,
        reserved_last_24h=usage.reserved,
        max_count_per_order=caps.max_count_per_order,
        max_orders_per_day=caps.max_orders_per_day,
        max_spend_per_day=caps.max_spend_per_day,
        interrupted_at_start=[_interrupted(record) for record in backend.interrupted],
        **backend.result_fields,
    )


def _listed(order: GuardLedgerOrder) -> LedgerOrder:
    return LedgerOrder(
        at=order.at,
        outcome=order.outcome,
        order_id=order.order_id,
        service_id=order.service_id,
        link=order.link,
        count=order.count,
        cost=order.cost,
        cost_bound=order.cost_bound,
        confirmed_by=order.confirmed_by,
        source=order.source,
        anomalies=list(order.anomalies),
    )


def _interrupted(record: AuditRecord) -> LedgerOrder:
    return LedgerOrder(
        at=record.at,
        outcome="outcome_unknown",
        order_id=None,
        service_id=record.service_id,
        link=record.link,
        count=record.count,
        cost=None,
        cost_bound=record.cost_bound,
        confirmed_by=record.confirmed_by,
        source=record.source,
    )
