"""What the spend guard adds to one order, next to the order call itself.

``client.place_order`` alone (one POST) is the baseline. Against it, in the same run:
a guarded order (``SpendGuard.prepare_order`` then ``place_order``, as every front-end
places one) without and with a spend cap, and its parts measured alone:
the ledger's lock with a catch-up read, the ledger's lock with one record written and
fsynced (the guard writes two per order: the attempt before sending, the outcome
after), the first status read (to learn the cost) and the credit read (with a spend
cap). Everything talks to the embedded simulator on 127.0.0.1; the ledger is a file in
a temporary folder on the same disk as /tmp.

Each round times the baseline and the case back to back (order shuffled), with the
garbage collector paused; the median of the rounds' ratios is reported, as in
bench/client_overhead.py. A fresh ledger per round, except the row that starts from a
ledger of 10,000 earlier records, all older than two days: the guard's first transaction
moves them to the ledger's archive, so its orders cost what they cost on a fresh ledger.
What one order costs a one-shot process (the CLI) as the history grows, process start
included: bench/ledger_growth.py.

    uv run python bench/guard_overhead.py [--orders 50] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from shared_client import HappyFollowerClient
from shared_client.guard import PlacedOrder, SpendCaps, SpendGuard
from shared_client.ledger import AuditEvent, AuditRecord, Ledger
from shared_client.simulator import Simulator

LINK = "https://www.instagram.com/mehdifeizi"
NOISE_FLOOR = "baseline vs itself (noise)"
EARLIER_RECORDS = 10_000

Call = Callable[[], Awaitable[object]]
# A case builds the call to time from a fresh ledger path.
Case = Callable[[Path], Awaitable[Call]]


async def timed(call: Call, orders: int) -> float:
    start = time.perf_counter()
    for _ in range(orders):
        await call()
    return (time.perf_counter() - start) / orders


def earlier_records(path: Path) -> None:
    """A ledger of EARLIER_RECORDS placed orders of a year ago (outside the window)."""
    at = datetime.now(UTC).replace(year=2025)
    lines = [
        AuditRecord(
            at=at,
            event=AuditEvent.PLACED,
            source="bench",
            sandbox=False,
            attempt_id=f"old-{n}",
            service_id=10,
            link=LINK,
            count=10,
            order_id=n + 1,
            cost=20.0,
        )
        for n in range(EARLIER_RECORDS)
    ]
    Ledger(path).transact(lambda _old: lines)


async def guarded(spend_guard: SpendGuard) -> Call:
    """One order as every front-end places it: validated and priced, then placed as priced."""
    await spend_guard.open()
    await spend_guard.prepare_order(10, LINK, 10)  # the services list, read and cached

    async def order() -> PlacedOrder:
        quote = await spend_guard.prepare_order(10, LINK, 10)
        return await spend_guard.place_order(quote, confirmed_by="bench")

    return order


def cases(client: HappyFollowerClient) -> dict[str, Case]:
    def guard(path: Path, caps: SpendCaps) -> SpendGuard:
        return SpendGuard(client, Ledger(path), caps, source="bench")

    async def baseline(_path: Path) -> Call:
        return lambda: client.place_order(service_id=10, link=LINK, count=10)

    async def uncapped(path: Path) -> Call:
        return await guarded(guard(path, SpendCaps()))

    async def capped(path: Path) -> Call:
        caps = SpendCaps(max_orders_per_day=10**6, max_spend_per_day=10**9, unit_prices={10: 2})
        return await guarded(guard(path, caps))

    async def long_ledger(path: Path) -> Call:
        earlier_records(path)
        return await capped(path)

    async def ledger_read(path: Path) -> Call:
        ledger = Ledger(path)
        return lambda: asyncio.to_thread(ledger.read)

    async def ledger_write(path: Path) -> Call:
        ledger = Ledger(path)
        line = AuditRecord(
            at=datetime.now(UTC), event=AuditEvent.ATTEMPT, source="bench", sandbox=False
        )
        return lambda: asyncio.to_thread(ledger.transact, lambda _old: [line])

    async def status(_path: Path) -> Call:
        return lambda: client.get_order_status(1)

    async def credit(_path: Path) -> Call:
        return client.get_credit

    return {
        NOISE_FLOOR: baseline,
        "guard, no spend cap": uncapped,
        "guard, spend cap": capped,
        f"guard, spend cap, {EARLIER_RECORDS:,} earlier lines": long_ledger,
        "part: ledger lock + read": ledger_read,
        "part: ledger lock + fsynced record": ledger_write,
        "part: status read": status,
        "part: credit read": credit,
    }


async def measure(
    client: HappyFollowerClient, case: Case, folder: Path, orders: int, rounds: int
) -> tuple[float, float, float]:
    """Median µs of the baseline, of the case, and the median ratio of paired rounds."""
    base_times: list[float] = []
    case_times: list[float] = []
    ratios: list[float] = []
    for round_number in range(rounds):
        call = await case(folder / f"ledger-{round_number}-{random.random()}.jsonl")
        pair: list[tuple[Call, list[float]]] = [
            (lambda: client.place_order(service_id=10, link=LINK, count=10), base_times),
            (call, case_times),
        ]
        random.shuffle(pair)
        gc.collect()
        gc.disable()
        try:
            for timed_call, times in pair:
                times.append(await timed(timed_call, orders))
        finally:
            gc.enable()
        ratios.append(case_times[-1] / base_times[-1])
    return (
        statistics.median(base_times) * 1e6,
        statistics.median(case_times) * 1e6,
        statistics.median(ratios),
    )


async def main(orders: int, rounds: int) -> None:
    async with Simulator(token_lifetime=10**9) as sim:
        key = sim.add_account(credit=10**12)
        async with HappyFollowerClient(key, base_url=sim.base_url) as client:
            with tempfile.TemporaryDirectory(prefix="guard-bench-") as folder:
                # Warm up: connections, pydantic, the first order for the status reads.
                await client.place_order(service_id=10, link=LINK, count=10)
                for case in cases(client).values():
                    call = await case(Path(folder) / f"warm-{random.random()}.jsonl")
                    await timed(call, 5)
                sim.requests.clear()
                print(
                    f"{orders} orders per measurement, {rounds} paired rounds, medians; "
                    "baseline: client.place_order alone"
                )
                print(f"{'case':<44} {'baseline µs':>11} {'case µs':>9} {'ratio':>6}")
                for name, case in cases(client).items():
                    base_us, case_us, ratio = await measure(
                        client, case, Path(folder), orders, rounds
                    )
                    sim.requests.clear()  # the simulator's log would grow all run
                    print(f"{name:<44} {base_us:11.0f} {case_us:9.0f} {ratio:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=15)
    options = parser.parse_args()
    asyncio.run(main(options.orders, options.rounds))
