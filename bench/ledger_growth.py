"""What one order costs a one-shot process (as the CLI is) as the ledger's history grows.

Each measurement is a new Python process that opens the ledger, places one order through
the spend guard (spend cap set, as ``guard, spend cap`` in bench/guard_overhead.py)
against the embedded simulator that this bench runs on 127.0.0.1, and exits. Two times
are taken: the whole process, start to exit (what a person waits for), and inside it the
order alone (opening the guard, then ``place_order``). A second row opens the ledger and
appends one record, nothing else. Each is reported as a ratio to the same measurement on
a fresh ledger, in the same run: rounds interleave every case (order shuffled), and the
median of the rounds' ratios is reported.

The earlier lines are written through ``Ledger`` itself, as a busy account would write
them: orders (``attempt``, then ``placed`` and ``cost``) and refusals, LINES_PER_DAY a
day (``--per-day``) spread over the days before now, the ledger's clock set to each
batch's time, so that rotations happened as they would have. Each measurement runs on a
copy of the prepared ledger (the archive's chunks hard-linked). The ``never rotated``
case is the ledger as it was before rotation existed: every earlier line in the active
file.

    uv run python bench/ledger_growth.py [--rounds 7] [--sizes 10000 100000] [--per-day 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared_client import HappyFollowerClient
from shared_client.ledger import ARCHIVE_AFTER, AuditEvent, AuditRecord, Ledger

LINK = "https://www.instagram.com/mehdifeizi"
LINES_PER_DAY = 1_000  # about 300 orders a day, thirty times the default cap of 10
NEVER = 10**12  # an ``archive_after`` that never rotates


def prepare(path: Path, lines: int, sandbox: bool, *, per_day: int, archive_after: int) -> None:
    """``lines`` earlier lines, ``per_day`` a day until an hour ago, written an hour's
    worth at a time."""
    now = datetime.now(UTC) - timedelta(hours=1)
    hours = max(1, lines * 24 // per_day)
    clock = [now]
    ledger = Ledger(path, archive_after=archive_after, clock=lambda: clock[0])

    def line(event: AuditEvent, at: datetime, **fields: object) -> AuditRecord:
        values = {"at": at, "event": event, "source": "cli", "sandbox": sandbox, **fields}
        return AuditRecord.model_validate(values)

    written, order_id = 0, 0
    for hour in range(hours):
        at = now - timedelta(hours=hours - hour)
        clock[0] = at
        batch: list[AuditRecord] = []
        if hour == 0:  # a person confirmed a price once: that line stays forever
            batch.append(line(AuditEvent.PRICE, at, service_id=10, unit_price=2.0))
        while len(batch) < (lines - written) // (hours - hour):
            order_id += 1
            if order_id % 10 == 0:
                batch.append(line(AuditEvent.REFUSED, at, service_id=10, link=LINK, count=10))
                continue
            key = uuid.uuid4().hex
            order = {"service_id": 10, "link": LINK, "count": 10, "attempt_id": key}
            batch += [
                line(AuditEvent.ATTEMPT, at, **order, cost_bound=20.0, confirmed_by="--yes"),
                line(AuditEvent.PLACED, at, **order, order_id=order_id),
                line(AuditEvent.COST, at + timedelta(minutes=1), **order, cost=20.0),
            ]
        ledger.transact(appending(batch))
        written += len(batch)


def appending(lines: list[AuditRecord]) -> Callable[[list[AuditRecord]], list[AuditRecord]]:
    return lambda _old: lines


def clone(source: Path, target: Path) -> None:
    """A copy of the ledger at ``source`` (the archive's chunks hard-linked: never changed
    in place, only replaced)."""
    shutil.copyfile(source, target)
    archive = source.with_name(f"{source.name}.archive")
    if archive.exists():
        copy = target.with_name(f"{target.name}.archive")
        copy.mkdir()
        for chunk in archive.iterdir():
            os.link(chunk, copy / chunk.name)


def child(kind: str, url: str, key: str, path: Path, archive_after: int) -> None:
    """One order (``guard``) or one record (``ledger``); prints the seconds it took."""
    from shared_client.guard import SpendCaps, SpendGuard

    async def order() -> None:
        async with HappyFollowerClient(key, base_url=url) as client:
            caps = SpendCaps(max_orders_per_day=10**6, max_spend_per_day=10**9, unit_prices={10: 2})
            guard = SpendGuard(
                client, Ledger(path, archive_after=archive_after), caps, source="cli"
            )
            await guard.open()
            quote = await guard.prepare_order(10, LINK, 10)
            await guard.place_order(quote, confirmed_by="--yes")

    start = time.perf_counter()
    if kind == "guard":
        asyncio.run(order())
    else:
        line = AuditRecord(
            at=datetime.now(UTC), event=AuditEvent.REFUSED, source="cli", sandbox=False
        )
        Ledger(path, archive_after=archive_after).transact(lambda _old: [line])
    print(time.perf_counter() - start)


async def one_shot(
    kind: str, url: str, key: str, path: Path, archive_after: int
) -> tuple[float, float]:
    """(whole process, the order inside it) in seconds."""
    args = [__file__, "--child", kind, url, key, str(path), str(archive_after)]
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    whole = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"the {kind} child failed ({process.returncode})")
    return whole, float(out)


def prepare_all(
    folder: Path, sizes: list[int], sandbox: bool, per_day: int
) -> dict[str, tuple[Path, int]]:
    """Each case's prepared ledger and the ``archive_after`` to open it with."""
    fresh = folder / "fresh.jsonl"
    fresh.touch()
    prepared = {"fresh ledger": (fresh, ARCHIVE_AFTER)}
    for size in sizes:
        for rotated in (True, False):
            started = time.perf_counter()
            path = folder / f"{size}-{rotated}.jsonl"
            archive_after = ARCHIVE_AFTER if rotated else NEVER
            prepare(path, size, sandbox, per_day=per_day, archive_after=archive_after)
            with path.open("rb") as file:
                active = sum(1 for _ in file)
            chunks = len(list(folder.glob(f"{path.name}.archive/*.jsonl")))
            name = f"{size:,} earlier lines" + ("" if rotated else ", never rotated")
            prepared[name] = (path, ARCHIVE_AFTER if rotated else NEVER)
            print(
                f"prepared {name}: {active:,} lines in the active file, "
                f"{chunks} archive chunks ({time.perf_counter() - started:.0f} s)"
            )
    return prepared


