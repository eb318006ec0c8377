"""The read tools' handlers. Each ``make_*`` builds one tool's handler for a backend.

This module does not use ``from __future__ import annotations``: the SDK reads the
handlers' annotations at registration.
"""

from collections.abc import Awaitable, Callable

from . import results
from .arguments import Limit, OrderId
from .backend import Backend
from .errors import guarded
from .models import (
    ConnectionResult,
    CreditResult,
    OrdersResult,
    OrderStatusResult,
    ServicesResult,
)


def make_check_connection(backend: Backend) -> Callable[[], Awaitable[ConnectionResult]]:
    async def check_connection() -> ConnectionResult:
        """Check that the API key works: authenticates with Happy Follower and reports which
        environment answered (live, sandbox or simulated). Tokens never leave the server."""
        await guarded(backend.environment, backend.client.authenticate)
        return ConnectionResult(
            authenticated=True, api_root=backend.client.base_url, **backend.result_fields
        )

    return check_connection


def make_get_credit(backend: Backend) -> Callable[[], Awaitable[CreditResult]]:
    async def get_credit() -> CreditResult:
        """Read the account's credit (balance) in the account's currency. Orders are paid
        from it; an order whose cost exceeds it is refused."""
        credit = await guarded(backend.environment, backend.client.get_credit)
        return CreditResult(credit=credit, **backend.result_fields)

    return get_credit


def make_list_services(backend: Backend) -> Callable[[], Awaitable[ServicesResult]]:
    async def list_services() -> ServicesResult:
        """List the active services (likes, followers, views...) with their service_id,
        needed to place an order. Names are the vendor's, often Persian."""
        return await results.services(backend)

    return list_services


def make_get_order_status(backend: Backend) -> Callable[[OrderId], Awaitable[OrderStatusResult]]:
    async def get_order_status(order_id: OrderId) -> OrderStatusResult:
        """Read one order's status: delivered and remaining units, progress, cost, and
        whether it is final. Use it to follow an order after placing it."""
        return await results.order_status(backend, order_id)

    return get_order_status


def make_list_orders(backend: Backend) -> Callable[[Limit], Awaitable[OrdersResult]]:
    async def list_orders(limit: Limit = 20) -> OrdersResult:
        """List the orders placed through this server and the other programs sharing its
        audit ledger (newest first): the Happy Follower API has no way to list orders. Also
        shows how much of the caps the last 24 hours used (spent and reserved)."""
        return await results.orders(backend, limit)

    return list_orders
