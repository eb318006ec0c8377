"""What the CLI prints about orders, the ledger and the API in use: text for people, data
for ``--json``."""

from __future__ import annotations

from typing import Any

from yarl import URL

from ..client import HappyFollowerClient
from ..guard import LedgerOrder, SpendCaps, Usage
from ..ledger import AuditRecord
from ..models import OrderStatus
from ..validation import amount_text, display_text, link_target
from .context import one_line
from .tour import progress_bar


def is_simulator_root(base_url: str) -> bool:
    """Whether an API root is the embedded simulator's: plain http on a loopback address,
    at the path the simulator serves (``/api/v1`` or ``/api/sandbox/v1``)."""
    try:
        url = URL(base_url)
    except ValueError:
        return False
    return (
        url.scheme == "http"
        and url.host in ("127.0.0.1", "localhost", "::1")
        and url.path.rstrip("/") in ("/api/v1", "/api/sandbox/v1")
    )


def environment_label(client: HappyFollowerClient) -> str:
    """Where the orders go, for the person confirming and for ``orders``. The simulator is
    never called LIVE: it answers in the live (or sandbox) API's shape, and the ledger counts
    its orders with that environment's, but it is not the vendor."""
    if is_simulator_root(client.base_url):
        # Short enough for the confirmation's first line (80 characters).
        shape = "sandbox shape" if client.sandbox else "live API's shape"
        return f"SIMULATOR ({shape}, not the vendor), {client.base_url}"
    return f"{'SANDBOX' if client.sandbox else 'LIVE'}, {client.base_url}"


def target_text(link: str | None) -> str:
    """What a link points at, short enough to tell orders apart: @handle, post CODE..."""
    target = link_target(link)
    return target.text if target.kind in ("profile", "link") else f"{target.kind} {target.text}"


def status_text(order_id: int, status: OrderStatus) -> str:
    """One line of ``status``: the progress and what the service says it costs."""
    return f"Order {order_id}: {progress_bar(status, with_cost=True)}"


def caps_data(caps: SpendCaps) -> dict[str, Any]:
    return {
        "max_count_per_order": caps.max_count_per_order,
        "max_orders_per_day": caps.max_orders_per_day,
        "max_spend_per_day": caps.max_spend_per_day,
        "unit_prices": {str(k): v for k, v in caps.unit_prices.items()},
    }


def usage_text(usage: Usage) -> str:
    spent, reserved = amount_text(usage.spent), amount_text(usage.reserved)
    text = f"{usage.orders} order(s), spent {spent}, reserved {reserved}"
    if usage.unbounded:
        text += f", {usage.unbounded} of unknown cost"
    return text


def caps_text(caps: SpendCaps) -> str:
    def cap(value: float | None, unit: str) -> str:
        return f"no cap on {unit}" if value is None else f"{amount_text(value)} {unit}"

    return ", ".join(
        (
            cap(caps.max_orders_per_day, "orders a day"),
            cap(caps.max_count_per_order, "per order"),
            cap(caps.max_spend_per_day, "spend a day"),
        )
    )


def refusal_data(record: AuditRecord) -> dict[str, Any]:
    return {
        "at": record.at.isoformat(),
        "service_id": record.service_id,
        "link": record.link,
        "count": record.count,
        "reason": record.reason,
        "confirmed_by": record.confirmed_by,
        "source": record.source,
        "sandbox": record.sandbox,
    }


def refusal_text(record: AuditRecord) -> str:
    service = f"service {record.service_id}" if record.service_id is not None else "no service"
    count = f"x{record.count}" if record.count is not None else "no count"
    link = display_text(target_text(record.link), 80) if record.link else "no link"
    return (
        f"  {record.at:%Y-%m-%d %H:%M} UTC  {service}  {count}  {link}  "
        f"({record.source}): {display_text(one_line(record.reason or 'no reason recorded'), 200)}"
    )


def ledger_order_text(item: LedgerOrder) -> str:
    order = f"order {item.order_id}" if item.order_id is not None else "no order id"
    if item.cost is not None:
        cost = f"cost {amount_text(item.cost)}"
    elif item.cost_bound is not None:
        cost = f"cost at most {amount_text(item.cost_bound)}"
    else:
        cost = "cost unknown"
    who = display_text(item.confirmed_by or "not confirmed", 40)
    return (
        f"  {item.at:%Y-%m-%d %H:%M} UTC  {item.outcome:<15}  {order:<14}  service "
        f"{item.service_id}  x{item.count}  {target_text(item.link)}  {cost}  "
        f"(confirmed by {who}, {item.source})"
    )
