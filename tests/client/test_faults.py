"""Every injected failure maps to the right exception; reads retry, actions do not."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shared_client import (
    HappyFollowerApiError,
    HappyFollowerClient,
    HappyFollowerConnectionError,
    HappyFollowerError,
    HappyFollowerRateLimitError,
    HappyFollowerResponseError,
)
from shared_client import protocol as p
from shared_client.simulator import Fault, Simulator

LINK = "https://www.instagram.com/mehdifeizi"
PERSIAN_MESSAGE = "سرویس در حال به‌روزرسانی است، لطفا بعدا تلاش کنید"

Read = Callable[[HappyFollowerClient], Awaitable[Any]]
READS: dict[str, Read] = {
    "credit": lambda c: c.get_credit(),
    "services": lambda c: c.get_services(),
    "status": lambda c: c.get_order_status(1),
}


@pytest.fixture(params=sorted(READS))
async def read(
    request: pytest.FixtureRequest, simulator: Simulator, client: HappyFollowerClient
) -> tuple[str, Read]:
    """An endpoint to read, with an order to read and a token already in hand."""
    await client.place_order(service_id=10, link=LINK, count=100)
    simulator.requests.clear()
    return request.param, READS[request.param]


def hits(sim: Simulator, endpoint: str) -> int:
    return sum(r.endpoint == endpoint for r in sim.requests)


async def test_server_error_page_is_retried_then_a_connection_error(
    simulator: Simulator, client: HappyFollowerClient, read: tuple[str, Read]
) -> None:
    endpoint, call = read
    simulator.inject(endpoint, Fault.SERVER_ERROR_HTML, times=3)
    with pytest.raises(HappyFollowerConnectionError, match="HTTP 502"):
        await call(client)
    assert hits(simulator, endpoint) == 3  # one try + read_retries (2)


async def test_read_retried_after_a_server_error_succeeds(
    simulator: Simulator, client: HappyFollowerClient, read: tuple[str, Read]
) -> None:
    endpoint, call = read
    simulator.inject(endpoint, Fault.SERVER_ERROR_HTML, times=2)
    assert await call(client)
    assert hits(simulator, endpoint) == 3


# aiohttp itself sends an idempotent request once more when a kept-alive connection
# drops, so the number of GETs for dropped connections is between 1 and 2 per try.


async def test_read_retried_after_dropped_connections_succeeds(
    simulator: Simulator, client: HappyFollowerClient, read: tuple[str, Read]
) -> None:
    endpoint, call = read
    simulator.inject(endpoint, Fault.DROP_CONNECTION, times=3)
    assert await call(client)
    assert 4 <= hits(simulator, endpoint) <= 6


async def test_dropped_connection_is_a_connection_error(
    simulator: Simulator, client: HappyFollowerClient, read: tuple[str, Read]
) -> None:
    endpoint, call = read
    simulator.inject(endpoint, Fault.DROP_CONNECTION, times=None)
    with pytest.raises(HappyFollowerConnectionError, match="dropped"):
        await call(client)
    assert 3 <= hits(simulator, endpoint) <= 6


@pytest.mark.parametrize("retry_after", [7, None])
async def test_rate_limit(
    simulator: Simulator,
    client: HappyFollowerClient,
    read: tuple[str, Read],
    retry_after: int | None,
) -> None:
    endpoint, call = read
    simulator.inject(endpoint, Fault.RATE_LIMITED, retry_after=retry_after)
    with pytest.raises(HappyFollowerRateLimitError) as caught:
        await call(client)
    assert caught.value.retry_after == retry_after
    assert ("7 s" in str(caught.value)) is (retry_after is not None)
    assert hits(simulator, endpoint) == 1  # the caller decides when to come back


async def test_too_slow_is_a_connection_error(
    simulator: Simulator, api_key: str, read: tuple[str, Read]
) -> None:
    endpoint, call = read
    async with HappyFollowerClient(
        api_key, base_url=simulator.base_url, request_timeout=0.2, read_retries=1, retry_backoff=0
    ) as client:
        await client.authenticate()
        simulator.inject(endpoint, Fault.SLOW, times=2, delay=0.6)
        with pytest.raises(HappyFollowerConnectionError, match="in time"):
            await call(client)
    assert hits(simulator, endpoint) == 2


async def test_slow_within_the_timeout_is_fine(
    simulator: Simulator, client: HappyFollowerClient, read: tuple[str, Read]
) -> None:
    endpoint, call = read
    simulator.inject(endpoint, Fault.SLOW, delay=0.1)
    answer = asyncio.create_task(call(client))
    await simulator.wait_until_held(endpoint)
    simulator.advance(0.1)  # the held answer goes, well within the client's timeout
    assert await answer
    assert hits(simulator, endpoint) == 1


async def test_malformed_json_is_a_response_error_not_retried(
    simulator: Simulator, client: HappyFollowerClient, read: tuple[str, Read]
) -> None:
    endpoint, call = read
    simulator.inject(endpoint, Fault.MALFORMED_JSON)
    with pytest.raises(HappyFollowerResponseError, match="does not understand"):
        await call(client)
    assert hits(simulator, endpoint) == 1


async def test_persian_error_message_is_carried(
    simulator: Simulator, client: HappyFollowerClient, read: tuple[str, Read]
) -> None:
    endpoint, call = read
    simulator.inject(endpoint, Fault.ERROR_MESSAGE, message=PERSIAN_MESSAGE)
    with pytest.raises(HappyFollowerApiError) as caught:
        await call(client)
    assert caught.value.service_message == PERSIAN_MESSAGE
    assert caught.value.http_status == 200
    assert PERSIAN_MESSAGE in str(caught.value)
    assert hits(simulator, endpoint) == 1


async def test_unknown_order_is_an_api_error(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    with pytest.raises(HappyFollowerApiError) as caught:
        await client.get_order_status(999)
    assert caught.value.service_message == p.MESSAGE_ORDER_NOT_FOUND
    assert caught.value.http_status == p.HTTP_STATUS_NOT_FOUND


async def test_faults_on_auth_surface_on_the_first_read(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    simulator.inject("auth", Fault.SERVER_ERROR_HTML, times=3)
    with pytest.raises(HappyFollowerConnectionError):
        await client.get_credit()
    simulator.inject("auth", Fault.RATE_LIMITED, retry_after=3)
    with pytest.raises(HappyFollowerRateLimitError):
        await client.get_credit()
    simulator.inject("auth", Fault.DROP_CONNECTION)
    assert await client.get_credit() == 100_000


@pytest.mark.parametrize("action", ["cancel", "recheck"])
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.SERVER_ERROR_HTML, HappyFollowerConnectionError),
        (Fault.DROP_CONNECTION, HappyFollowerConnectionError),
        (Fault.PROCESS_THEN_DROP, HappyFollowerConnectionError),
        (Fault.RATE_LIMITED, HappyFollowerRateLimitError),
        (Fault.MALFORMED_JSON, HappyFollowerResponseError),
        (Fault.ERROR_MESSAGE, HappyFollowerApiError),
    ],
)
async def test_actions_are_never_retried(
    simulator: Simulator,
    client: HappyFollowerClient,
    action: str,
    fault: Fault,
    error: type[HappyFollowerError],
) -> None:
    order_id = await client.place_order(service_id=10, link=LINK, count=100)
    simulator.inject(action, fault, times=3)
    method = client.cancel_order if action == "cancel" else client.recheck_order
    with pytest.raises(error):
        await method(order_id)
    assert hits(simulator, action) == 1


async def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with HappyFollowerClient(
        "key", base_url=f"http://127.0.0.1:{port}/api/v1", retry_backoff=0
    ) as client:
        with pytest.raises(HappyFollowerConnectionError, match="Could not connect"):
            await client.get_credit()
