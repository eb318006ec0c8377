"""The token lifecycle: refresh once on expiry, re-authenticate when that fails."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from shared_client import (
    HappyFollowerAuthenticationError,
    HappyFollowerClient,
    HappyFollowerConnectionError,
)
from shared_client import protocol as p
from shared_client.simulator import Fault, Simulator


def endpoints(sim: Simulator) -> list[str | None]:
    return [r.endpoint for r in sim.requests]


async def test_expired_token_is_refreshed_once_and_the_call_retried(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.expire_tokens()

    assert await client.get_credit() == 100_000

    assert endpoints(simulator) == ["auth", "credit", "credit", "ref-auth", "credit"]
    stale, refresh, retried = simulator.requests[2:]
    assert refresh.headers["old-token"] == stale.headers["Authorization"]
    assert retried.headers["Authorization"] != stale.headers["Authorization"]


async def test_token_ages_out_with_the_clock(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.advance(simulator.token_lifetime - 1)
    await client.get_credit()
    simulator.advance(2)
    await client.get_credit()
    assert endpoints(simulator) == ["auth", "credit", "credit", "credit", "ref-auth", "credit"]


async def test_refused_refresh_falls_back_to_the_api_key(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.expire_tokens()
    simulator.expire_refresh_tokens()

    assert await client.get_credit() == 100_000

    assert endpoints(simulator) == ["auth", "credit", "credit", "ref-auth", "auth", "credit"]


async def test_refresh_error_message_falls_back_to_the_api_key(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.expire_tokens()
    simulator.inject("ref-auth", Fault.ERROR_MESSAGE, message=p.MESSAGE_REFRESH_REFUSED)

    await client.get_credit()

    assert endpoints(simulator)[-3:] == ["ref-auth", "auth", "credit"]


async def test_refresh_outage_is_a_connection_error_not_a_new_login(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.expire_tokens()
    simulator.inject("ref-auth", Fault.SERVER_ERROR_HTML, times=3)

    with pytest.raises(HappyFollowerConnectionError):
        await client.get_credit()

    assert endpoints(simulator)[2:] == ["credit", "ref-auth", "ref-auth", "ref-auth"]


async def test_revoked_key_raises_authentication_error(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.revoke_api_key(api_key)

    with pytest.raises(HappyFollowerAuthenticationError, match="API key"):
        await client.get_credit()

    assert endpoints(simulator) == ["auth", "credit", "credit", "ref-auth", "auth"]


async def test_unknown_key_raises_authentication_error_after_one_request(
    simulator: Simulator,
) -> None:
    async with HappyFollowerClient("not-a-key", base_url=simulator.base_url) as client:
        with pytest.raises(HappyFollowerAuthenticationError):
            await client.get_services()
        with pytest.raises(HappyFollowerAuthenticationError):
            await client.authenticate()
    assert endpoints(simulator) == ["auth", "auth"]


async def test_auth_error_message_raises_authentication_error(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    simulator.inject("auth", Fault.ERROR_MESSAGE, message=p.MESSAGE_INVALID_API_KEY)
    with pytest.raises(HappyFollowerAuthenticationError) as caught:
        await client.get_credit()
    assert endpoints(simulator) == ["auth"]
    assert caught.value.__cause__ is not None
    assert p.MESSAGE_INVALID_API_KEY in str(caught.value.__cause__)


async def test_token_message_on_http_200_triggers_a_refresh(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.inject("credit", Fault.ERROR_MESSAGE, message=p.MESSAGE_TOKEN_EXPIRED)

    assert await client.get_credit() == 100_000

    assert endpoints(simulator)[2:] == ["credit", "ref-auth", "credit"]


async def test_fresh_token_refused_again_is_an_authentication_error(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.inject("credit", Fault.ERROR_MESSAGE, times=2, message=p.MESSAGE_TOKEN_EXPIRED)

    with pytest.raises(HappyFollowerAuthenticationError):
        await client.get_credit()

    assert endpoints(simulator)[2:] == ["credit", "ref-auth", "credit"]


async def test_fifty_concurrent_calls_on_an_expired_token_refresh_once(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.expire_tokens()

    results = await asyncio.gather(*(client.get_credit() for _ in range(50)))

    assert results == [100_000] * 50
    counts = Counter(endpoints(simulator))
    assert counts["ref-auth"] == 1
    assert counts["auth"] == 1
    assert counts["credit"] == 1 + 50 + 50


async def test_fifty_concurrent_first_calls_authenticate_once(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await asyncio.gather(*(client.get_credit() for _ in range(50)))
    assert Counter(endpoints(simulator)) == {"auth": 1, "credit": 50}


async def test_concurrent_calls_with_slow_refresh_still_refresh_once(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.get_credit()
    simulator.expire_tokens()
    simulator.inject("ref-auth", Fault.SLOW, delay=0.2)

    calls = asyncio.gather(
        *(client.get_credit() for _ in range(20)),
        *(client.get_services() for _ in range(20)),
    )
    await simulator.wait_until_held("ref-auth")  # every call now waits on that refresh
    simulator.advance(0.2)
    await calls

    assert Counter(endpoints(simulator))["ref-auth"] == 1, " ".join(map(str, endpoints(simulator)))


async def test_concurrent_calls_with_a_revoked_key_do_not_hammer_auth(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    """A refused key must not be retried once per waiting call (vendor lock-outs)."""
    await client.get_credit()
    simulator.revoke_api_key(api_key)

    results = await asyncio.gather(
        *(client.get_credit() for _ in range(20)), return_exceptions=True
    )

    assert all(isinstance(r, HappyFollowerAuthenticationError) for r in results)
    counts = Counter(endpoints(simulator))
    assert counts["ref-auth"] == 1
    assert counts["auth"] <= 2, counts
