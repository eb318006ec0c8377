"""Placing an order: never retried, never duplicated, an unknown outcome said so."""

from __future__ import annotations

import aiohttp
import pytest

from shared_client import (
    HappyFollowerApiError,
    HappyFollowerClient,
    HappyFollowerConnectionError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerSandboxUnsupportedError,
)
from shared_client import protocol as p
from shared_client.simulator import Fault, Simulator

LINK = "https://www.instagram.com/mehdifeizi"


def posts(sim: Simulator) -> int:
    return sum(r.endpoint == "order" and r.method == "POST" for r in sim.requests)


async def test_processed_then_dropped_is_outcome_unknown_and_placed_once(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_DROP, times=5)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError, match="NOT sent again"):
        await client.place_order(service_id=10, link=LINK, count=100)
    assert posts(simulator) == 1
    assert len(simulator.orders(api_key)) == 1
    assert simulator.credit(api_key) == 100_000 - 200


async def test_processed_then_slow_is_outcome_unknown_and_placed_once(
    simulator: Simulator, api_key: str
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_SLOW, times=5, delay=0.6)
    async with HappyFollowerClient(
        api_key, base_url=simulator.base_url, request_timeout=0.2, retry_backoff=0
    ) as client:
        await client.authenticate()
        with pytest.raises(HappyFollowerOrderOutcomeUnknownError, match="in time"):
            await client.place_order(service_id=10, link=LINK, count=100)
    assert posts(simulator) == 1
    assert len(simulator.orders(api_key)) == 1


@pytest.mark.parametrize(
    "fault", [Fault.SERVER_ERROR_HTML, Fault.DROP_CONNECTION, Fault.MALFORMED_JSON]
)
async def test_lost_or_unreadable_answer_is_outcome_unknown_not_retried(
    simulator: Simulator, client: HappyFollowerClient, fault: Fault
) -> None:
    """The client cannot tell these apart from a processed order: it must not resend."""
    simulator.inject("order", fault, times=5)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await client.place_order(service_id=10, link=LINK, count=100)
    assert posts(simulator) == 1


async def test_not_enough_credit(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    simulator.set_credit(api_key, 199)
    with pytest.raises(HappyFollowerNotEnoughCreditError) as caught:
        await client.place_order(service_id=10, link=LINK, count=100)
    assert caught.value.service_message == p.MESSAGE_NOT_ENOUGH_CREDIT
    assert caught.value.http_status == p.HTTP_STATUS_REFUSED
    assert simulator.orders(api_key) == []
    assert posts(simulator) == 1
    simulator.set_credit(api_key, 200)
    assert await client.place_order(service_id=10, link=LINK, count=100) == 1


@pytest.mark.parametrize(
    ("service_id", "count", "message"),
    [(99, 100, p.MESSAGE_SERVICE_NOT_FOUND), (10, 5, p.MESSAGE_INVALID_INPUT)],
)
async def test_refused_order_is_an_api_error(
    simulator: Simulator, client: HappyFollowerClient, service_id: int, count: int, message: str
) -> None:
    with pytest.raises(HappyFollowerApiError) as caught:
        await client.place_order(service_id=service_id, link=LINK, count=count)
    assert type(caught.value) is HappyFollowerApiError
    assert caught.value.service_message == message


async def test_rate_limited_order_was_not_placed(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    simulator.inject("order", Fault.RATE_LIMITED, retry_after=30)
    with pytest.raises(HappyFollowerRateLimitError) as caught:
        await client.place_order(service_id=10, link=LINK, count=100)
    assert caught.value.retry_after == 30
    assert posts(simulator) == 1
    assert simulator.orders(api_key) == []


async def test_expired_token_on_order_refreshes_and_places_once(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    """A refused token means nothing was placed, so sending again is safe."""
    await client.authenticate()
    simulator.expire_tokens()
    assert await client.place_order(service_id=10, link=LINK, count=100) == 1
    assert [r.endpoint for r in simulator.requests] == ["auth", "order", "ref-auth", "order"]
    assert len(simulator.orders(api_key)) == 1


async def test_unreachable_service_is_a_connection_error_for_orders_too(
    simulator: Simulator, api_key: str
) -> None:
    """A refused connection sent nothing: that is not an unknown outcome."""
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session,
        HappyFollowerClient(api_key, base_url=simulator.base_url, session=session) as client,
    ):
        await client.authenticate()
        await simulator.stop()
        with pytest.raises(HappyFollowerConnectionError, match="Could not connect") as caught:
            await client.place_order(service_id=10, link=LINK, count=100)
    assert not isinstance(caught.value, HappyFollowerOrderOutcomeUnknownError)


async def test_sandbox_order_spends_sandbox_credit_only(
    simulator: Simulator, api_key: str, sandbox_client: HappyFollowerClient
) -> None:
    assert await sandbox_client.place_order(service_id=10, link=LINK, count=100) == 1
    assert simulator.credit(api_key, sandbox=True) == 100_000 - 200
    assert simulator.credit(api_key) == 100_000


@pytest.mark.parametrize("action", ["cancel", "recheck"])
async def test_sandbox_cancel_and_recheck_send_nothing(
    simulator: Simulator, sandbox_client: HappyFollowerClient, action: str
) -> None:
    method = sandbox_client.cancel_order if action == "cancel" else sandbox_client.recheck_order
    with pytest.raises(HappyFollowerSandboxUnsupportedError, match="no sandbox version"):
        await method(1)
    assert simulator.requests == []


async def test_cancelling_a_finished_order_is_an_api_error(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    order_id = await client.place_order(service_id=10, link=LINK, count=100)
    simulator.advance(10 + 100 / 5)
    status = await client.get_order_status(order_id)
    assert (status.status, status.remain, status.delivered, status.progress) == (
        p.STATUS_COMPLETED,
        0,
        100,
        100.0,
    )
    assert status.is_final
    with pytest.raises(HappyFollowerApiError) as caught:
        await client.cancel_order(order_id)
    assert caught.value.service_message == p.MESSAGE_NOT_CANCELLABLE


async def test_partial_order_status(simulator: Simulator, client: HappyFollowerClient) -> None:
    order_id = await client.place_order(service_id=10, link=LINK, count=100)
    simulator.set_order_outcome(order_id, partial_at=40)
    simulator.advance(10 + 100 / 5)
    status = await client.get_order_status(order_id)
    assert (status.status, status.remain, status.delivered, status.progress) == (
        p.STATUS_PARTIAL,
        60,
        40,
        40.0,
    )
    assert status.is_final
    assert status.cost == 80
