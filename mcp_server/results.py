"""Results that more than one tool or resource returns, built in one place each."""

from __future__ import annotations

from shared_client.order_list import LedgerOrder as GuardLedgerOrder
from shared_client.validation import display_text

from .backend import Backend
from .errors import guarded
from .models import LedgerOrder, OrdersResult, OrderStatusResult, ServiceItem, ServicesResult


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
    # A cost that cannot be written keeps the order counting at its bound (the guard logs it).
    settled = await backend.guard.settle_cost(order_id, status.cost)
    return OrderStatusResult(
        **status.summary(order_id), cost_anomaly=settled.anomaly, **backend.result_fields
    )


async def orders(backend: Backend, limit: int) -> OrdersResult:
    """The orders of this environment in the ledger (every process's), newest first, and
    the caps' use in the last 24 hours."""
    guard = backend.guard
    await guarded(backend.environment, guard.refresh)
    usage = guard.usage()
    caps = guard.caps
    return OrdersResult(
        orders=[
            LedgerOrder.model_validate(order.summary())
            for order in await guarded(backend.environment, lambda: guard.history(limit))
        ],
        orders_last_24h=usage.orders,
        spent_last_24h=usage.spent,
        reserved_last_24h=usage.reserved,
        max_count_per_order=caps.max_count_per_order,
        max_orders_per_day=caps.max_orders_per_day,
        max_spend_per_day=caps.max_spend_per_day,
        interrupted_at_start=[
            LedgerOrder.model_validate(GuardLedgerOrder.interrupted(record).summary())
            for record in backend.interrupted
        ],
        **backend.result_fields,
    )
