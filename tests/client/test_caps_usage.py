"""The one rule of what the spend cap counts and what it leaves: ``Usage.counted`` and
``Usage.room``, read by the guard's refusal and by Home Assistant's sensors alike.

On the simulator over loopback, with a ledger file on disk: the room a refusal gives is the
room the usage gives, and an order that costs up to exactly the room goes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared_client import HappyFollowerClient, HappyFollowerSpendCapError
from shared_client.errors import Refusal
from shared_client.guard import Ledger, SpendCaps, SpendGuard, Usage
from shared_client.simulator import Simulator

from .guard_support import LINK, Clock, order_posts

CAP = 1000.0


def test_the_cap_counts_costs_and_bounds_and_leaves_the_rest() -> None:
    usage = Usage(orders=2, spent=200.0, reserved=50.0, unbounded=0)
    assert usage.counted == 250.0
    assert usage.room(CAP) == 750.0
    # Over the cap (a cost that came in above its bound): nothing is left, never less.
    assert Usage(orders=2, spent=900.0, reserved=200.0, unbounded=0).room(CAP) == 0.0
    assert Usage(orders=0, spent=0.0, reserved=0.0, unbounded=0).room(CAP) == CAP


async def test_the_refusal_and_the_usage_give_one_room(
    simulator: Simulator, client: HappyFollowerClient, tmp_path: Path
) -> None:
    guard = SpendGuard(
        client,
        Ledger(tmp_path / "orders.jsonl"),
        SpendCaps(max_spend_per_day=CAP, unit_prices={10: 2.5}),
        source="tests",
        clock=Clock(),
    )

    async def place(count: int) -> None:
        quote = await guard.prepare_order(10, LINK, count, confirmed_by="tests")
        await guard.place_order(quote, confirmed_by="tests")

    await place(100)  # bound 250; the simulator charges 200, and the bound counts
    used = guard.usage()
    assert (used.spent, used.reserved, used.counted, used.room(CAP)) == (200, 50, 250, 750)

    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(301)  # bound 752.5, above the room
    assert refused.value.cap is Refusal.MAX_SPEND_PER_DAY
    assert refused.value.amounts["room"] == guard.usage().room(CAP) == 750
    assert order_posts(simulator) == 1

    await place(300)  # bound 750: exactly the room, so it goes
    assert guard.usage().counted == CAP
    assert guard.usage().room(CAP) == 0
    assert order_posts(simulator) == 2
