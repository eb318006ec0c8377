"""Benchmark: one refresh of 200 tracked active orders by the Home Assistant integration.

Runs the real integration in a real (test-harness) Home Assistant against the embedded
simulator with 50 ms of latency on every request, and compares the refresh with the ideal
bound for its concurrency, ceil(200 / concurrency) x latency, and with that bound built on
one status request timed in the same run. Then counts the API calls of a refresh once the
orders are final (none) and prints the calls per hour for N tracked orders.

    uv run python bench/ha_refresh.py
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

# Run as a script: make the repository's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp.resolver import ThreadedResolver
from homeassistant import loader
from homeassistant.helpers import aiohttp_client
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.happy_follower.const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_ENVIRONMENT,
    CONF_MAX_ORDERS_PER_DAY,
    CREDIT_UPDATE_INTERVAL,
    DOMAIN,
    ENVIRONMENT_LIVE,
    ORDERS_UPDATE_INTERVAL,
    STATUS_CONCURRENCY,
)
from shared_client import HappyFollowerClient
from shared_client.simulator import Simulator

ORDERS = 200
LATENCY = 0.050
GOAL = 1.3


def _status_calls(sim: Simulator) -> int:
    return sum(request.endpoint == "status" for request in sim.requests)


async def main() -> None:
    # As the test harness does: plain DNS instead of zeroconf, which needs the network setup.
    aiohttp_client._async_make_resolver = lambda hass: ThreadedResolver()  # type: ignore[assignment]
    async with Simulator() as sim:
        api_key = sim.add_account(credit=10_000_000)
        async with HappyFollowerClient(api_key, base_url=sim.base_url) as client:
            ids = [
                await client.place_order(
                    service_id=10, link="https://www.instagram.com/bench", count=1000
                )
                for _ in range(ORDERS)
            ]
            # A single status request with the latency on: the unit of the bound.
            sim.latency = LATENCY
            started = time.perf_counter()
            await client.get_order_status(ids[0])
            one_request = time.perf_counter() - started
            sim.latency = 0.0

        with tempfile.TemporaryDirectory() as config_dir:
            async with async_test_home_assistant(config_dir=config_dir) as hass:
                hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # allow custom integrations
                entry = MockConfigEntry(
                    domain=DOMAIN,
                    title="Happy Follower",
                    data={
                        "api_key": api_key,
                        CONF_ENVIRONMENT: ENVIRONMENT_LIVE,
                        CONF_ADVANCED: {CONF_API_ROOT: sim.base_url},
                    },
                    options={CONF_MAX_ORDERS_PER_DAY: 1000},
                )
                entry.add_to_hass(hass)
                assert await hass.config_entries.async_setup(entry.entry_id)
                await hass.async_block_till_done()
                for order_id in ids:
                    await hass.services.async_call(
                        DOMAIN,
                        "track_order",
                        {"config_entry_id": entry.entry_id, "order_id": order_id},
                        blocking=True,
                    )
                coordinator = entry.runtime_data.orders
                assert sum(not o.is_final for o in coordinator.data.values()) == ORDERS

                sim.latency = LATENCY
                before = _status_calls(sim)
                started = time.perf_counter()
                await coordinator.async_refresh()
                elapsed = time.perf_counter() - started
                active_calls = _status_calls(sim) - before
                assert coordinator.last_update_success

                # Let every order finish, refresh once to see it, then once more.
                sim.latency = 0.0
                sim.advance(10_000)
                await coordinator.async_refresh()
                before = _status_calls(sim)
                await coordinator.async_refresh()
                final_calls = _status_calls(sim) - before
                await hass.config_entries.async_unload(entry.entry_id)

    waves = math.ceil(ORDERS / STATUS_CONCURRENCY)
    ideal = waves * LATENCY
    measured_ideal = waves * one_request
    print(f"{ORDERS} tracked active orders, {LATENCY * 1000:.0f} ms latency per request")
    print(f"concurrency: {STATUS_CONCURRENCY} status requests in flight")
    print(f"one refresh: {elapsed * 1000:.0f} ms, {active_calls} status requests")
    print(
        f"ideal bound ceil({ORDERS}/{STATUS_CONCURRENCY}) x {LATENCY * 1000:.0f} ms: "
        f"{ideal * 1000:.0f} ms -> ratio {elapsed / ideal:.2f} (goal <= {GOAL})"
    )
    print(
        f"bound from one request timed in this run ({one_request * 1000:.1f} ms): "
        f"{measured_ideal * 1000:.0f} ms -> ratio {elapsed / measured_ideal:.2f}"
    )
    print(f"refresh with every order final: {final_calls} status requests")
    per_hour_orders = 3600 / ORDERS_UPDATE_INTERVAL.total_seconds()
    per_hour_credit = 3600 / CREDIT_UPDATE_INTERVAL.total_seconds()
    print("API calls per hour (plus a token renewal per token lifetime):")
    for tracked in (0, 1, 10, 50, 200):
        print(
            f"  {tracked:>3} active orders: {per_hour_credit + per_hour_orders * tracked:>6.0f}"
            f"  (credit {per_hour_credit:.0f} + {per_hour_orders:.0f} per active order;"
            " final orders 0)"
        )
    ok = elapsed / ideal <= GOAL and final_calls == 0 and active_calls == ORDERS
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    asyncio.run(main())
