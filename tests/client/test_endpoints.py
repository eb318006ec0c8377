"""Every endpoint, on the live and the sandbox root: wire format exactly as documented."""

from __future__ import annotations

import pytest
from yarl import URL

from shared_client import HappyFollowerClient
from shared_client import protocol as p
from shared_client.simulator import DEFAULT_SERVICES, RecordedRequest, Simulator

LINK = "https://www.instagram.com/mehdifeizi"
SENT = LINK + "/"  # LINK as the input policy writes it (its canonical form)
FORM = "application/x-www-form-urlencoded"


def root_path(sim: Simulator, sandbox: bool) -> str:
    return URL(sim.sandbox_base_url if sandbox else sim.base_url).path


def bearer(request: RecordedRequest, header: str = "Authorization") -> str:
    scheme, _, value = request.headers[header].partition(" ")
    assert scheme == "Bearer"
    assert value
    return value


@pytest.fixture(params=[False, True], ids=["live", "sandbox"])
async def any_client(
    request: pytest.FixtureRequest,
    client: HappyFollowerClient,
    sandbox_client: HappyFollowerClient,
) -> HappyFollowerClient:
    return sandbox_client if request.param else client


async def test_roots_are_the_documented_ones() -> None:
    async with HappyFollowerClient("k") as live, HappyFollowerClient("k", sandbox=True) as sandbox:
        assert live.base_url == "https://www.happy-follower.com/api/v1"
        assert sandbox.base_url == "https://www.happy-follower.com/api/sandbox/v1"
        assert (live.sandbox, sandbox.sandbox) == (False, True)


async def test_every_endpoint_on_both_roots(
    simulator: Simulator, api_key: str, any_client: HappyFollowerClient
) -> None:
    sandbox = any_client.sandbox
    root = root_path(simulator, sandbox)

    services = await any_client.get_services()
    order_id = await any_client.place_order(service_id=10, link=LINK, count=100)
    status = await any_client.get_order_status(order_id)
    credit = await any_client.get_credit()

    assert [(s.service_id, s.name) for s in services] == [
        (s.service_id, s.name) for s in DEFAULT_SERVICES
    ]
    assert order_id == 1
    assert status.status == p.STATUS_REGISTERED
    assert status.status_title == "در انتظار"
    assert (status.count, status.remain, status.cost, status.link) == (100, 100, 200, SENT)
    assert status.old_count is not None
    assert credit == 100_000 - 200
    assert [o.order_id for o in simulator.orders(api_key, sandbox=sandbox)] == [1]
    assert simulator.orders(api_key, sandbox=not sandbox) == []

    requests = simulator.requests
    assert all(r.sandbox is sandbox for r in requests)
    assert [(r.method, r.path, r.endpoint) for r in requests] == [
        ("GET", f"{root}/auth", "auth"),
        ("GET", f"{root}/services", "services"),
        ("POST", f"{root}/order", "order"),
        ("GET", f"{root}/status/1/", "status"),
        ("GET", f"{root}/credit/", "credit"),
    ]
    auth, *authorised = requests
    assert bearer(auth) == api_key
    token = bearer(authorised[0])
    assert token != api_key
    assert all(bearer(r) == token for r in authorised)
    for request in requests:
        if request.method == "GET":
            assert request.form == {}
            assert int(request.headers.get("Content-Length", "0")) == 0
    order = requests[2]
    assert order.headers["Content-Type"].startswith(FORM)
    assert order.form == {"serviceId": "10", "link": SENT, "count": "100"}


async def test_cancel_and_recheck_on_the_live_root(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    first = await client.place_order(service_id=10, link=LINK, count=100)
    second = await client.place_order(service_id=10, link=LINK, count=50)
    start = len(simulator.requests)

    await client.recheck_order(first)
    await client.cancel_order(second)

    root = root_path(simulator, False)
    recheck, cancel = simulator.requests[start:]
    assert (recheck.method, recheck.path, recheck.endpoint) == (
        "POST",
        f"{root}/recheck",
        "recheck",
    )
    assert (cancel.method, cancel.path, cancel.endpoint) == ("POST", f"{root}/cancel", "cancel")
    assert recheck.form == {"orderId": str(first)}
    assert cancel.form == {"orderId": str(second)}
    for request in (recheck, cancel):
        assert request.headers["Content-Type"].startswith(FORM)
        assert bearer(request) != api_key
    orders = {o.order_id: o for o in simulator.orders(api_key)}
    assert orders[first].recheck_count == 1
    assert orders[second].status == p.STATUS_CANCELED
    assert (await client.get_order_status(second)).is_final


async def test_refresh_sends_the_documented_headers(
    simulator: Simulator, api_key: str, any_client: HappyFollowerClient
) -> None:
    await any_client.authenticate()
    await any_client.refresh_token()
    await any_client.get_credit()

    root = root_path(simulator, any_client.sandbox)
    auth, refresh, credit = simulator.requests
    assert (refresh.method, refresh.path, refresh.endpoint) == (
        "GET",
        f"{root}/ref-auth",
        "ref-auth",
    )
    assert "Authorization" not in refresh.headers
    old = bearer(refresh, "old-token")
    refresh_token = bearer(refresh, "refresh-token")
    assert api_key not in (old, refresh_token)
    assert old != refresh_token
    # The new token (not the old one, which the refresh replaced) is what /credit/ carries.
    assert bearer(credit) != old
    assert [r.endpoint for r in simulator.requests].count("auth") == 1
    assert auth.headers["Authorization"] == f"Bearer {api_key}"


async def test_refresh_without_a_token_authenticates_first(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.refresh_token()
    assert [r.endpoint for r in simulator.requests] == ["auth", "ref-auth"]


async def test_the_token_is_reused(simulator: Simulator, client: HappyFollowerClient) -> None:
    for _ in range(5):
        await client.get_credit()
    assert [r.endpoint for r in simulator.requests] == ["auth"] + ["credit"] * 5


async def test_base_url_with_trailing_slash(simulator: Simulator, api_key: str) -> None:
    async with HappyFollowerClient(api_key, base_url=simulator.base_url + "/") as client:
        await client.get_credit()
    root = root_path(simulator, False)
    assert [r.path for r in simulator.requests] == [f"{root}/auth", f"{root}/credit/"]


async def test_api_key_is_stripped(simulator: Simulator, api_key: str) -> None:
    async with HappyFollowerClient(f"  {api_key}\n", base_url=simulator.base_url) as client:
        await client.get_credit()
    assert simulator.requests[0].headers["Authorization"] == f"Bearer {api_key}"