async def main(rounds: int, sizes: list[int], per_day: int) -> None:
    from shared_client.simulator import Simulator  # not in the children: the CLI's imports

    async with Simulator(token_lifetime=10**9) as sim:
        key = sim.add_account(credit=10**12)
        async with HappyFollowerClient(key, base_url=sim.base_url) as client:
            sandbox = client.sandbox
        with tempfile.TemporaryDirectory(prefix="ledger-growth-") as scratch:
            folder = Path(scratch)
            prepared = prepare_all(folder, sizes, sandbox, per_day)
            cases = [(kind, name) for kind in ("guard", "ledger") for name in prepared]
            times: dict[tuple[str, str], list[tuple[float, float]]] = {c: [] for c in cases}
            for round_number in range(rounds + 1):  # round 0 warms the disk cache up
                random.shuffle(cases)
                for kind, name in cases:
                    source, archive_after = prepared[name]
                    path = folder / f"run-{round_number}-{kind}-{random.random()}.jsonl"
                    clone(source, path)
                    measured = await one_shot(kind, sim.base_url, key, path, archive_after)
                    if round_number:
                        times[kind, name].append(measured)
                sim.requests.clear()
            print(
                f"\n{rounds} rounds, one new process per measurement, medians; "
                f"ratios against the fresh ledger's, round by round; {per_day:,} lines a day"
            )
            print(f"{'case':<46} {'process ms':>10} {'ratio':>6} {'order ms':>9} {'ratio':>6}")
            for kind in ("guard", "ledger"):
                base = times[kind, "fresh ledger"]
                for name in prepared:
                    own = times[kind, name]
                    label = f"{'guard order' if kind == 'guard' else 'ledger record'}, {name}"
                    pairs = list(zip(own, base, strict=True))
                    process = statistics.median(o[0] for o in own) * 1e3
                    process_ratio = statistics.median(o[0] / b[0] for o, b in pairs)
                    inside = statistics.median(o[1] for o in own) * 1e3
                    inside_ratio = statistics.median(o[1] / b[1] for o, b in pairs)
                    print(
                        f"{label:<46} {process:10.0f} {process_ratio:6.2f} "
                        f"{inside:9.1f} {inside_ratio:6.2f}"
                    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        kind, url, key, path, archive_after = sys.argv[2:7]
        child(kind, url, key, Path(path), int(archive_after))
        sys.exit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-day", type=int, default=LINES_PER_DAY)
    options = parser.parse_args()
    asyncio.run(main(options.rounds, options.sizes, options.per_day))
