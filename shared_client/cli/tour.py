"""The terminal part of ``happy-follower demo``: a guided run on the embedded simulator."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TextIO

from ..client import HappyFollowerClient
from ..guard import DEFAULT_CAPS, SpendGuard
from ..ledger import Ledger
from ..models import OrderStatus
from ..simulator import Simulator
from ..validation import display_text

DEMO_LINK = "https://www.instagram.com/happy.follower.demo"
DEMO_CREDIT = 250_000
BAR_WIDTH = 30


def progress_bar(status: OrderStatus, *, with_cost: bool = False) -> str:
    """One line such as ``[#######-------] 50.0%  50/100 delivered  in_progress``; with
    ``with_cost``, the cost the service gives (or that it gives none) before the status, so
    that the vendor's title (often Persian) ends the line."""
    filled = round(status.progress / 100 * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    title = f" ({display_text(status.status_title)})" if status.status_title else ""
    cost = ""
    if with_cost:
        cost = "cost not given  " if status.cost is None else f"cost {status.cost:g}  "
    return (
        f"[{bar}] {status.progress:5.1f}%  {status.delivered}/{status.count} delivered  "
        f"{cost}{display_text(status.status)}{title}"
    )


async def _order_through_the_guard(
    client: HappyFollowerClient, service_id: int
) -> tuple[int, list[str]]:
    """The order as ``happy-follower order`` places it (checked, confirmed, written to a
    ledger before it is sent): its id and the lines a person would have confirmed."""
    with tempfile.TemporaryDirectory(prefix="happy-follower-tour-") as scratch:
        ledger = Ledger(Path(scratch) / "ledger.jsonl")
        guard = SpendGuard(client, ledger, DEFAULT_CAPS, source="demo")
        await guard.open()
        quote = await guard.prepare_order(service_id, DEMO_LINK, 100)
        placed = await guard.place_order(quote, confirmed_by="the demo (no person asked)")
    return placed.order_id, quote.confirmation_lines("the simulator")


async def guided_tour(sim: Simulator, api_key: str, out: TextIO, *, tick: float) -> None:
    """Credit, services, one order placed and watched to completion, in the terminal."""
    say = out.write
    say(f"A simulated Happy Follower account is running at {sim.base_url}\n\n")
    async with HappyFollowerClient(api_key, base_url=sim.base_url) as client:
        say(f"1. Credit: {await client.get_credit():,}\n")
        services = await client.get_services()
        say("2. Active services:\n")
        for service in services:
            say(f"   {service.service_id:>4}  {display_text(service.name)}\n")
        service = services[0]
        order_id, confirmation = await _order_through_the_guard(client, service.service_id)
        say(f"3. Ordered 100 × '{display_text(service.name)}' for {DEMO_LINK}: order {order_id}\n")
        say("   through the spend guard, which shows this for you to confirm:\n")
        for line in confirmation:
            say(f"     {line}\n")
        say("4. Watching it (the simulator's clock runs fast here):\n")
        status = await client.get_order_status(order_id)
        say(f"   {progress_bar(status)}\n")
        while not status.is_final:
            await asyncio.sleep(tick)
            sim.advance(5)
            status = await client.get_order_status(order_id)
            say(f"   {progress_bar(status)}\n")
            out.flush()
        say(f"5. Done: cost {status.cost}, credit now {await client.get_credit():,}\n\n")
    out.flush()
