"""Results that more than one tool or resource returns, built in one place each."""

from __future__ import annotations

import logging

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
    """One order's status, as ``OrderStatus.summary`` gives it. A cost it shows settles the
    order's reserved bound in the ledger."""
    status = await guarded(backend.environment, lambda: backend.client.get_order_status(order_id))
    if status.cost is not None:
        try:
            await backend.guard.note_cost(order_id, float(status.cost))
        except HappyFollowerLedgerError as err:
            # The bound stays reserved: the caps stay on the safe side.
            _LOGGER.warning("Cost of order %s not written to the ledger: %s", order_id, err)
    return OrderStatusResult(**status.summary(order_id), **backend.result_fields)


async def orders(backend: Backend, limit: int) -> OrdersResult:
    """The orders of this environment in the ledger (every process's), newest first, and
    the caps' use in the last 24 hours."""
    guard = backend.guard
    await guarded(backend.environment, guard.refresh)
    usage = guard.usage()
    caps = guard.caps
    return OrdersResult(
        orders=[_listed(order) for order in guard.orders(limit)],
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
