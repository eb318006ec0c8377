"""The data behind the pages: one order's card, the account view, an order's target.

Status, ledger and usage come from ``results`` (the same reads the model's tools make);
this module only adds what a person needs to recognise an order: the service's name and
the handle or post the link points at, all passed through ``display_text``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Final

from mcp.server.mcpserver.exceptions import ToolError

from shared_client import HappyFollowerError
from shared_client.validation import display_text, link_target

from .. import results
from ..backend import Backend
from ..errors import tool_error
from .models import AccountView, OrderCard, OrderLine, OrderProgress, Target

REFRESH_SECONDS = 10.0  # an open card of a young order reads its status this often
YOUNG: Final = 600.0  # seconds after placing: polled every REFRESH_SECONDS
OLD: Final = 3600.0  # seconds after placing: from then on polled six times less often
NAMES_TTL: Final = 300.0  # seconds the service names are reused before reading them again
LEDGER_SEARCH: Final = 200  # newest ledger orders searched for an order's service
ACCOUNT_ORDERS: Final = 5


def target_of(link: str | None) -> Target | None:
    """The profile, post, reel or story an Instagram link points at; the link otherwise."""
    if not link:
        return None
    target = link_target(link)
    return Target(kind=target.kind, text=target.text)


def refresh_after(placed_at: datetime | None) -> float:
    """How long an open card waits before reading its order again: often while the order
    is young, less often as it ages (slow deliveries run for hours). An order placed
    elsewhere has no known age: the middle pace."""
    if placed_at is None:
        return REFRESH_SECONDS * 3
    age = (datetime.now(UTC) - placed_at).total_seconds()
    if age < YOUNG:
        return REFRESH_SECONDS
    return REFRESH_SECONDS * (3 if age < OLD else 6)


class ServiceNames:
    """Service names by id, read again at most every ``NAMES_TTL`` seconds: open cards
    refresh often, the catalogue rarely changes."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._names: dict[int, str] = {}
        self._read_at: float | None = None

    async def name(self, service_id: int | None) -> str | None:
        """The display-safe name, or None (unknown id, or the list cannot be read now)."""
        if service_id is None:
            return None
        now = time.monotonic()
        if self._read_at is None or now - self._read_at > NAMES_TTL:
            try:
                services = await self._backend.client.get_services()
            except HappyFollowerError:
                return self._names.get(service_id)  # the card shows the id instead
            self._names = {service.service_id: display_text(service.name) for service in services}
            self._read_at = now
        return self._names.get(service_id)


async def order_card(backend: Backend, names: ServiceNames, order_id: int) -> OrderCard:
    """The card of one order: its status now, and its service and target."""
    status = await results.order_status(backend, order_id)
    ledger = await results.orders(backend, LEDGER_SEARCH)
    placed = next((order for order in ledger.orders if order.order_id == order_id), None)
    service_id = placed.service_id if placed is not None else None
    link = status.link or (placed.link if placed is not None else None)
    return OrderCard(
        order_id=order_id,
        service_id=service_id,
        service_name=await names.name(service_id),
        target=target_of(link),
        count=status.count,
        delivered=status.delivered,
        remain=status.remain,
        progress=status.progress,
        cost=status.cost,
        status=display_text(status.status, 40),
        status_title=display_text(status.status_title, 60),
        is_final=status.is_final,
        refresh_seconds=None if status.is_final else refresh_after(placed.at if placed else None),
        **backend.result_fields,
    )


async def account_view(
    backend: Backend, names: ServiceNames, *, with_credit: bool, with_status: bool
) -> AccountView:
    """Credit and the latest orders' status (unless the operator turned get_credit or
    get_order_status off), caps used."""
    listed = await results.orders(backend, ACCOUNT_ORDERS)
    credit: float | None = None
    problem: str | None = None
    if with_credit:
        try:
            credit = await backend.client.get_credit()
        except HappyFollowerError as err:
            problem = display_text(tool_error(err, backend.environment), 200)
    statuses = await asyncio.gather(
        *(
            _status(backend, order.order_id)
            if with_status and order.outcome == "placed" and order.order_id is not None
            else _nothing()
            for order in listed.orders
        )
    )
    lines = [
        OrderLine(
            at=order.at,
            outcome=order.outcome,
            order_id=order.order_id,
            service_id=order.service_id,
            service_name=await names.name(order.service_id),
            target=target_of(order.link),
            count=order.count,
            cost=order.cost,
            status=status,
        )
        for order, status in zip(listed.orders, statuses, strict=True)
    ]
    return AccountView(
        credit=credit,
        credit_problem=problem,
        orders_last_24h=listed.orders_last_24h,
        max_orders_per_day=listed.max_orders_per_day,
        spent_last_24h=listed.spent_last_24h,
        reserved_last_24h=listed.reserved_last_24h,
        max_spend_per_day=listed.max_spend_per_day,
        orders=lines,
        **backend.result_fields,
    )


async def _status(backend: Backend, order_id: int) -> OrderProgress | None:
    try:
        status = await results.order_status(backend, order_id)
    except ToolError:
        return None  # the line shows what the ledger knows
    return OrderProgress(
        progress=status.progress,
        delivered=status.delivered,
        status_title=display_text(status.status_title, 60),
        is_final=status.is_final,
    )


async def _nothing() -> None:
    return None
