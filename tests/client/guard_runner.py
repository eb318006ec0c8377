"""A second process placing orders through its own SpendGuard on a shared ledger file.

Started by test_guard_faults.py with one JSON argument (simulator URL, API key, ledger
path, caps, orders). Prints "ready" once its guard is open, then one JSON list with
the result of each order: "placed", "unknown", "refused:<cap>" or "failed:<error>".
Not a test module.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared_client import (
    HappyFollowerClient,
    HappyFollowerError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerSpendCapError,
)
from shared_client.guard import Ledger, PlacedOrder, SpendCaps, SpendGuard


async def place(
    guard: SpendGuard, order: Sequence[Any], confirmed_by: str = "runner"
) -> tuple[str, PlacedOrder | None]:
    """Place (service id, link, count, duplicate confirmed) and name what happened:
    "placed" (with the order), "unknown", "refused:<cap>" or "failed:<error>".
    The fault schedules of this process use it too."""
    service_id, link, count, duplicate_confirmed = order
    try:
        quote = await guard.prepare_order(service_id, link, count, confirmed_by=confirmed_by)
        placed = await guard.place_order(
            quote, confirmed_by=confirmed_by, duplicate_confirmed=duplicate_confirmed
        )
    except HappyFollowerOrderOutcomeUnknownError:
        return "unknown", None
    except HappyFollowerSpendCapError as err:
        return f"refused:{err.cap}", None
    except HappyFollowerError as err:
        return f"failed:{type(err).__name__}", None
    return "placed", placed


async def main(spec: dict[str, Any]) -> None:
    caps = SpendCaps(
        max_orders_per_day=spec["max_orders_per_day"],
        max_spend_per_day=spec["max_spend_per_day"],
        unit_prices={int(key): value for key, value in spec["unit_prices"].items()},
    )
    async with HappyFollowerClient(
        spec["api_key"],
        base_url=spec["base_url"],
        retry_backoff=0.0,
        request_timeout=spec["timeout"],
    ) as client:
        guard = SpendGuard(client, Ledger(Path(spec["ledger"])), caps, source="runner")
        await guard.open()
        print("ready", flush=True)
        results = await asyncio.gather(*(place(guard, order) for order in spec["orders"]))
        print(json.dumps([result for result, _ in results]), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
