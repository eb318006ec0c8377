"""What the app-only tools return: the data a card or the account view shows.

Vendor and model text (service names, status titles, links) arrives here already passed
through ``display_text``; the page still inserts every string as text, never as HTML.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ..models import Model, ToolResult

TargetKind = Literal["profile", "post", "reel", "story", "link"]


class Target(Model):
    """What an order delivers to, read from its link."""

    kind: TargetKind = Field(description="profile (@handle), post, reel, story or link")
    text: str = Field(description="The handle or the post's code; the shortened link otherwise")


class OrderCard(ToolResult):
    """One order as its card shows it."""

    order_id: int
    service_id: int | None = Field(description="None when the order was not placed here")
    service_name: str | None = Field(description="The vendor's service name, display-safe")
    target: Target | None
    count: int
    delivered: int
    remain: int
    progress: float = Field(description="Delivered share, percent")
    cost: float | None
    status: str = Field(description="The vendor's status word, display-safe")
    status_title: str = Field(description="The vendor's (Persian) status title, display-safe")
    is_final: bool
    refresh_seconds: float | None = Field(
        description="How long the card waits before reading the status again; None once final"
    )


class OrderProgress(Model):
    """An order's status when the account view was read."""

    progress: float = Field(description="Delivered share, percent")
    delivered: int
    status_title: str = Field(description="The vendor's (Persian) status title, display-safe")
    is_final: bool


class OrderLine(Model):
    """One order of the account view's list."""

    at: datetime
    outcome: str = Field(description="As list_orders gives it: placed, outcome_unknown...")
    order_id: int | None
    service_id: int | None
    service_name: str | None
    target: Target | None
    count: int | None
    cost: float | None
    status: OrderProgress | None = Field(
        description="None when not read: not placed, get_order_status turned off, or a failed read"
    )


class AccountView(ToolResult):
    """Credit, today's use of the caps, and the latest orders placed here."""

    credit: float | None = Field(description="None when the credit could not be read")
    credit_problem: str | None = Field(description="Why the credit could not be read")
    orders_last_24h: int
    max_orders_per_day: int | None
    spent_last_24h: float
    reserved_last_24h: float = Field(description="Cost bounds of orders whose cost is not known")
    max_spend_per_day: float | None
    orders: list[OrderLine] = Field(description="Newest first")
