"""The simulator over real loopback HTTP, with a raw aiohttp session (no client library)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from shared_client import protocol as p
from shared_client.simulator import (
    TEST_CONTROL_PATH,
    Fault,
    SimulatedService,
    Simulator,
    SimulatorClock,
)

ROOTS = pytest.mark.parametrize("sandbox", [False, True], ids=["live", "sandbox"])
LINK = "https://www.instagram.com/mehdifeizi"
# Service 10 as documented: 2 credit a unit; registered for 10 s, then 5 units a second.
LIKES = SimulatedService(10, "لایک ایرانی(سرعت متوسط)", 2.0, start_delay=10.0, rate=5.0)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """On a driven clock: the test's ``advance`` is the only thing that moves time."""
    services = [LIKES, SimulatedService(20, "فالوور", 8.0)]
    async with Simulator(services=services, clock=SimulatorClock(driven=True)) as simulator:
        yield simulator


@pytest.fixture
def api_key(sim: Simulator) -> str:
    return sim.add_account(credit=1000)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def base(sim: Simulator, sandbox: bool) -> str:
    return sim.sandbox_base_url if sandbox else sim.base_url


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = None,
    expect: int = 200,
    **kwargs: Any,
) -> Any:
    headers = bearer(token) if token else kwargs.pop("headers", {})
    async with http.request(method, url, headers=headers, **kwargs) as response:
        assert response.status == expect, await response.text()
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        return await response.json()


async def login(http: aiohttp.ClientSession, url: str, api_key: str) -> dict[str, str]:
    body: dict[str, str] = await call(http, "GET", url + "/auth", headers=bearer(api_key))
    return body


async def token_for(
    http: aiohttp.ClientSession, sim: Simulator, api_key: str, sandbox: bool = False
) -> str:
    return (await login(http, base(sim, sandbox), api_key))["token"]


async def place(
    http: aiohttp.ClientSession, url: str, token: str, expect: int = 200, **kwargs: Any
) -> Any:
    data = {"serviceId": "10", "link": LINK, "count": "100"}
    return await call(http, "POST", url + "/order", token=token, data=data, expect=expect, **kwargs)


def error(message: str) -> dict[str, str]:
    return {"operation": "error", "message": message}


# --- documented paths and shapes ---------------------------------------------------


@ROOTS
async def test_every_endpoint_answers_the_documented_shape(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str, sandbox: bool
) -> None:
    url = base(sim, sandbox)
    auth = await login(http, url, api_key)
    assert auth.keys() == {"operation", "refreshToken", "token"}
    assert auth["operation"] == "success"
    token = auth["token"]

    services = await call(http, "GET", url + "/services", token=token)
    assert services == {
        "operation": "success",
        "services": [
            {"serviceId": 10, "name": "لایک ایرانی(سرعت متوسط)"},
            {"serviceId": 20, "name": "فالوور"},
        ],
    }
    assert await place(http, url, token) == {"operation": "success", "orderId": 1}
    assert await call(http, "GET", url + "/status/1/", token=token) == {
        "operation": "success",
        "status": "registered",
        "statusTitle": "در انتظار",
        "remain": 100,
        "oldCount": sim.orders(api_key, sandbox=sandbox)[0].old_count,
        "count": 100,
        "cost": 200,
        "link": LINK,
    }
    credit = await call(http, "GET", url + "/credit/", token=token)
    assert credit == {"operation": "success", "credit": 800}
    assert type(credit["credit"]) is int
    if not sandbox:
        for path in ("/recheck", "/cancel"):
            body = await call(http, "POST", url + path, token=token, data={"orderId": "1"})
            assert body == {"operation": "success"}


