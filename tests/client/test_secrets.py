"""Secrets (the API key and every token) never reach logs, exceptions or repr."""

from __future__ import annotations

import logging
import traceback

import pytest

from shared_client import HappyFollowerClient, HappyFollowerError
from shared_client import protocol as p
from shared_client.simulator import Fault, RecordedRequest, Simulator

LINK = "https://www.instagram.com/mehdifeizi"


def secrets_sent(sim: Simulator) -> set[str]:
    """Every credential the client sent: API key, tokens and refresh tokens."""
    found: set[str] = set()
    for request in sim.requests:
        for header in (p.HEADER_AUTHORIZATION, p.HEADER_REFRESH_TOKEN, p.HEADER_OLD_TOKEN):
            value = request.headers.get(header)
            if value:
                found.add(value.removeprefix("Bearer ").strip())
    return found


def last_token(sim: Simulator) -> str:
    request: RecordedRequest = sim.requests[-1]
    return request.headers[p.HEADER_AUTHORIZATION].removeprefix("Bearer ")


def exposure(error: BaseException) -> str:
    """All text an exception shows: str, repr, args and the chained exceptions."""
    parts = [str(error), repr(error), repr(error.args)]
    parts += traceback.format_exception(error)
    if error.__cause__ is not None:
        parts.append(exposure(error.__cause__))
    if error.__context__ is not None and error.__context__ is not error.__cause__:
        parts.append(exposure(error.__context__))
    return "\n".join(parts)


async def test_no_secret_in_logs_errors_or_repr(
    simulator: Simulator, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[HappyFollowerError] = []

    async def expect_error(coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except HappyFollowerError as err:
            errors.append(err)
        else:
            pytest.fail("no error raised")

    async with HappyFollowerClient(
        api_key, base_url=simulator.base_url, retry_backoff=0, request_timeout=0.3
    ) as client:
        reprs = [repr(client)]
        await client.get_credit()
        token = last_token(simulator)
        # The service echoing our secrets back in its error messages.
        simulator.inject("credit", Fault.ERROR_MESSAGE, message=f"کلید {api_key} نامعتبر")
        await expect_error(client.get_credit())
        simulator.inject("services", Fault.ERROR_MESSAGE, message=f"bad {token}")
        await expect_error(client.get_services())
        simulator.inject("credit", Fault.SERVER_ERROR_HTML, times=3)
        await expect_error(client.get_credit())
        for fault in (Fault.MALFORMED_JSON, Fault.RATE_LIMITED):
            simulator.inject("credit", fault)
            await expect_error(client.get_credit())
        simulator.inject("credit", Fault.SLOW, times=3, delay=0.6)
        await expect_error(client.get_credit())
        simulator.inject("order", Fault.PROCESS_THEN_DROP)
        await expect_error(client.place_order(service_id=10, link=LINK, count=100))
        await expect_error(client.place_order(service_id=10, link=api_key, count=100))
        # Refresh, then re-authentication, then a refused key.
        simulator.expire_tokens()
        await client.get_credit()
        simulator.expire_tokens()
        simulator.expire_refresh_tokens()
        await client.get_credit()
        reprs.append(repr(client))
        simulator.revoke_api_key(api_key)
        simulator.expire_tokens()
        await expect_error(client.get_credit())
        reprs.append(repr(client))

    secrets = secrets_sent(simulator)
    assert api_key in secrets
    assert len(secrets) >= 6  # key, three tokens, at least two refresh tokens
    assert len(errors) == 9
    logs = caplog.text + "\n".join(repr(record.args) for record in caplog.records)
    assert "retrying" in logs  # the debug log did run
    for secret in secrets:
        assert secret not in logs
        assert secret not in "\n".join(reprs)
        for error in errors:
            assert secret not in exposure(error), error


async def test_echoed_secret_is_redacted_in_the_service_message(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    simulator.inject("auth", Fault.ERROR_MESSAGE, message=f"کلید {api_key} نامعتبر است")
    with pytest.raises(HappyFollowerError) as caught:
        await client.get_credit()
    cause = caught.value.__cause__
    assert cause is not None
    assert api_key not in exposure(caught.value)
    assert "***" in str(cause)
