"""The app-only tools' handlers, imported when a client first needs them (``extension``).

This module does not use ``from __future__ import annotations``: the SDK reads the
handlers' annotations.
"""

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from ..arguments import OrderId
from ..backend import Backend
from . import cards
from .extension import ACCOUNT_TOOL, ORDER_CARD_TOOL
from .models import AccountView, OrderCard


def app_tool_handlers(
    backend: Backend, enabled: Collection[str]
) -> dict[str, Callable[..., Awaitable[Any]]]:
    """The handler of every app tool, by name; ``enabled`` (the model's tools the operator
    enabled) decides what the account view reads besides the ledger."""
    names = cards.ServiceNames(backend)
    with_credit = "get_credit" in enabled
    with_status = "get_order_status" in enabled

    async def app_order_card(order_id: OrderId) -> OrderCard:
        """One order's card: status, progress, cost, service name and target."""
        return await cards.order_card(backend, names, order_id)

    async def app_account() -> AccountView:
        """Credit, today's use of the caps, and the latest orders placed here."""
        return await cards.account_view(
            backend, names, with_credit=with_credit, with_status=with_status
        )

    return {ORDER_CARD_TOOL: app_order_card, ACCOUNT_TOOL: app_account}
