"""Secrets (the API key and every token) never reach logs, exceptions or repr."""

from __future__ import annotations

import logging
import secrets as random_secrets
import traceback
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared_client import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerClient,
    HappyFollowerError,
    HappyFollowerNotEnoughCreditError,
)
from shared_client import client as client_module
from shared_client import protocol as p
from shared_client.guard import Ledger, SpendCaps, SpendGuard
from shared_client.simulator import Fault, RecordedRequest, SimulatedService, Simulator

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


# --- every secret ever held, not only the current pair ------------------------------


async def hold_many_tokens(simulator: Simulator, client: HappyFollowerClient) -> set[str]:
    """Authenticate, refresh, authenticate again and refresh again: seven secrets held."""
    await client.get_credit()  # /auth: token 1, refresh token 1
    simulator.expire_tokens()
    await client.get_credit()  # /ref-auth: token 2
    simulator.expire_tokens()
    simulator.expire_refresh_tokens()
    await client.get_credit()  # /auth again: token 3, refresh token 2
    simulator.expire_tokens()
    await client.get_credit()  # /ref-auth: token 4
    held = secrets_sent(simulator)
    assert len(held) == 7  # the key, four tokens, two refresh tokens
    return held


def echo_of(held: set[str]) -> str:
    """A vendor message repeating every secret, old ones first (no word 'token' in it)."""
    return "; ".join(f"request {secret} rejected" for secret in sorted(held))


def all_logs(caplog: pytest.LogCaptureFixture) -> str:
    return caplog.text + "\n".join(repr(record.args) for record in caplog.records)


