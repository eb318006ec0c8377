"""What HappyFollowerClient costs per call, against raw aiohttp doing the same requests.

Both talk to the same embedded simulator on 127.0.0.1 in the same run, through
sessions with the same connector settings. Sequential calls and 50-at-a-time
concurrent calls. Each round times raw and client back to back (order shuffled), with
the garbage collector paused, and the median of the rounds' ratios is reported: the
simulator shares the process, and pairing rounds cancels the drift of a busy machine.
The goal is a ratio of at most 1.15.

    uv run python bench/client_overhead.py [--calls 500] [--rounds 21] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from shared_client import HappyFollowerClient
from shared_client.simulator import Simulator

GOAL = 1.15
NOISE_FLOOR = "raw vs raw (noise)"
CONCURRENCY = 50
LINK = "https://www.instagram.com/mehdifeizi"

Call = Callable[[], Awaitable[object]]


class Raw:
    """The same requests with bare aiohttp: bearer header, read, JSON, check, pick a field."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.session = session
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}

    async def _get(self, path: str) -> dict[str, Any]:
        async with self.session.get(self.base_url + path, headers=self.headers) as response:
            body = await response.read()
        payload: dict[str, Any] = json.loads(body)
        if response.status != 200 or payload.get("operation") != "success":
            raise RuntimeError(payload)
        return payload

    async def get_credit(self) -> object:
        return (await self._get("/credit/"))["credit"]

    async def get_order_status(self) -> object:
        return await self._get("/status/1/")


async def sequential(call: Call, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - start) / calls


async def concurrent(call: Call, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls // CONCURRENCY):
        await asyncio.gather(*(call() for _ in range(CONCURRENCY)))
    return (time.perf_counter() - start) / (calls // CONCURRENCY * CONCURRENCY)


async def main(calls: int, rounds: int, profile: bool) -> None:
    async with Simulator(token_lifetime=10**9) as sim:
        key = sim.add_account(credit=10**9)
        async with (
            aiohttp.ClientSession() as raw_session,
            aiohttp.ClientSession() as client_session,
            HappyFollowerClient(key, base_url=sim.base_url, session=client_session) as client,
        ):
            await client.place_order(service_id=10, link=LINK, count=100)
            async with raw_session.get(
                sim.base_url + "/auth", headers={"Authorization": f"Bearer {key}"}
            ) as response:
                token = (await response.json())["token"]
            raw = Raw(raw_session, sim.base_url, token)

            cases: dict[str, tuple[Call, Call]] = {
                "get_credit": (raw.get_credit, client.get_credit),
                "get_order_status": (raw.get_order_status, lambda: client.get_order_status(1)),
                # Raw against itself: how far apart two identical runs land on this machine.
                NOISE_FLOOR: (raw.get_order_status, raw.get_order_status),
            }
            modes = {"sequential": sequential, "concurrent x50": concurrent}

            # Warm up both paths (connections, pydantic, caches).
            for raw_call, client_call in cases.values():
                for mode in modes.values():
                    await mode(raw_call, 200)
                    await mode(client_call, 200)

            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await sequential(client.get_credit, calls)
                profiler.disable()
                stats = pstats.Stats(profiler).sort_stats("tottime")
                stats.print_stats(25)
                return

            print(f"{calls} calls per measurement, {rounds} paired rounds, medians")
            print(f"{'endpoint':<19} {'mode':<15} {'raw µs':>8} {'client µs':>10} {'ratio':>6}")
            worst = 0.0
            for name, (raw_call, client_call) in cases.items():
                for mode_name, mode in modes.items():
                    raw_times: list[float] = []
                    client_times: list[float] = []
                    ratios: list[float] = []
                    for _ in range(rounds):
                        pair = [(raw_call, raw_times), (client_call, client_times)]
                        random.shuffle(pair)
                        gc.collect()
                        gc.disable()
                        try:
                            for call, times in pair:
                                sim.requests.clear()  # the simulator's log would grow all run
                                times.append(await mode(call, calls))
                        finally:
                            gc.enable()
                        ratios.append(client_times[-1] / raw_times[-1])
                    raw_us = statistics.median(raw_times) * 1e6
                    client_us = statistics.median(client_times) * 1e6
                    ratio = statistics.median(ratios)
                    if name != NOISE_FLOOR:
                        worst = max(worst, ratio)
                    print(
                        f"{name:<19} {mode_name:<15} {raw_us:8.1f} {client_us:10.1f} {ratio:6.3f}"
                    )
            verdict = "meets" if worst <= GOAL else "MISSES"
            print(f"worst ratio {worst:.3f}: {verdict} the goal of {GOAL}x raw aiohttp")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--profile", action="store_true", help="profile the client instead")
    options = parser.parse_args()
    asyncio.run(main(options.calls, options.rounds, options.profile))
