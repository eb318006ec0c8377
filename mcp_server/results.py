"""Results that more than one tool or resource returns, built in one place each."""

from __future__ import annotations

from shared_client.guard import AuditEvent
from shared_client.validation import OrderRequest

from .backend import Backend
from .errors import guarded
from .models import LedgerOrder, OrdersResult, OrderStatusResult, ServiceItem, ServicesResult


async def services(backend: Backend) -> ServicesResult:
    """The service catalogue, with the unit price last seen for each service."""
    listed = await guarded(backend.environment, backend.client.get_services)
    items = [
        ServiceItem(
            service_id=service.service_id,
            name=service.name,
            last_unit_price=backend.guard.estimated_cost(OrderRequest(service.service_id, "", 1)),
        )
        for service in listed
    ]
    return ServicesResult(services=items, **backend.result_fields)


async def order_status(backend: Backend, order_id: int) -> OrderStatusResult:
    """One order's status, as ``OrderStatus.summary`` gives it."""
    status = await guarded(backend.environment, lambda: backend.client.get_order_status(order_id))
    return OrderStatusResult(**status.summary(order_id), **backend.result_fields)


def orders(backend: Backend, limit: int) -> OrdersResult:
    """The orders of this environment in the ledger, newest first, and today's cap usage."""
    guard = backend.guard
    records = [
        record
        for record in guard.records
        if record.event in (AuditEvent.PLACED, AuditEvent.OUTCOME_UNKNOWN)
        and record.sandbox == backend.client.sandbox
    ]
    listed = [
        LedgerOrder(
            at=record.at,
            outcome="placed" if record.event is AuditEvent.PLACED else "outcome_unknown",
            order_id=record.order_id,
            service_id=record.service_id,
            link=record.link,
            count=record.count,
            cost=record.cost,
        )
        for record in reversed(records[-limit:])
    ]
    caps = backend.settings.caps
    return OrdersResult(
        orders=listed,
        orders_last_24h=guard.orders_in_window(),
        spent_last_24h=guard.spent_in_window(),
        max_orders_per_day=caps.max_orders_per_day,
        max_spend_per_day=caps.max_spend_per_day,
        **backend.result_fields,
    )