async def test_old_tokens_echoed_in_every_error_path_are_redacted(
    simulator: Simulator, api_key: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    ledger_path = tmp_path / "orders.jsonl"
    errors: list[HappyFollowerError] = []

    async def expect(error_type: type[HappyFollowerError], call: Awaitable[object]) -> None:
        with pytest.raises(error_type) as caught:
            await call
        errors.append(caught.value)

    async with HappyFollowerClient(
        api_key, base_url=simulator.base_url, retry_backoff=0, request_timeout=5
    ) as client:
        held = await hold_many_tokens(simulator, client)
        echo = echo_of(held)
        simulator.inject("status", Fault.ERROR_MESSAGE, message=echo)
        await expect(HappyFollowerApiError, client.get_order_status(1))
        simulator.inject("credit", Fault.ERROR_MESSAGE, message=echo)
        await expect(HappyFollowerApiError, client.get_credit())
        simulator.inject("services", Fault.ERROR_MESSAGE, message=echo)
        await expect(HappyFollowerApiError, client.get_services())
        for action in ("cancel", "recheck"):
            simulator.inject(action, Fault.ERROR_MESSAGE, message=echo)
        await expect(HappyFollowerApiError, client.cancel_order(1))
        await expect(HappyFollowerApiError, client.recheck_order(1))
        # Orders through the spend guard: the ledger keeps the refusal's reason.
        guard = SpendGuard(
            client,
            Ledger(ledger_path),
            SpendCaps(),
            source="tests",
            clock=lambda: datetime(2026, 3, 21, 12, tzinfo=UTC),
        )
        await guard.open()
        quote = await guard.prepare_order(10, LINK, 100, confirmed_by="t")
        simulator.inject("order", Fault.ERROR_MESSAGE, message=echo)
        await expect(HappyFollowerApiError, guard.place_order(quote, confirmed_by="t"))
        quote = await guard.prepare_order(10, LINK, 100, confirmed_by="t")
        simulator.inject("order", Fault.ERROR_MESSAGE, message=f"credit too low: {echo}")
        await expect(HappyFollowerNotEnoughCreditError, guard.place_order(quote, confirmed_by="t"))
        # Refresh refused with the echo, then the key refused with it too.
        simulator.expire_tokens()
        simulator.inject("ref-auth", Fault.ERROR_MESSAGE, message=echo)
        simulator.inject("auth", Fault.ERROR_MESSAGE, message=echo)
        await expect(HappyFollowerAuthenticationError, client.get_credit())

    assert len(errors) == 8
    ledger = ledger_path.read_text(encoding="utf-8")
    assert ledger.count("rejected") >= 2 * len(held)  # the reasons were written, redacted
    logs = all_logs(caplog)
    for secret in held:
        assert secret not in logs
        assert secret not in ledger
        for error in errors:
            assert secret not in exposure(error), error
    for error in errors[:5]:
        assert "request *** rejected" in str(error)


async def test_a_new_client_hides_the_secrets_an_earlier_one_held(
    simulator: Simulator, api_key: str
) -> None:
    """After a reauthentication (a new client, a new key) the old key stays hidden too."""
    async with HappyFollowerClient(api_key, base_url=simulator.base_url) as first:
        await first.get_credit()
    old = secrets_sent(simulator)
    simulator.revoke_api_key(api_key)
    new_key = simulator.add_account()
    async with HappyFollowerClient(new_key, base_url=simulator.base_url) as second:
        simulator.inject("credit", Fault.ERROR_MESSAGE, message=echo_of(old))
        with pytest.raises(HappyFollowerApiError) as caught:
            await second.get_credit()
    for secret in old:
        assert secret not in exposure(caught.value)


async def test_a_token_shaped_text_is_redacted_ordinary_text_is_kept(
    client: HappyFollowerClient, simulator: Simulator
) -> None:
    """Credential-shaped text is hidden even if this process never held it; words are not."""
    never_held = [
        random_secrets.token_urlsafe(32),
        random_secrets.token_hex(20),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
    ]
    kept = "سفارش 12 رد شد: https://www.instagram.com/p/Cx1/ service_not_found_for_user_1234"
    message = f"{kept} | Bearer abcdefghijklmnopqrstu | " + " | ".join(never_held)
    simulator.inject("credit", Fault.ERROR_MESSAGE, message=message)
    with pytest.raises(HappyFollowerApiError) as caught:
        await client.get_credit()
    text = exposure(caught.value)
    assert kept in text
    assert "abcdefghijklmnopqrstu" not in text
    for secret in never_held:
        assert secret not in text
    assert caught.value.service_message is not None
    assert caught.value.service_message.count("***") == 4


async def test_a_secret_echoed_in_a_successful_answer_is_redacted() -> None:
    """A service name repeating the key (or a token) never reaches a result."""
    key = random_secrets.token_urlsafe(24)
    catalogue = [SimulatedService(10, f"لایک {key}", 2.0)]
    async with Simulator(services=catalogue) as simulator:
        simulator.add_account(api_key=key)
        async with HappyFollowerClient(key, base_url=simulator.base_url) as client:
            services = await client.get_services()
    assert [service.name for service in services] == ["لایک ***"]


def test_secret_memory_keeps_the_most_recent() -> None:
    memory = client_module._SecretMemory(size=3)
    for secret in ("one", "two", "three", "two", "four"):
        memory.remember(secret)
    assert list(memory) == ["three", "two", "four"]  # "one" was the least recently seen
    assert client_module.SECRET_MEMORY >= 200


async def test_a_refusal_is_read_before_secrets_are_removed(simulator: Simulator) -> None:
    """A secret held (here the API key) that contains the vendor's own words cannot change
    what kind of refusal the client reports; it is still removed from what is shown."""
    words = "اعتبار حساب شما کافی نیست"  # the service's not-enough-credit message
    api_key = simulator.add_account(api_key=words)
    simulator.inject("order", Fault.ERROR_MESSAGE, message=words)
    async with HappyFollowerClient(api_key, base_url=simulator.base_url) as client:
        with pytest.raises(HappyFollowerNotEnoughCreditError) as refused:
            await client.place_order(service_id=10, link=LINK, count=100)
    assert api_key not in str(refused.value)
    assert api_key not in refused.value.service_message
