"""Session ownership: an injected session stays open, the client's own is closed."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp

from shared_client import HappyFollowerClient
from shared_client.simulator import Simulator


async def test_injected_session_is_used_and_left_open(simulator: Simulator, api_key: str) -> None:
    started: list[str] = []

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        started.append(params.url.path)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        async with HappyFollowerClient(
            api_key, base_url=simulator.base_url, session=session
        ) as client:
            assert await client.get_credit() == 100_000
        await client.close()
        assert not session.closed
        assert started == [r.path for r in simulator.requests]
        assert len(started) == 2
        # Still usable by its owner, and by a new client.
        async with session.get(simulator.base_url + "/credit/") as response:
            assert response.status == 401
        async with HappyFollowerClient(
            api_key, base_url=simulator.base_url, session=session
        ) as again:
            assert await again.get_credit() == 100_000
    assert session.closed


async def test_own_session_is_closed_on_exit(simulator: Simulator, api_key: str) -> None:
    async with HappyFollowerClient(api_key, base_url=simulator.base_url) as client:
        await client.get_credit()
        own = client._session
        assert own is not None
        assert not own.closed
    assert own.closed


async def test_close_is_idempotent_and_safe_before_use(simulator: Simulator) -> None:
    client = HappyFollowerClient("key", base_url=simulator.base_url)
    await client.close()
    await client.close()
    async with HappyFollowerClient("key", base_url=simulator.base_url):
        pass
    assert simulator.requests == []
