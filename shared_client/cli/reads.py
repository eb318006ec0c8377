"""The commands that only read: ``credit``, ``services``, ``status`` and ``orders``."""

from __future__ import annotations

import asyncio
from argparse import Namespace
from dataclasses import asdict
from typing import Any

from ..client import HappyFollowerClient
from ..errors import HappyFollowerLedgerError
from ..guard import SpendGuard
from ..ledger import AuditEvent, AuditRecord, Ledger
from ..models import OrderStatus
from ..validation import display_text, positive_int
from .context import CliError, Context, ExitCode
from .render import (
    caps_data,
    caps_text,
    is_simulator_root,
    ledger_order_text,
    refusal_data,
    refusal_text,
    status_text,
    usage_text,
)
from .table import Command, Option

ORDER_ID = Option("order_id", "the order's id, as `order` printed it")


async def credit(ctx: Context, args: Namespace) -> ExitCode:
    async with ctx.client() as client:
        amount = await client.get_credit()
    ctx.emit({"credit": amount}, f"Credit: {amount:,}")
    return ExitCode.OK


async def services(ctx: Context, args: Namespace) -> ExitCode:
    async with ctx.client() as client:
        found = await client.get_services()
    rows = [service.model_dump() for service in found]
    text = "\n".join(f"{s.service_id:>6}  {display_text(s.name)}" for s in found)
    ctx.emit(rows, text or "No services.")
    return ExitCode.OK


async def status(ctx: Context, args: Namespace) -> ExitCode:
    order_id = positive_int(args.order_id, "order_id")
    async with ctx.client() as client:
        current = await client.get_order_status(order_id)
        ctx.emit(current.summary(order_id), status_text(order_id, current))
        await _settle_cost(ctx, client, order_id, current)
        while args.watch and not current.is_final:
            await asyncio.sleep(args.interval)
            current = await client.get_order_status(order_id)
            ctx.emit(current.summary(order_id), status_text(order_id, current))
        if args.watch:
            await _settle_cost(ctx, client, order_id, current)  # a partial end refunds
    return ExitCode.OK


def status_interrupted(ctx: Context, args: Namespace) -> ExitCode:
    """Ctrl-C stops watching; the order itself keeps running."""
    if args.watch:
        print(
            f"\nStopped watching. Order {args.order_id} keeps running at Happy Follower; look "
            f"again with: {ctx.command_hint(f'status {args.order_id} --watch')}",
            file=ctx.out,
        )
    return ExitCode.OK


async def _settle_cost(
    ctx: Context, client: HappyFollowerClient, order_id: int, current: OrderStatus
) -> None:
    """Settle the order's reserved cost bound in the ledger with the cost the status
    gives (what the guard asks for when a cost was never learned). A read never creates
    a ledger, and a ledger problem does not stop it."""
    path = ctx.settings.ledger_path()
    if not path.exists():
        return
    guard = SpendGuard(client, Ledger(path), ctx.caps, source="cli")
    settled = await guard.settle_cost(order_id, current.cost)
    if settled.not_written is not None:
        ctx.warn(f"the order's cost could not be written to the ledger: {settled.not_written}")
    if settled.anomaly is not None:
        ctx.warn(f"order {order_id}: {settled.anomaly}")


async def orders(ctx: Context, args: Namespace) -> ExitCode:
    async with ctx.client() as client:
        guard = await ctx.open_guard(client)
        usage, items = guard.usage(), await guard.history(args.limit)
        refusals = await _refusals(guard, args.limit) if args.refusals else None
    where = "sandbox" if client.sandbox else "live"
    simulator = is_simulator_root(client.base_url)
    data: dict[str, Any] = {
        "environment": where,
        "api_root": client.base_url,
        "simulator": simulator,
        "usage_24h": asdict(usage),
        "caps": caps_data(ctx.caps),
        "orders": [item.summary() for item in items],
    }
    heading = f"{where} orders of the ledger"
    if simulator:
        heading += f"; the API in use is the SIMULATOR at {client.base_url}, not the vendor"
    lines = [f"Last 24 hours ({heading}): {usage_text(usage)}; caps: {caps_text(ctx.caps)}"]
    lines += [ledger_order_text(item) for item in items] or ["No orders in the ledger."]
    if refusals is not None:
        data["refusals"] = [refusal_data(record) for record in refusals]
        lines += ["Refused before sending (nothing was sent):"]
        lines += [refusal_text(record) for record in refusals] or ["  No refusals."]
    ctx.emit(data, "\n".join(lines))
    return ExitCode.OK


async def _refusals(guard: SpendGuard, limit: int) -> list[AuditRecord]:
    """The ledger's refusals in this environment, newest first, at most ``limit``."""
    try:
        records = await asyncio.to_thread(guard.ledger.history)
    except HappyFollowerLedgerError as err:
        raise CliError(str(err), ExitCode.LEDGER) from None
    sandbox = guard.client.sandbox
    refused = [
        record
        for record in records
        if record.event is AuditEvent.REFUSED and record.sandbox == sandbox
    ]
    return refused[::-1][:limit]


CREDIT = Command("credit", "show the account's credit", credit)
SERVICES = Command("services", "list the active services", services)
ORDERS = Command(
    "orders",
    "the ledger's order attempts and the last 24 hours against the caps",
    orders,
    options=(
        Option("--limit", "how many attempts to list", parse=int, default=20),
        Option(
            "--refusals",
            "also list the orders refused before sending (by the input checks, a cap or "
            "the person), newest first, with why",
            flag=True,
        ),
    ),
    guard_options=True,
)
STATUS = Command(
    "status",
    "show an order's status",
    status,
    options=(
        ORDER_ID,
        Option("--watch", "follow until the order is final", flag=True),
        Option("--interval", "seconds between checks", parse=float, default=10.0),
    ),
    interrupted=status_interrupted,
)