async def test_roots_keep_separate_state(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    live, sandbox = await token_for(http, sim, api_key), await token_for(http, sim, api_key, True)
    assert (await place(http, sim.base_url, live))["orderId"] == 1
    assert (await place(http, sim.sandbox_base_url, sandbox))["orderId"] == 1
    assert (await place(http, sim.sandbox_base_url, sandbox))["orderId"] == 2
    assert (sim.credit(api_key), sim.credit(api_key, sandbox=True)) == (800, 600)
    # A token belongs to the root that issued it.
    await call(http, "GET", sim.sandbox_base_url + "/credit/", token=live, expect=401)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/credit"),
        ("GET", "/status/1"),
        ("GET", "/auth/"),
        ("GET", "/services/"),
        ("POST", "/order/"),
        ("POST", "/cancel/"),
        ("GET", "/nothing/"),
    ],
)
async def test_a_path_off_by_a_slash_is_not_found(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str, method: str, path: str
) -> None:
    token = await token_for(http, sim, api_key)
    body = await call(http, method, sim.base_url + path, token=token, expect=404)
    assert body == error(p.MESSAGE_PATH_NOT_FOUND)
    assert sim.requests[-1].endpoint is None


async def test_wrong_method_is_refused(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    async with http.get(sim.base_url + "/order", headers=bearer(token)) as response:
        assert (response.status, response.headers["Allow"]) == (405, "POST")


@pytest.mark.parametrize("path", ["/cancel", "/recheck"])
async def test_sandbox_has_no_cancel_or_recheck(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str, path: str
) -> None:
    token = await token_for(http, sim, api_key, sandbox=True)
    await place(http, sim.sandbox_base_url, token)
    url = sim.sandbox_base_url + path
    body = await call(http, "POST", url, token=token, data={"orderId": "1"}, expect=404)
    assert body == error(p.MESSAGE_NO_SANDBOX)
    assert sim.orders(api_key, sandbox=True)[0].status == p.STATUS_REGISTERED


# --- authentication ------------------------------------------------------------------


async def test_auth_refuses_a_missing_wrong_or_revoked_key(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    url = sim.base_url + "/auth"
    for headers in ({}, bearer("wrong"), {"Authorization": api_key}):
        body = await call(http, "GET", url, headers=headers, expect=401)
        assert body == error(p.MESSAGE_INVALID_API_KEY)
    token = await token_for(http, sim, api_key)
    sim.revoke_api_key(api_key)
    await call(http, "GET", url, headers=bearer(api_key), expect=401)
    await call(http, "GET", sim.base_url + "/credit/", token=token, expect=401)


async def test_token_expires_and_refreshes_with_its_pair(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    url = sim.base_url
    auth = await login(http, url, api_key)
    await call(http, "GET", url + "/credit/", token=auth["token"])
    sim.advance(3600)
    body = await call(http, "GET", url + "/credit/", token=auth["token"], expect=401)
    assert body == error(p.MESSAGE_TOKEN_EXPIRED)

    other = await login(http, url, api_key)
    wrong_pair = {
        p.HEADER_REFRESH_TOKEN: f"Bearer {auth['refreshToken']}",
        p.HEADER_OLD_TOKEN: f"Bearer {other['token']}",
    }
    body = await call(http, "GET", url + "/ref-auth", headers=wrong_pair, expect=401)
    assert body == error(p.MESSAGE_REFRESH_REFUSED)

    pair = {
        p.HEADER_REFRESH_TOKEN: f"Bearer {auth['refreshToken']}",
        p.HEADER_OLD_TOKEN: f"Bearer {auth['token']}",
    }
    refreshed = await call(http, "GET", url + "/ref-auth", headers=pair)
    assert refreshed.keys() == {"operation", "token"}
    await call(http, "GET", url + "/credit/", token=refreshed["token"])
    # The replaced token cannot be refreshed again; the new one can.
    await call(http, "GET", url + "/ref-auth", headers=pair, expect=401)
    pair[p.HEADER_OLD_TOKEN] = f"Bearer {refreshed['token']}"
    await call(http, "GET", url + "/ref-auth", headers=pair)


async def test_a_refresh_retires_the_old_token_even_before_it_expires(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    auth = await login(http, sim.base_url, api_key)
    pair = {
        p.HEADER_REFRESH_TOKEN: f"Bearer {auth['refreshToken']}",
        p.HEADER_OLD_TOKEN: f"Bearer {auth['token']}",
    }
    await call(http, "GET", sim.base_url + "/ref-auth", headers=pair)
    await call(http, "GET", sim.base_url + "/credit/", token=auth["token"], expect=401)


async def test_expire_helpers(sim: Simulator, http: aiohttp.ClientSession, api_key: str) -> None:
    auth = await login(http, sim.base_url, api_key)
    pair = {
        p.HEADER_REFRESH_TOKEN: f"Bearer {auth['refreshToken']}",
        p.HEADER_OLD_TOKEN: f"Bearer {auth['token']}",
    }
    sim.expire_tokens()
    await call(http, "GET", sim.base_url + "/credit/", token=auth["token"], expect=401)
    fresh = await call(http, "GET", sim.base_url + "/ref-auth", headers=pair)
    sim.expire_refresh_tokens()
    pair[p.HEADER_OLD_TOKEN] = f"Bearer {fresh['token']}"
    await call(http, "GET", sim.base_url + "/ref-auth", headers=pair, expect=401)


# --- orders -------------------------------------------------------------------------


async def test_an_order_progresses_with_the_clock(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    await place(http, sim.base_url, token)

    async def status() -> tuple[str, str, int]:
        body = await call(http, "GET", sim.base_url + "/status/1/", token=token)
        return body["status"], body["statusTitle"], body["remain"]

    sim.advance(9)
    assert await status() == ("registered", "در انتظار", 100)
    sim.advance(3)  # 2 s of delivery at 5 a second
    assert await status() == ("in_progress", p.STATUS_TITLES["in_progress"], 90)
    sim.advance(18)
    assert await status() == ("completed", p.STATUS_TITLES["completed"], 0)
    assert sim.credit(api_key) == 800


async def test_a_partial_order_refunds_what_was_not_delivered(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    await place(http, sim.base_url, token)
    sim.set_order_outcome(1, partial_at=40)
    sim.advance(60)
    body = await call(http, "GET", sim.base_url + "/status/1/", token=token)
    assert (body["status"], body["remain"], body["cost"]) == ("partial", 60, 80)
    credit = await call(http, "GET", sim.base_url + "/credit/", token=token)
    assert credit["credit"] == 1000 - 80
    with pytest.raises(ValueError, match="partial"):
        sim.set_order_outcome(1, partial_at=10)


async def test_cancel_refunds_the_rest_and_only_once(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    await place(http, sim.base_url, token)
    sim.advance(14)  # 20 units delivered
    cancel = {"orderId": "1"}
    await call(http, "POST", sim.base_url + "/cancel", token=token, data=cancel)
    [order] = sim.orders(api_key)
    assert (order.status, order.remain, order.cost) == ("canceled", 80, 40)
    assert sim.credit(api_key) == 960
    sim.advance(100)  # nothing more is delivered
    assert sim.orders(api_key)[0].remain == 80

    body = await call(http, "POST", sim.base_url + "/cancel", token=token, data=cancel, expect=400)
    assert body == error(p.MESSAGE_NOT_CANCELLABLE)
    body = await call(http, "POST", sim.base_url + "/recheck", token=token, data=cancel, expect=400)
    assert body == error(p.MESSAGE_NOT_RECHECKABLE)
    assert sim.credit(api_key) == 960


async def test_recheck_counts_and_completed_orders_cannot_be_cancelled(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    await place(http, sim.base_url, token)
    sim.advance(30)
    await call(http, "POST", sim.base_url + "/recheck", token=token, json={"orderId": 1})
    assert sim.orders(api_key)[0].recheck_count == 1
    await call(http, "POST", sim.base_url + "/cancel", token=token, data={"orderId": 1}, expect=400)


@pytest.mark.parametrize(
    ("data", "expect", "message"),
    [
        ({"serviceId": "99", "link": LINK, "count": "100"}, 404, p.MESSAGE_SERVICE_NOT_FOUND),
        ({"serviceId": "10", "link": LINK, "count": "5"}, 400, p.MESSAGE_INVALID_INPUT),
        ({"serviceId": "10", "link": LINK, "count": "1.5"}, 400, p.MESSAGE_INVALID_INPUT),
        ({"serviceId": "10", "link": "ftp://x.ir/a", "count": "100"}, 400, p.MESSAGE_INVALID_INPUT),
        ({"serviceId": "10", "count": "100"}, 400, p.MESSAGE_INVALID_INPUT),
        ({"serviceId": "10", "link": LINK, "count": "501"}, 400, p.MESSAGE_NOT_ENOUGH_CREDIT),
    ],
)
async def test_a_refused_order_charges_nothing(
    sim: Simulator,
    http: aiohttp.ClientSession,
    api_key: str,
    data: dict[str, str],
    expect: int,
    message: str,
) -> None:
    token = await token_for(http, sim, api_key)
    url = sim.base_url + "/order"
    assert await call(http, "POST", url, token=token, data=data, expect=expect) == error(message)
    assert (sim.orders(api_key), sim.credit(api_key)) == ([], 1000)


async def test_json_and_form_bodies_are_both_accepted(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    url = sim.base_url + "/order"
    await call(http, "POST", url, token=token, json={"serviceId": 10, "link": LINK, "count": 10})
    await call(
        http, "POST", url, token=token, json={"serviceId": "10", "link": LINK, "count": "20"}
    )
    await call(http, "POST", url, token=token, data={"serviceId": 10, "link": LINK, "count": 30})
    assert [order.count for order in sim.orders(api_key)] == [10, 20, 30]
    assert sim.requests[-3].form == {"serviceId": "10", "link": LINK, "count": "10"}


async def test_status_of_a_missing_or_foreign_order_is_not_found(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    other = await token_for(http, sim, sim.add_account())
    await place(http, sim.base_url, other)
    token = await token_for(http, sim, api_key)
    for order_id in ("1", "2", "abc"):
        url = f"{sim.base_url}/status/{order_id}/"
        assert await call(http, "GET", url, token=token, expect=404) == error(
            p.MESSAGE_ORDER_NOT_FOUND
        )


async def test_fractional_credit_is_a_float(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    sim.set_credit(api_key, 10.5)
    token = await token_for(http, sim, api_key)
    assert (await call(http, "GET", sim.base_url + "/credit/", token=token))["credit"] == 10.5


# --- faults -------------------------------------------------------------------------


async def test_server_error_html_then_normal(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    sim.inject("credit", Fault.SERVER_ERROR_HTML)
    async with http.get(sim.base_url + "/credit/", headers=bearer(token)) as response:
        assert response.status == 502
        assert response.content_type == "text/html"
        assert "<html>" in await response.text()
    await call(http, "GET", sim.base_url + "/credit/", token=token)


@pytest.mark.parametrize(("retry_after", "header"), [(7, "7"), (None, None)])
async def test_rate_limited(
    sim: Simulator,
    http: aiohttp.ClientSession,
    api_key: str,
    retry_after: int | None,
    header: str | None,
) -> None:
    sim.inject("auth", Fault.RATE_LIMITED, retry_after=retry_after)
    async with http.get(sim.base_url + "/auth", headers=bearer(api_key)) as response:
        assert response.status == 429
        assert response.headers.get("Retry-After") == header
        assert (await response.json())["operation"] == "error"


async def test_slow_answers_late_but_normally_on_real_time(http: aiohttp.ClientSession) -> None:
    """The default clock (``happy-follower simulate``, the demo) is real time."""
    async with Simulator() as real_time:
        api_key = real_time.add_account()
        real_time.inject("auth", Fault.SLOW, delay=0.2)
        started = time.monotonic()
        assert (await login(http, real_time.base_url, api_key))["operation"] == "success"
        assert time.monotonic() - started >= 0.2
        real_time.inject("auth", Fault.SLOW, delay=3600)
        answer = asyncio.create_task(login(http, real_time.base_url, api_key))
        await real_time.wait_until_held("auth")
        real_time.advance(3600)  # a real clock moves on with advance too
        assert (await answer)["operation"] == "success"


async def test_a_driven_clock_holds_an_answer_until_advanced_that_far(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    sim.inject("auth", Fault.SLOW, delay=10)
    answer = asyncio.create_task(login(http, sim.base_url, api_key))
    await sim.wait_until_held("auth")
    sim.advance(9)
    await login(http, sim.base_url, api_key)  # a whole exchange: room for the hold to end
    assert (sim.held("auth"), answer.done()) == (1, False)
    sim.advance(1)
    assert (await answer)["operation"] == "success"
    assert sim.held("auth") == 0
    assert sim.now() == 10  # exactly: a driven clock is not real time plus an offset


async def test_release_held_lets_every_held_answer_go(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    sim.inject("order", Fault.PROCESS_THEN_SLOW, times=2, delay=10**6)
    placing = [asyncio.create_task(place(http, sim.base_url, token)) for _ in range(2)]
    await sim.wait_until_held("order", 2)
    assert len(sim.orders(api_key)) == 2  # processed, answers held
    await sim.release_held()
    assert sim.held("order") == 0
    assert [(await task)["operation"] for task in placing] == ["success", "success"]
    sim.inject("order", Fault.PROCESS_THEN_SLOW, delay=10**6)  # held again after a release
    again = asyncio.create_task(place(http, sim.base_url, token))
    await sim.wait_until_held("order")
    await sim.stop()  # stopping ends a hold too: no handler outlives the server
    assert sim.held("order") == 0
    with contextlib.suppress(aiohttp.ClientError):  # answered or cut: either is fine here
        await again


def test_the_clock_only_moves_forward() -> None:
    clock = SimulatorClock(driven=True)
    clock.advance(1.5)
    assert clock.now() == 1.5
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


async def test_drop_connection_does_nothing(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    sim.inject("order", Fault.DROP_CONNECTION)
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await place(http, sim.base_url, token)
    assert sim.orders(api_key) == []
    assert sim.requests[-1].endpoint == "order"


async def test_process_then_drop_places_the_order_anyway(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    sim.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await place(http, sim.base_url, token)
    assert [order.order_id for order in sim.orders(api_key)] == [1]
    assert sim.credit(api_key) == 800


async def test_process_then_slow_places_the_order_before_a_timeout(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key)
    sim.inject("order", Fault.PROCESS_THEN_SLOW, delay=0.5)
    with pytest.raises(TimeoutError):
        await place(http, sim.base_url, token, timeout=aiohttp.ClientTimeout(0.1))
    assert len(sim.orders(api_key)) == 1


async def test_malformed_json(sim: Simulator, http: aiohttp.ClientSession, api_key: str) -> None:
    token = await token_for(http, sim, api_key)
    sim.inject("credit", Fault.MALFORMED_JSON)
    async with http.get(sim.base_url + "/credit/", headers=bearer(token)) as response:
        assert response.status == 200
        with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
            await response.json()


@pytest.mark.parametrize(("message", "expected"), [("قطع", "قطع"), (None, p.MESSAGE_GENERIC_ERROR)])
async def test_error_message_with_http_200(
    sim: Simulator,
    http: aiohttp.ClientSession,
    api_key: str,
    message: str | None,
    expected: str,
) -> None:
    token = await token_for(http, sim, api_key)
    sim.inject("services", Fault.ERROR_MESSAGE, message=message)
    assert await call(http, "GET", sim.base_url + "/services", token=token) == error(expected)


async def test_faults_count_down_match_roots_and_clear(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    sim.inject("auth", Fault.ERROR_MESSAGE, times=2, sandbox=True)
    sim.inject("credit", Fault.ERROR_MESSAGE, times=None)
    assert "token" in await login(http, sim.base_url, api_key)  # live root unaffected
    for _ in range(2):
        assert "token" not in await login(http, sim.sandbox_base_url, api_key)
    token = await token_for(http, sim, api_key, sandbox=True)
    for _ in range(3):
        body = await call(http, "GET", sim.sandbox_base_url + "/credit/", token=token)
        assert body["operation"] == "error"
    sim.clear_faults()
    body = await call(http, "GET", sim.sandbox_base_url + "/credit/", token=token)
    assert body["operation"] == "success"
    with pytest.raises(ValueError, match="unknown endpoint"):
        sim.inject("credit/", Fault.SLOW)


# --- recording, latency, lifecycle ----------------------------------------------------


async def test_requests_are_recorded(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    token = await token_for(http, sim, api_key, sandbox=True)
    await place(http, sim.sandbox_base_url, token)
    auth, order = sim.requests
    assert (auth.method, auth.path, auth.endpoint, auth.sandbox, auth.form) == (
        "GET",
        "/api/sandbox/v1/auth",
        "auth",
        True,
        {},
    )
    assert auth.headers["authorization"] == f"Bearer {api_key}"
    assert (order.method, order.endpoint, order.form["count"]) == ("POST", "order", "100")


async def test_latency_is_concurrent(http: aiohttp.ClientSession) -> None:
    async with Simulator(latency=0.2) as sim:
        url = sim.base_url + "/status/1/"
        started = time.monotonic()
        await asyncio.gather(*(call(http, "GET", url, expect=401) for _ in range(20)))
        assert 0.2 <= time.monotonic() - started < 1.0


async def test_lifecycle() -> None:
    sim = Simulator()
    with pytest.raises(RuntimeError):
        _ = sim.base_url
    url = await sim.start()
    assert url == sim.base_url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1", url)
    assert sim.sandbox_base_url == url.replace("/api/v1", "/api/sandbox/v1")
    await sim.stop()
    with pytest.raises(RuntimeError):
        _ = sim.base_url
    with pytest.raises(ValueError, match="unique"):
        Simulator(services=[LIKES, LIKES])


async def test_the_test_control_path_exists_only_when_asked_for(
    sim: Simulator, http: aiohttp.ClientSession, api_key: str
) -> None:
    origin = sim.base_url.removesuffix("/api/v1")
    advance = f"{origin}{TEST_CONTROL_PATH}/advance?seconds=60"
    body = await call(http, "POST", advance, expect=p.HTTP_STATUS_NOT_FOUND)
    assert body == error(p.MESSAGE_PATH_NOT_FOUND)  # an unknown path, as any other
    assert sim.now() == 0


async def test_a_test_in_another_process_drives_the_clock_over_http(
    http: aiohttp.ClientSession,
) -> None:
    clock = SimulatorClock(driven=True)
    async with Simulator(clock=clock, test_control=True) as sim:
        api_key = sim.add_account()
        control = sim.base_url.removesuffix("/api/v1") + TEST_CONTROL_PATH
        assert await call(http, "POST", f"{control}/advance?seconds=12.5") == {"now": 12.5}
        await call(http, "POST", f"{control}/advance?seconds=-1", expect=400)
        sim.inject("auth", Fault.SLOW, delay=3600)
        answer = asyncio.create_task(login(http, sim.base_url, api_key))
        held = await call(http, "POST", f"{control}/wait-until-held?endpoint=auth&count=1")
        assert held == {"held": 1}
        await call(http, "POST", f"{control}/release-held")
        assert (await answer)["operation"] == "success"
        assert [r.endpoint for r in sim.requests] == ["auth"]  # control is not API traffic
