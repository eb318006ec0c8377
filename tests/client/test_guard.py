"""SpendGuard on the simulator over loopback: every rule, with a ledger file on disk.

Caps over a rolling 24 hours (count, orders, spend with the operator's prices, learned
prices or the credit as the bound), write-ahead, a ledger that cannot be written or is
damaged, outcomes unknown, costs learned after the order, possible duplicates,
interrupted attempts, several guards on one file, sandbox and live apart, legacy lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared_client import (
    HappyFollowerApiError,
    HappyFollowerClient,
    HappyFollowerConnectionError,
    HappyFollowerInputError,
    HappyFollowerLedgerError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerSpendCapError,
    HappyFollowerUnknownServiceError,
)
from shared_client.guard import DEFAULT_CAPS, AuditEvent, Ledger, SpendCaps, SpendGuard, Usage
from shared_client.ledger import MAX_REASON_LENGTH, AuditRecord, this_process
from shared_client.ledger_view import STALE_ATTEMPT
from shared_client.simulator import Fault, SimulatedService, Simulator
from shared_client.validation import validate_order

from .guard_support import (
    LINK,
    START,
    Clock,
    ReadOnly,
    dead_process,
    file_bytes,
    order_posts,
    read_lines,
    record,
    write_file,
)

OTHER_LINK = "https://instagram.com/p/Cx1/"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "orders.jsonl"


@pytest.fixture
def read_only() -> Iterator[ReadOnly]:
    maker = ReadOnly()
    yield maker
    maker.undo()


@pytest.fixture
async def second_client(simulator: Simulator, api_key: str) -> AsyncIterator[HappyFollowerClient]:
    """Another client of the same account, as a second process would have."""
    async with HappyFollowerClient(
        api_key, base_url=simulator.base_url, retry_backoff=0.0, request_timeout=5.0
    ) as happy_follower:
        yield happy_follower


def make_guard(client: HappyFollowerClient, path: Path, clock: Clock, **caps: Any) -> SpendGuard:
    return SpendGuard(client, Ledger(path), SpendCaps(**caps), source="tests", clock=clock)


async def place(guard: SpendGuard, count: int = 100, **kwargs: Any) -> Any:
    service_id = kwargs.pop("service_id", 10)
    link = kwargs.pop("link", LINK)
    confirmed_by = kwargs.pop("confirmed_by", "tests")
    quote = await guard.prepare_order(service_id, link, count, confirmed_by=confirmed_by)
    return await guard.place_order(quote, confirmed_by=confirmed_by, **kwargs)


def events(path: Path) -> list[str]:
    return [line["event"] for line in read_lines(path)]


# --- caps -----------------------------------------------------------------------------


def test_default_caps_are_the_shared_ones() -> None:
    assert SpendCaps(max_count_per_order=1000, max_orders_per_day=10) == DEFAULT_CAPS
    assert DEFAULT_CAPS.max_spend_per_day is None
    assert dict(DEFAULT_CAPS.unit_prices) == {}


@pytest.mark.parametrize("name", ["max_count_per_order", "max_orders_per_day"])
@pytest.mark.parametrize("value", [0, -1, True, 1.5, 2.0, "3", math.nan])
def test_whole_number_caps_refuse(name: str, value: Any) -> None:
    with pytest.raises(HappyFollowerInputError, match=f"^{name} must be a whole number above 0"):
        SpendCaps(**{name: value})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0, 0.0, -1, True, "5"])
def test_spend_cap_refuses(value: Any) -> None:
    with pytest.raises(HappyFollowerInputError, match=r"^max_spend_per_day must be a finite"):
        SpendCaps(max_spend_per_day=value)


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({10: math.nan}, "the unit price of service 10 must be a finite amount"),
        ({10: 0}, "the unit price of service 10 must be"),
        ({10: -2.0}, "the unit price of service 10 must be"),
        ({10: True}, "the unit price of service 10 must be"),
        ({0: 1.0}, "unit price for a bad service id 0"),
        ({-3: 1.0}, "unit price for a bad service id -3"),
        ({True: 1.0}, "unit price for a bad service id True"),
        ({"10": 1.0}, "unit price for a bad service id '10'"),
    ],
)
def test_unit_prices_refuse(prices: dict[Any, Any], message: str) -> None:
    with pytest.raises(HappyFollowerInputError, match=f"^{message}"):
        SpendCaps(unit_prices=prices)


def test_good_caps_are_kept() -> None:
    caps = SpendCaps(1, 2, 0.5, {10: 1, 11: 0.25})
    assert (caps.max_count_per_order, caps.max_orders_per_day, caps.max_spend_per_day) == (
        1,
        2,
        0.5,
    )
    assert SpendCaps(max_spend_per_day=7).max_spend_per_day == 7
    assert dict(SpendCaps(unit_prices={1: 0.01}).unit_prices) == {1: 0.01}  # the smallest id


async def test_no_caps_places_writes_ahead_and_learns_the_cost(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    assert await guard.open() == []
    placed = await place(guard, service_id="۱۰", confirmed_by="user at the CLI prompt")

    assert (placed.order_id, placed.service_id, placed.link, placed.count) == (1, 10, LINK, 100)
    assert placed.service_name == "لایک ایرانی(سرعت متوسط)"
    assert placed.cost == 200
    assert placed.status is not None
    assert placed.status.count == 100
    attempt, outcome = read_lines(ledger_path)
    assert attempt == {
        "at": "2026-03-21T12:00:00Z",
        "event": "attempt",
        "source": "tests",
        "sandbox": False,
        "attempt_id": attempt["attempt_id"],
        "service_id": 10,
        "link": LINK,
        "count": 100,
        "order_id": None,
        "cost": None,
        "cost_estimate": None,
        "cost_bound": None,
        "confirmed_by": "user at the CLI prompt",
        "process": this_process(),
        "reason": None,
        "unit_price": None,
        "anomaly": None,
    }
    assert len(attempt["attempt_id"]) == 32
    assert outcome["event"] == "placed"
    assert outcome["attempt_id"] == attempt["attempt_id"]
    assert (outcome["order_id"], outcome["cost"], outcome["count"]) == (1, 200, 100)
    assert outcome["service_id"] == 10
    assert outcome["link"] == LINK
    assert outcome["confirmed_by"] is None
    assert outcome["process"] is None
    assert guard.usage() == Usage(orders=1, spent=200, reserved=0, unbounded=0)
    assert [r.event for r in guard.records] == [AuditEvent.ATTEMPT, AuditEvent.PLACED]
    assert simulator.credit(api_key) == 100_000 - 200
    # No spend cap: the credit is never read.
    assert [r.endpoint for r in simulator.requests] == ["auth", "services", "order", "status"]


async def test_count_cap_refuses_before_sending(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_count_per_order=500)
    await place(guard, 500)
    with pytest.raises(HappyFollowerSpendCapError, match="count 501 is above") as caught:
        await place(guard, 501)
    assert caught.value.cap == "max_count_per_order"
    assert "(500)" in str(caught.value)
    assert order_posts(simulator) == 1
    refused = guard.records[-1]
    assert refused.event is AuditEvent.REFUSED
    assert (refused.service_id, refused.link, refused.count) == (10, LINK, 501)
    assert refused.attempt_id is None
    assert refused.reason == str(caught.value)
    assert guard.usage().orders == 1


async def test_orders_per_day_over_a_rolling_window(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_orders_per_day=2)
    await place(guard, 10)
    clock.advance(hours=12)
    await place(guard, 10)
    clock.advance(hours=12)  # the first order is exactly 24 hours old: still counted
    with pytest.raises(HappyFollowerSpendCapError, match="2 orders were placed") as caught:
        await place(guard, 10)
    assert caught.value.cap == "max_orders_per_day"
    assert "the most allowed is 2" in str(caught.value)
    clock.advance(microseconds=1)  # now it is out of the window
    assert guard.usage().orders == 1
    await place(guard, 10)
    with pytest.raises(HappyFollowerSpendCapError):
        await place(guard, 10)
    assert order_posts(simulator) == 3
    assert events(ledger_path) == [
        "attempt",
        "placed",
        "attempt",
        "placed",
        "refused",
        "attempt",
        "placed",
        "refused",
    ]


async def test_failed_and_refused_orders_do_not_count(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_orders_per_day=1)
    with pytest.raises(HappyFollowerApiError):  # below the service's minimum
        await place(guard, 10, service_id=20)
    simulator.set_credit(api_key, 0)
    with pytest.raises(HappyFollowerNotEnoughCreditError):
        await place(guard, 100)
    simulator.set_credit(api_key, 100_000)
    simulator.inject("order", Fault.RATE_LIMITED)
    with pytest.raises(HappyFollowerRateLimitError):
        await place(guard, 100)
    with pytest.raises(HappyFollowerInputError):
        await place(guard, 100, link="https://evil.example/x")
    assert guard.usage() == Usage(0, 0, 0, 0)
    await place(guard, 100)
    with pytest.raises(HappyFollowerSpendCapError):
        await place(guard, 100)
    lines = read_lines(ledger_path)
    failed = [line for line in lines if line["event"] == "failed"]
    assert len(failed) == 3
    assert all(line["attempt_id"] for line in failed)
    assert [(f["service_id"], f["link"], f["count"]) for f in failed] == [
        (20, LINK, 10),
        (10, LINK, 100),
        (10, LINK, 100),
    ]
    assert "اعتبار" in failed[1]["reason"]
    assert [line["event"] for line in lines].count("placed") == 1


async def test_spend_cap_with_operator_prices(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=600, unit_prices={10: 2.5})
    assert guard.unit_price(10) == (2.5, "operator's price per unit")
    first = await place(guard, 100)  # bound 250, real cost 200: it counts at its bound
    assert first.cost == 200
    assert read_lines(ledger_path)[0]["cost_bound"] == 250
    await place(guard, 140)  # 250 + 350 = 600: at the cap, allowed
    assert guard.usage() == Usage(orders=2, spent=480, reserved=120, unbounded=0)
    # 600 counted + a bound of 2.5 * 4 = 10 > 600
    with pytest.raises(HappyFollowerSpendCapError, match="may cost up to 25") as caught:
        await place(guard, 10)
    assert caught.value.cap == "max_spend_per_day"
    assert str(caught.value) == (
        "this order may cost up to 25; in the last 24 hours 480 was spent and 120 is reserved "
        "for orders whose cost is not settled, so 0 of the spend cap of 600 is left. Order "
        "less, wait, or raise the cap"
    )
    refused = read_lines(ledger_path)[-1]
    assert (refused["event"], refused["cost_bound"], refused["count"]) == ("refused", 25, 10)
    assert order_posts(simulator) == 2
    assert 100_000 - simulator.credit(api_key) <= 600
    clock.advance(hours=24, seconds=1)
    assert guard.usage() == Usage(0, 0, 0, 0)
    await place(guard, 200)


async def test_learned_price_bounds_the_next_order(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000)
    assert guard.unit_price(10) is None
    with pytest.raises(HappyFollowerSpendCapError, match="cannot be bounded"):
        await guard.quote(validate_order(10, LINK, 100))  # refused before a person is asked
    with pytest.raises(HappyFollowerSpendCapError, match="cannot be bounded"):
        await place(guard, 100)
    # An order placed without a spend cap shows the price (200 for 100): it is offered to
    # a person, and bounds orders once a person confirms it (issue 14, I10).
    await place(make_guard(client, ledger_path, clock), 100)
    await guard.refresh()
    assert guard.unit_price(10) is None
    assert guard.price_offer(10) == (2.0, "charged per unit by order 1")
    assert guard.price_offer(11) is None
    with pytest.raises(HappyFollowerSpendCapError, match="cannot be bounded"):
        await guard.quote(validate_order(10, LINK, 150))
    await guard.confirm_price(10, guard.price_offer(10)[0], confirmed_by="tests")  # type: ignore[index]
    second = await guard.quote(validate_order(10, LINK, 150))
    assert second.cost_bound == 300
    assert second.cost_basis == "price per unit confirmed by tests"
    await place(guard, 150)
    assert read_lines(ledger_path)[-2]["cost_bound"] == 300
    assert order_posts(simulator) == 2


async def test_learned_price_is_the_highest_of_earlier_orders(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    first = await place(guard, 100)
    await place(guard, 50)
    await guard.settle_cost(first.order_id, 300)  # a higher cost counts, but teaches no price
    assert guard.price_offer(10) == (2.0, "charged per unit by order 1")
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    third = await place(guard, 10)
    assert third.cost is None
    await guard.settle_cost(third.order_id, 45)  # settles its cost, but teaches no price:
    assert guard.usage().spent == 300 + 100 + 45  # a later status may be of a partial order
    assert guard.price_offer(10) == (2.0, "charged per unit by order 1")
    assert guard.unit_price(10) is None  # offered, never a bound by itself
    # The operator's price wins over what was learned.
    priced = SpendGuard(
        client, Ledger(ledger_path), SpendCaps(unit_prices={10: 1.0}), source="t", clock=clock
    )
    await priced.refresh()
    assert priced.unit_price(10) == (1.0, "operator's price per unit")


async def test_nothing_bounds_the_cost_refuses_under_a_spend_cap(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No price known: refused while a spend cap is set, however large the credit. The
    credit bounds nothing: credit added between reading it and the order's charge (a
    top-up, a refund) would let the service charge more than was read."""
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000)
    with pytest.raises(HappyFollowerSpendCapError, match="cannot be bounded") as caught:
        await place(guard, 100)
    assert caught.value.cap == "cost_unknown"
    assert str(caught.value) == (
        "the cost of this order cannot be bounded, so the spend cap cannot be checked: no "
        "price per unit that a person stands behind is known for service 10. Set the "
        "service's price per unit, or confirm the price it was seen to charge, or lift the "
        "spend cap"
    )
    assert order_posts(simulator) == 0
    assert not any(request.endpoint == "credit" for request in simulator.requests)
    assert events(ledger_path) == ["refused"]
    # An operator's price bounds it, even when the credit cannot be read.
    priced = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 2})
    simulator.inject("credit", Fault.SERVER_ERROR_HTML, times=6)
    placed = await place(priced, 100)
    assert placed.cost == 200
    assert read_lines(ledger_path)[-2]["cost_bound"] == 200
    assert [r.getMessage() for r in caplog.records if r.name == "shared_client.guard"] == [
        "Credit unreadable before an order: Happy Follower is unavailable (HTTP 502, /credit/); "
        "try again later"
    ]


async def test_an_unbounded_order_blocks_the_spend_cap_until_its_cost_is_known(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    uncapped = make_guard(client, ledger_path, clock)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await place(uncapped, 100)
    assert (placed.cost, placed.status) == (None, None)
    assert uncapped.usage() == Usage(orders=1, spent=0, reserved=0, unbounded=1)

    capped = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 2})
    with pytest.raises(HappyFollowerSpendCapError, match="1 order") as caught:
        await place(capped, 10)
    assert caught.value.cap == "cost_unknown"
    assert str(caught.value) == (
        "1 order(s) of the last 24 hours have a cost that is not known yet and was never "
        "bounded, so the spend cap cannot be checked; read their status so their cost is "
        "learned, or wait until they leave the 24-hour window"
    )
    assert order_posts(simulator) == 1
    # Without a spend cap, an unbounded order does not block anything.
    await place(make_guard(client, ledger_path, clock, max_orders_per_day=5), 10)

    await capped.settle_cost(placed.order_id, 200)
    assert capped.usage() == Usage(orders=2, spent=220, reserved=0, unbounded=0)
    await place(capped, 10)


# --- costs learned after the order ------------------------------------------------------


async def test_cost_from_the_credit_when_the_status_cannot_be_read(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 3})
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await place(guard, 100)
    assert placed.status is None
    assert (placed.cost, placed.estimated_cost) == (None, 200)
    assert read_lines(ledger_path)[-1]["cost_estimate"] == 200
    assert "its status could not be read" in caplog.text
    # An estimate from the credit never counts below the bound (3 x 100), nor a status.
    assert guard.usage() == Usage(orders=1, spent=0, reserved=300, unbounded=0)
    await guard.settle_cost(placed.order_id, 200)
    assert guard.usage() == Usage(orders=1, spent=200, reserved=100, unbounded=0)


async def test_a_deposit_during_an_order_never_lets_spend_pass_the_cap(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """The credit difference is not the cost when credit arrives in between (a top-up, the
    refund of an earlier partial order): it must not lower what counts, nor teach a price."""
    simulator.set_credit(api_key, 500)
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 2})
    simulator.inject("order", Fault.SLOW, delay=0.2)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    task = asyncio.create_task(place(guard, 100))  # bounded at 200; costs 200
    await simulator.wait_until_held("order")
    simulator.set_credit(api_key, 1500)  # a top-up of 1000 while the order is in flight
    simulator.advance(0.2)  # the held answer goes out
    await task
    for count in (400, 100, 100):
        with contextlib.suppress(HappyFollowerSpendCapError):
            await place(guard, count)
    assert 1500 - simulator.credit(api_key) <= 1000


async def test_note_cost_settles_a_bound(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 3})
    simulator.inject("credit", Fault.SLOW, delay=0)  # the read before the order works
    simulator.inject("credit", Fault.SERVER_ERROR_HTML, times=3)  # the one after fails
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await place(guard, 100)
    assert (placed.cost, placed.status) == (None, None)
    assert "its cost is not known yet" in caplog.text
    assert guard.usage() == Usage(orders=1, spent=0, reserved=300, unbounded=0)
    lines_before = len(read_lines(ledger_path))
    for _ in range(2):  # each anomaly is written once, and none changes the count
        for ignored in (None, math.nan, math.inf, -1.0):
            assert (await guard.settle_cost(placed.order_id, ignored)).anomaly is not None
    await guard.settle_cost(placed.order_id + 1, 5)  # no such order
    assert len(read_lines(ledger_path)) == lines_before + 4
    assert guard.usage() == Usage(orders=1, spent=0, reserved=300, unbounded=0)
    lines_before += 4

    assert (
        await guard.settle_cost(placed.order_id, 200)
    ).anomaly is not None  # below its bound of 300
    assert guard.usage() == Usage(orders=1, spent=200, reserved=100, unbounded=0)
    cost = read_lines(ledger_path)[-1]
    assert cost["event"] == "cost"
    assert cost["attempt_id"] == read_lines(ledger_path)[0]["attempt_id"]
    assert (cost["order_id"], cost["cost"], cost["service_id"], cost["count"]) == (1, 200, 10, 100)
    assert cost["link"] == LINK
    assert cost["reason"] == "from the order's status"
    await guard.settle_cost(placed.order_id, 200)  # known already: nothing more
    assert len(read_lines(ledger_path)) == lines_before + 1
    assert guard.orders()[0].cost == 200


async def test_a_cost_of_zero_settles_nothing(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """The vendor's 0 is an anomaly (issue 14, I9): an unbounded order stays unbounded."""
    guard = make_guard(client, ledger_path, clock)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await place(guard, 100)
    assert (await guard.settle_cost(placed.order_id, 0)).anomaly == "the status gave a cost of 0"
    assert guard.usage() == Usage(orders=1, spent=0, reserved=0, unbounded=1)
    assert guard.orders()[0].anomalies == ("the status gave a cost of 0",)


async def test_note_cost_stays_in_its_environment(
    simulator: Simulator,
    client: HappyFollowerClient,
    sandbox_client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
) -> None:
    live = make_guard(client, ledger_path, clock)
    sandbox = make_guard(sandbox_client, ledger_path, clock)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=6)
    live_order = await place(live, 100)
    sandbox_order = await place(sandbox, 100)
    assert live_order.order_id == sandbox_order.order_id == 1
    await sandbox.settle_cost(1, 7)
    await live.refresh()
    assert live.usage().unbounded == 1
    assert sandbox.usage() == Usage(orders=1, spent=7, reserved=0, unbounded=0)


# --- write-ahead and the ledger file ---------------------------------------------------


async def test_attempt_is_on_disk_before_the_order_reaches_the_service(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    simulator.inject("order", Fault.SLOW, delay=0.3)
    task = asyncio.create_task(place(guard, 100))
    await simulator.wait_until_held("order")
    on_disk = read_lines(ledger_path)  # the order is now held by the simulator
    assert [line["event"] for line in on_disk] == ["attempt"]
    assert (on_disk[0]["service_id"], on_disk[0]["count"]) == (10, 100)
    simulator.advance(0.3)  # the held answer goes out
    placed = await task
    assert events(ledger_path) == ["attempt", "placed"]
    assert read_lines(ledger_path)[1]["order_id"] == placed.order_id


async def test_unwritable_ledger_folder_is_reported_at_open(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    tmp_path: Path,
    read_only: ReadOnly,
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    read_only(folder)
    path = folder / "orders.jsonl"
    guard = make_guard(client, path, clock)
    with pytest.raises(HappyFollowerLedgerError, match="cannot be used") as caught:
        await guard.open()
    assert str(path) in str(caught.value)
    assert "writable" in str(caught.value)
    with pytest.raises(HappyFollowerLedgerError):
        await place(guard, 100)
    with pytest.raises(HappyFollowerLedgerError):
        await guard.quote(validate_order(10, LINK, 100))
    assert simulator.requests == []


async def test_read_only_ledger_file_refuses_with_nothing_sent(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    read_only: ReadOnly,
) -> None:
    guard = make_guard(client, ledger_path, clock)
    await place(guard, 100)
    read_only(ledger_path)
    simulator.requests.clear()
    with pytest.raises(HappyFollowerLedgerError, match=str(ledger_path)):
        await make_guard(client, ledger_path, clock).open()
    with pytest.raises(HappyFollowerLedgerError):
        await place(guard, 100)
    assert simulator.requests == []


async def test_ledger_failing_at_the_attempt_sends_nothing(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    read_only: ReadOnly,
) -> None:
    guard = make_guard(client, ledger_path, clock)
    await guard.open()
    simulator.inject("services", Fault.SLOW, delay=0.3)
    task = asyncio.create_task(place(guard, 100))
    await simulator.wait_until_held("services")
    read_only(ledger_path)  # after the ledger was read, before the attempt is written
    simulator.advance(0.3)  # the held answer goes out
    with pytest.raises(HappyFollowerLedgerError, match=r"^The audit ledger") as err:
        await task
    assert err.value.nothing_sent  # the fact, as data: each front-end says it its own way
    assert order_posts(simulator) == 0


async def test_outcome_that_cannot_be_written_keeps_the_bound(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    read_only: ReadOnly,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 3})
    simulator.inject("order", Fault.SLOW, delay=0.3)
    task = asyncio.create_task(place(guard, 100))
    await simulator.wait_until_held("order")
    read_only(ledger_path)
    simulator.advance(0.3)  # the held answer goes out
    placed = await task  # the order's real fate, though its outcome is not on disk
    assert placed.order_id == 1
    assert "could not be written; it keeps counting at its bound" in caplog.text
    read_only.undo()
    assert events(ledger_path) == ["attempt"]
    fresh = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 3})
    assert await fresh.open() == []  # this process is alive and the attempt is recent
    assert fresh.usage() == Usage(orders=1, spent=0, reserved=300, unbounded=0)


async def test_damaged_middle_line_refuses_and_never_lowers_a_count(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_orders_per_day=2)
    await place(guard, 100)
    await place(guard, 50)
    lines = file_bytes(ledger_path).splitlines(keepends=True)
    lines[2] = b'{"at": "2026-03-21T12:00:00Z", "event": "attempt", "source"\n'  # a bad write
    write_file(ledger_path, b"".join(lines))
    simulator.requests.clear()

    fresh = make_guard(client, ledger_path, clock, max_orders_per_day=2)
    with pytest.raises(HappyFollowerLedgerError, match=r"has a damaged line") as caught:
        await fresh.open()
    assert "move the file aside" in str(caught.value)
    with pytest.raises(HappyFollowerLedgerError):
        await place(fresh, 10)
    assert simulator.requests == []
    assert file_bytes(ledger_path) == b"".join(lines)


async def test_torn_last_line_is_dropped(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = make_guard(client, ledger_path, clock, max_orders_per_day=2)
    await place(guard, 100)
    whole = file_bytes(ledger_path)
    write_file(ledger_path, b'{"at": "2026-03-21T12:00:00Z", "event": "att', append=True)  # torn
    fresh = make_guard(client, ledger_path, clock, max_orders_per_day=2)
    assert await fresh.open() == []
    assert "Dropping an unfinished last line" in caplog.text
    assert file_bytes(ledger_path) == whole
    assert fresh.usage().orders == 1
    await place(fresh, 100)
    with pytest.raises(HappyFollowerSpendCapError):
        await place(fresh, 100)


# --- outcome unknown and possible duplicates ------------------------------------------


async def test_outcome_unknown_counts_at_its_bound(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 2.5})
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError, match="NOT sent again"):
        await place(guard, 100)
    attempt, unknown = read_lines(ledger_path)
    assert unknown["event"] == "outcome_unknown"
    assert unknown["attempt_id"] == attempt["attempt_id"]
    assert (unknown["service_id"], unknown["link"], unknown["count"]) == (10, LINK, 100)
    assert (unknown["order_id"], unknown["cost"], unknown["cost_bound"]) == (None, None, None)
    assert unknown["source"] == "tests"
    assert "may or may not have been placed" in unknown["reason"]
    assert guard.usage() == Usage(orders=1, spent=0, reserved=250, unbounded=0)
    assert guard.orders()[0].outcome == "outcome_unknown"

    await place(guard, 300)  # 250 + a bound of 750 = 1000: allowed; it costs 600
    with pytest.raises(HappyFollowerSpendCapError):
        await place(guard, 100)  # 250 + 600 + 250 > 1000
    assert len(simulator.orders(api_key)) == 2
    assert 100_000 - simulator.credit(api_key) == 800


async def test_timeout_is_an_unknown_outcome(
    simulator: Simulator, api_key: str, clock: Clock, ledger_path: Path
) -> None:
    simulator.inject("order", Fault.PROCESS_THEN_SLOW, delay=0.5)
    async with HappyFollowerClient(
        api_key, base_url=simulator.base_url, retry_backoff=0, request_timeout=0.2
    ) as hasty:
        guard = make_guard(hasty, ledger_path, clock, max_orders_per_day=1)
        with pytest.raises(HappyFollowerOrderOutcomeUnknownError, match="did not answer in time"):
            await place(guard, 100)
        with pytest.raises(HappyFollowerSpendCapError):
            await place(guard, 50)
    assert len(simulator.orders(api_key)) == 1
    assert order_posts(simulator) == 1
    await simulator.release_held()  # the answer the client gave up on ends before the test


async def test_possible_duplicate_needs_a_fresh_confirmation(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await place(guard, 100)
    first_attempt = guard.records[0]
    clock.advance(hours=1)
    posts = order_posts(simulator)

    quote = await guard.quote(validate_order(10, LINK, 100))
    assert quote.possible_duplicate == first_attempt
    warning = quote.confirmation_lines("live")[-1]
    assert warning == (
        "WARNING: the same order was sent at 2026-03-21 12:00 UTC and its outcome is unknown: "
        "it may have been placed. Confirm only if you checked it was not (order status, credit)."
    )
    with pytest.raises(HappyFollowerSpendCapError) as caught:
        await place(guard, 100)
    assert caught.value.cap == "possible_duplicate"
    assert str(caught.value) == (
        f"the same order (service 10, 100 to {LINK}) was sent at 2026-03-21 12:00 UTC and its "
        "outcome is unknown: it may have been placed. Check the order's status and the credit "
        "first; to place it again anyway, a person must confirm that it may be a duplicate"
    )
    assert order_posts(simulator) == posts
    assert guard.records[-1].event is AuditEvent.REFUSED

    # Another link, another count: not the same order.
    assert (await guard.quote(validate_order(10, OTHER_LINK, 100))).possible_duplicate is None
    assert (await guard.quote(validate_order(10, LINK, 101))).possible_duplicate is None
    assert (await guard.quote(validate_order(11, LINK, 100))).possible_duplicate is None
    placed = await place(guard, 100, duplicate_confirmed=True, confirmed_by="user, again")
    assert placed.order_id == 2
    assert order_posts(simulator) == posts + 1


async def test_possible_duplicate_window_is_24_hours(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await place(guard, 100)
    clock.advance(hours=24)
    assert (await guard.quote(validate_order(10, LINK, 100))).possible_duplicate is not None
    clock.advance(microseconds=1)
    assert (await guard.quote(validate_order(10, LINK, 100))).possible_duplicate is None
    await place(guard, 100)


async def test_a_pending_attempt_of_another_process_is_a_possible_duplicate(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    Ledger(ledger_path).transact(
        lambda _old: [
            record(
                AuditEvent.ATTEMPT,
                attempt_id="other",
                service_id=10,
                link=LINK,
                count=100,
                process="elsewhere:1",
            )
        ]
    )
    guard = make_guard(client, ledger_path, clock)
    with pytest.raises(HappyFollowerSpendCapError) as caught:
        await place(guard, 100)
    assert caught.value.cap == "possible_duplicate"
    # A placed order or a failed one is no reason to doubt.
    await place(guard, 50)
    assert (await guard.quote(validate_order(10, LINK, 50))).possible_duplicate is None
    assert order_posts(simulator) == 1


async def test_duplicates_are_per_environment(
    simulator: Simulator,
    client: HappyFollowerClient,
    sandbox_client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
) -> None:
    live = make_guard(client, ledger_path, clock)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await place(live, 100)
    sandbox = make_guard(sandbox_client, ledger_path, clock)
    assert (await sandbox.quote(validate_order(10, LINK, 100))).possible_duplicate is None
    await place(sandbox, 100)


async def test_cancelled_while_sending_is_an_unknown_outcome(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_orders_per_day=1)
    simulator.inject("order", Fault.PROCESS_THEN_SLOW, delay=0.5)
    task = asyncio.create_task(place(guard, 100))
    await simulator.wait_until_held("order")  # placed; its answer held back
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    attempt, unknown = read_lines(ledger_path)
    assert unknown["event"] == "outcome_unknown"
    assert unknown["attempt_id"] == attempt["attempt_id"]
    assert unknown["reason"] == "interrupted while sending (CancelledError)"
    assert (unknown["service_id"], unknown["link"], unknown["count"]) == (10, LINK, 100)
    with pytest.raises(HappyFollowerSpendCapError):
        await place(guard, 50)
    await simulator.release_held()  # the answer nobody waits for ends before the test


# --- input, services and refusals ---------------------------------------------------


async def test_input_refusals_are_audited_with_who_confirmed(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    with pytest.raises(HappyFollowerInputError, match=r"link must be on instagram\.com"):
        await place(
            guard, 100, link="https://evil.example/x", confirmed_by="user (MCP elicitation)"
        )
    bad: Any = {"x": 1}
    with pytest.raises(HappyFollowerInputError):
        await guard.prepare_order(bad, "x" * 300 + "\n", True, confirmed_by="--yes")
    first, second = read_lines(ledger_path)
    assert first["event"] == "refused"
    assert first["confirmed_by"] == "user (MCP elicitation)"
    assert (first["service_id"], first["link"], first["count"]) == (
        10,
        "https://evil.example/x",
        100,
    )
    assert "instagram.com" in first["reason"]
    assert first["attempt_id"] is None
    assert second["confirmed_by"] == "--yes"
    assert (second["service_id"], second["count"]) == (None, None)
    assert len(second["link"]) == 200
    assert "\n" not in second["link"]
    assert simulator.requests == []


async def test_cap_refusals_are_audited(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_count_per_order=10)
    with pytest.raises(HappyFollowerSpendCapError):
        await place(guard, 11)
    (refused,) = read_lines(ledger_path)
    assert refused["event"] == "refused"
    assert (refused["service_id"], refused["link"], refused["count"]) == (10, LINK, 11)
    assert "count 11" in refused["reason"]


async def test_cap_refusals_say_who_confirmed(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_count_per_order=10)
    with pytest.raises(HappyFollowerSpendCapError):
        await place(guard, 11, confirmed_by="Home Assistant automation automation.likes")
    (refused,) = read_lines(ledger_path)
    assert refused["confirmed_by"] == "Home Assistant automation automation.likes"


async def test_confirmed_by_is_display_text(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    await place(guard, 100, confirmed_by="Home Assistant user\nadmin\u202e" + "x" * 400)
    confirmed_by = read_lines(ledger_path)[0]["confirmed_by"]
    assert confirmed_by.startswith("Home Assistant user")
    assert "\n" not in confirmed_by
    assert "\u202e" not in confirmed_by
    assert (
        len(confirmed_by) == MAX_REASON_LENGTH
    )  # as long as a reason: who asked and how is kept whole
    assert confirmed_by.endswith("…")


async def test_record_refusal(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    await guard.record_refusal(
        10, LINK, 100, reason="declined  by the\u200b person", confirmed_by="user (MCP elicitation)"
    )
    await guard.record_refusal("10", 5, 1.5, reason="r" * 400)
    first, second = read_lines(ledger_path)
    assert first["event"] == second["event"] == "refused"
    assert (first["service_id"], first["link"], first["count"]) == (10, LINK, 100)
    assert first["reason"] == "declined by the person"
    assert first["confirmed_by"] == "user (MCP elicitation)"
    assert (second["service_id"], second["link"], second["count"]) == (None, None, None)
    assert second["confirmed_by"] is None
    assert len(second["reason"]) == 300
    assert [r.event for r in guard.records] == [AuditEvent.REFUSED, AuditEvent.REFUSED]
    assert guard.usage() == Usage(0, 0, 0, 0)
    assert simulator.requests == []


async def test_unknown_service_is_refused_before_sending(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    with pytest.raises(HappyFollowerUnknownServiceError) as refused:
        await place(guard, 100, service_id=99)
    assert str(refused.value) == (
        "service_id 99 is not an active service; list the services to choose one"
    )
    assert refused.value.field == "service_id"  # front-ends name the field by it
    assert order_posts(simulator) == 0
    assert read_lines(ledger_path)[0]["service_id"] == 99


async def test_services_list_is_read_once_and_cached(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    await place(guard, 100)
    await place(guard, 100, service_id=11)
    await guard.quote(validate_order(20, LINK, 50))
    assert sum(r.endpoint == "services" for r in simulator.requests) == 1


async def test_unreadable_services_list_refuses(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    simulator.inject("services", Fault.SERVER_ERROR_HTML, times=3)
    # The cause itself (here: unreachable, try later), so front-ends map it as such.
    with pytest.raises(HappyFollowerConnectionError, match="try again later"):
        await place(guard, 100)
    assert order_posts(simulator) == 0
    await place(guard, 100)  # a failed read is not cached


async def test_quote_reserves_nothing_and_shows_fixed_lines(
    client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, unit_prices={10: 2})
    quote = await guard.quote(validate_order("۱۰", f" {LINK} ", "100"))
    assert (quote.order.service_id, quote.order.link, quote.order.count) == (10, LINK, 100)
    assert quote.service_name == "لایک ایرانی(سرعت متوسط)"
    assert (quote.cost_bound, quote.sandbox, quote.possible_duplicate) == (200, False, None)
    assert quote.confirmation_lines("live  Service:\u200b 1") == [
        "Place this Happy Follower order? (live Service: 1)",
        "Service: 10 - لایک ایرانی(سرعت متوسط)",
        f"Link: {LINK}",
        "Count: 100",
        "Cost: at most 200 (operator's price per unit)",
    ]
    # In the credit's unit when the front-end knows it (a hostile one made safe).
    assert quote.confirmation_lines("live", "Toman")[-1] == (
        "Cost: at most 200 Toman (operator's price per unit)"
    )
    assert quote.confirmation_lines("live", "\u202eIRR\n")[-1].startswith("Cost: at most 200 IRR (")
    unpriced = await guard.quote(validate_order(11, LINK, 100))
    assert unpriced.confirmation_lines("sandbox", "Toman")[-1] == (
        "Cost: unknown until placed (no price is known for this service)"
    )
    assert file_bytes(ledger_path) == b""
    assert guard.usage() == Usage(0, 0, 0, 0)


async def test_a_refusal_while_preparing_an_order_is_audited(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, max_count_per_order=5)
    with pytest.raises(HappyFollowerSpendCapError) as caught:
        await guard.prepare_order(10, LINK, 6)
    with pytest.raises(HappyFollowerInputError) as bad_link:
        await guard.prepare_order(10, "https://evil.example/", 5, confirmed_by="a person")
    assert caught.value.nothing_sent
    assert bad_link.value.nothing_sent
    assert events(ledger_path) == ["refused", "refused"]
    refused, invalid = read_lines(ledger_path)
    assert (refused["service_id"], refused["link"], refused["count"]) == (10, LINK, 6)
    assert refused["reason"] == str(caught.value)
    assert (invalid["service_id"], invalid["count"], invalid["confirmed_by"]) == (10, 5, "a person")
    assert order_posts(simulator) == 0


async def test_quote_only_prices_it_writes_nothing(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """Pricing is pure: a quote, its refusal and its bad input leave the ledger as it was."""
    guard = make_guard(client, ledger_path, clock, max_count_per_order=5, unit_prices={10: 2})
    await guard.open()
    before = file_bytes(ledger_path)
    quote = await guard.quote(validate_order(10, LINK, 5))
    assert (quote.cost_bound, quote.order.count) == (10, 5)
    with pytest.raises(HappyFollowerSpendCapError):
        await guard.quote(validate_order(10, LINK, 6))
    with pytest.raises(HappyFollowerInputError):
        await guard.quote(validate_order(10, "https://evil.example/", 5))
    assert file_bytes(ledger_path) == before
    assert order_posts(simulator) == 0


async def test_placing_a_quote_sends_exactly_what_was_priced(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """The quote's order is placed as it is: its link as the input policy wrote it, its
    count and service, with no second reading of the input."""
    guard = make_guard(client, ledger_path, clock)
    quote = await guard.prepare_order("۱۰", " https://instagram.com/MehdiFeizi?igsh=x ", "۱۰۰")
    placed = await guard.place_order(quote, confirmed_by="tests")
    assert (placed.service_id, placed.link, placed.count) == (10, LINK, 100)
    (sent,) = simulator.orders(api_key)
    assert (sent.service_id, sent.link, sent.count) == (10, LINK, 100)


async def test_hostile_service_name_cannot_draw_lines(ledger_path: Path, clock: Clock) -> None:
    evil = "Likes\nLink: https://evil.example\u202e\u200b\x00 " + "x" * 200
    async with Simulator(services=[SimulatedService(10, evil, 2.0)]) as sim:
        key = sim.add_account()
        async with HappyFollowerClient(key, base_url=sim.base_url, retry_backoff=0) as client:
            guard = make_guard(client, ledger_path, clock)
            lines = (await guard.quote(validate_order(10, LINK, 100))).confirmation_lines("live")
    assert len(lines) == 5
    assert all("\n" not in line and "\u202e" not in line and "\x00" not in line for line in lines)
    assert lines[1].startswith("Service: 10 - Likes")
    assert "https://evil.example xxx" in lines[1]
    assert lines[1].endswith("…")
    assert lines[2] == f"Link: {LINK}"


async def test_extra_link_hosts(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = SpendGuard(
        client, Ledger(ledger_path), source="t", link_hosts=["example.org"], clock=clock
    )
    assert guard.link_hosts == ("example.org",)
    assert guard.caps is DEFAULT_CAPS
    await place(guard, link="https://www.example.org/p", confirmed_by="t")
    with pytest.raises(HappyFollowerInputError):
        await place(guard, confirmed_by="t")


# --- interrupted attempts ----------------------------------------------------------------


async def test_open_reports_interrupted_attempts(
    client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    def attempt(name: str, process: str, **fields: Any) -> Any:
        return record(
            AuditEvent.ATTEMPT,
            attempt_id=name,
            service_id=10,
            link=LINK,
            count=100,
            cost_bound=250,
            confirmed_by="--yes",
            process=process,
            **fields,
        )

    host = socket.gethostname()
    stale_at = START - STALE_ATTEMPT - STALE_ATTEMPT / 1000
    old = [
        attempt("dead", dead_process()),
        attempt("stale", "elsewhere:1", at=stale_at),
        attempt("just-not-stale", "elsewhere:1", at=START - STALE_ATTEMPT),
        attempt("alive", this_process()),
        attempt("other-host", "elsewhere:1"),
        attempt("no-pid", f"{host}:x"),
        attempt("no-process", ""),
        attempt("sandbox-dead", dead_process(), sandbox=True),
        attempt("finished", dead_process()),
        record(AuditEvent.PLACED, attempt_id="finished", order_id=3),
    ]
    Ledger(ledger_path).transact(lambda _old: old)
    guard = make_guard(client, ledger_path, clock, max_orders_per_day=20)

    interrupted = await guard.open()

    assert [r.attempt_id for r in interrupted] == ["dead", "stale", "sandbox-dead"]
    new = read_lines(ledger_path)[len(old) :]
    assert [(line["event"], line["attempt_id"]) for line in new] == [
        ("outcome_unknown", "dead"),
        ("outcome_unknown", "stale"),
        ("outcome_unknown", "sandbox-dead"),
    ]
    for line in new:
        assert (line["service_id"], line["link"], line["count"]) == (10, LINK, 100)
        assert line["reason"] == "interrupted: the process stopped while the order was being sent"
        assert line["source"] == "tests"
    assert [line["sandbox"] for line in new] == [False, False, True]
    assert guard.usage() == Usage(orders=8, spent=0, reserved=8 * 250, unbounded=0)
    assert await make_guard(client, ledger_path, clock).open() == []


# --- several callers -------------------------------------------------------------------


async def test_twenty_five_concurrent_orders_against_a_cap(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    simulator.latency = 0.002  # let the calls interleave
    guard = make_guard(client, ledger_path, clock, max_orders_per_day=5)
    results = await asyncio.gather(
        *(place(guard, 10 + n) for n in range(25)), return_exceptions=True
    )
    placed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, HappyFollowerSpendCapError)]
    assert (len(placed), len(refused)) == (5, 20)
    assert len(simulator.orders(api_key)) == 5
    assert order_posts(simulator) == 5


async def test_two_guards_on_one_file_never_pass_a_cap_together(
    simulator: Simulator,
    api_key: str,
    client: HappyFollowerClient,
    second_client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
) -> None:
    simulator.latency = 0.002
    caps = {"max_orders_per_day": 6, "max_spend_per_day": 1000, "unit_prices": {10: 2}}
    first = make_guard(client, ledger_path, clock, **caps)
    second = make_guard(second_client, ledger_path, clock, **caps)
    results = await asyncio.gather(
        *(place(guard, 100 + n) for n in range(12) for guard in (first, second)),
        return_exceptions=True,
    )
    placed = [r for r in results if not isinstance(r, BaseException)]
    assert all(isinstance(r, HappyFollowerSpendCapError) for r in results if r not in placed)
    charged = 100_000 - simulator.credit(api_key)
    assert charged <= 1000
    # 4 x ~200 fit under 1000, fewer when an order's credit drop took in the other
    # process's order (the estimate only ever raises a count, and then holds the service).
    assert 2 <= len(placed) == len(simulator.orders(api_key)) <= 4
    await first.refresh()
    await second.refresh()
    assert first.usage() == second.usage()
    assert first.usage().spent == charged


async def test_sandbox_and_live_are_counted_apart(
    simulator: Simulator,
    api_key: str,
    client: HappyFollowerClient,
    sandbox_client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
) -> None:
    live = make_guard(client, ledger_path, clock, max_orders_per_day=2)
    sandbox = make_guard(sandbox_client, ledger_path, clock, max_orders_per_day=2)
    for guard in (live, sandbox, live, sandbox):
        await place(guard, 100)
    for guard in (live, sandbox):
        with pytest.raises(HappyFollowerSpendCapError):
            await place(guard, 100)
    assert len(simulator.orders(api_key)) == 2
    assert len(simulator.orders(api_key, sandbox=True)) == 2
    assert [o.sandbox for o in sandbox.orders()] == [True, True]
    await live.refresh()
    assert [o.sandbox for o in live.orders()] == [False, False]
    assert live.usage() == sandbox.usage() == Usage(2, 400, 0, 0)


async def test_orders_lists_attempts_newest_first(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock, unit_prices={10: 3})
    await place(guard, 100, confirmed_by="first")
    clock.advance(minutes=1)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await place(guard, 50)
    clock.advance(minutes=1)
    with pytest.raises(HappyFollowerApiError):
        await place(guard, 5)
    newest, unknown, oldest = guard.orders()
    assert (newest.outcome, unknown.outcome, oldest.outcome) == (
        "failed",
        "outcome_unknown",
        "placed",
    )
    assert (oldest.order_id, oldest.cost, oldest.cost_bound, oldest.count) == (1, 200, 300, 100)
    assert (oldest.service_id, oldest.link, oldest.confirmed_by) == (10, LINK, "first")
    assert (oldest.source, oldest.sandbox, oldest.at) == ("tests", False, START)
    assert oldest.attempt_id == guard.records[0].attempt_id
    assert (unknown.order_id, unknown.cost, unknown.cost_bound) == (None, None, 150)
    assert [o.outcome for o in guard.orders(limit=1)] == ["failed"]


async def test_legacy_lines_without_attempt_ids_still_count(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    legacy = [
        record(
            AuditEvent.PLACED,
            at=START.replace(hour=11),
            order_id=1,
            service_id=10,
            count=100,
            cost=None,
            link=LINK,
        ),
        record(AuditEvent.COST, order_id=1, cost=200),
        record(AuditEvent.PLACED, order_id=2, service_id=10, count=100, cost=150, link=LINK),
        record(AuditEvent.PLACED, order_id=7, sandbox=True, cost=5),
        record(AuditEvent.COST, order_id=2, sandbox=True, cost=999),  # another environment
        record(AuditEvent.PLACED, at=START.replace(day=20, hour=11), order_id=9, cost=50),
        record(AuditEvent.FAILED, service_id=10, count=100),
        record(AuditEvent.REFUSED, service_id=10, count=100),
    ]
    Ledger(ledger_path).transact(lambda _old: legacy)
    guard = make_guard(client, ledger_path, clock, max_orders_per_day=3)
    assert await guard.open() == []
    assert guard.usage() == Usage(orders=2, spent=350, reserved=0, unbounded=0)
    assert [o.order_id for o in guard.orders()] == [2, None, 1, 9]  # newest first, ties kept
    await place(guard, 100)
    with pytest.raises(HappyFollowerSpendCapError):
        await place(guard, 100)
    assert order_posts(simulator) == 1


async def test_legacy_unknown_outcome_blocks_a_spend_cap(
    client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    Ledger(ledger_path).transact(
        lambda _old: [record(AuditEvent.OUTCOME_UNKNOWN, service_id=10, count=100, link=LINK)]
    )
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=100, unit_prices={10: 0.5})
    await guard.refresh()
    assert guard.usage() == Usage(orders=1, spent=0, reserved=0, unbounded=1)
    with pytest.raises(HappyFollowerSpendCapError) as caught:
        await place(guard, 10)
    assert caught.value.cap == "cost_unknown"


async def test_errors_leave_no_secret_in_the_ledger(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = make_guard(client, ledger_path, clock)
    simulator.inject("order", Fault.ERROR_MESSAGE, message=f"bad key {api_key}")
    with pytest.raises(HappyFollowerApiError):
        await place(guard, 100)
    await place(guard, 100)
    text = file_bytes(ledger_path).decode()
    assert api_key not in text
    for request in simulator.requests:
        assert request.headers["Authorization"].removeprefix("Bearer ") not in text


async def test_guard_logs_nothing_secret(
    simulator: Simulator,
    api_key: str,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 2})
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    await place(guard, 100)
    assert api_key not in caplog.text


async def test_orders_default_limit_pending_and_legacy_keys(
    client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    legacy = [
        record(AuditEvent.PLACED, order_id=n, at=START - timedelta(minutes=n)) for n in range(1, 22)
    ]
    pending = record(
        AuditEvent.ATTEMPT,
        attempt_id="pending-one",
        service_id=10,
        link=LINK,
        count=100,
        process="elsewhere:1",
    )
    Ledger(ledger_path).transact(lambda _old: [*legacy, pending])
    guard = make_guard(client, ledger_path, clock)
    await guard.refresh()
    listed = guard.orders()
    assert len(listed) == 20
    assert (listed[0].attempt_id, listed[0].outcome, listed[0].order_id) == (
        "pending-one",
        "pending",
        None,
    )
    assert (listed[1].attempt_id, listed[1].outcome, listed[1].order_id) == ("line-0", "placed", 1)
    assert len(guard.orders(limit=100)) == 22


async def test_an_unexpected_error_while_sending_is_an_unknown_outcome(
    simulator: Simulator, api_key: str, clock: Clock, ledger_path: Path
) -> None:
    session = aiohttp.ClientSession()
    client = HappyFollowerClient(api_key, base_url=simulator.base_url, session=session)
    guard = make_guard(client, ledger_path, clock)
    await guard.quote(validate_order(10, LINK, 100))  # the token and the services list, read once
    await session.close()  # e.g. Home Assistant stopping
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError) as caught:
        await place(guard, 100)
    assert str(caught.value) == (
        "The order was being sent when something went wrong here (RuntimeError): it may or may "
        "not have been placed. Do not order again before checking the credit and the recent "
        "orders."
    )
    assert isinstance(caught.value.__cause__, RuntimeError)
    attempt, unknown = read_lines(ledger_path)
    assert unknown["event"] == "outcome_unknown"
    assert unknown["attempt_id"] == attempt["attempt_id"]
    assert unknown["reason"] == "interrupted while sending (RuntimeError)"
    assert (unknown["service_id"], unknown["link"], unknown["count"]) == (10, LINK, 100)


async def test_warnings_name_the_order_and_the_cause(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 3})
    simulator.inject("credit", Fault.SLOW, delay=0)
    simulator.inject("credit", Fault.SERVER_ERROR_HTML, times=3)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    await place(guard, 100)
    assert [r.getMessage() for r in caplog.records if r.name == "shared_client.guard"] == [
        "Order 1 placed; its status could not be read: Happy Follower is unavailable "
        "(HTTP 502, /status/1/); try again later",
        "Order 1 placed; its cost is not known yet: Happy Follower is unavailable "
        "(HTTP 502, /credit/); try again later",
    ]


async def test_an_outcome_that_cannot_be_written_is_logged_with_its_order(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    read_only: ReadOnly,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = make_guard(client, ledger_path, clock)
    simulator.inject("order", Fault.SLOW, delay=0.3)
    task = asyncio.create_task(place(guard, 100))
    await simulator.wait_until_held("order")
    read_only(ledger_path)
    simulator.advance(0.3)  # the held answer goes out
    await task
    (logged,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    attempt_id = guard.records[0].attempt_id
    assert logged.getMessage().startswith(
        f"Order attempt {attempt_id}: its outcome (placed, order 1) could not be written; it "
        f"keeps counting at its bound: The audit ledger {ledger_path} cannot be used"
    )


async def test_estimate_of_a_cheap_order_from_the_credit(ledger_path: Path, clock: Clock) -> None:
    async with Simulator(services=[SimulatedService(10, "cheap", 0.005)]) as sim:
        key = sim.add_account(credit=1000)
        async with HappyFollowerClient(key, base_url=sim.base_url, retry_backoff=0) as client:
            caps = {"max_spend_per_day": 100, "unit_prices": {10: 0.01}}
            guard = make_guard(client, ledger_path, clock, **caps)
            sim.inject("status", Fault.SERVER_ERROR_HTML, times=3)
            placed = await place(guard, 100)
    assert (placed.cost, placed.estimated_cost) == (None, 0.5)
    assert guard.usage() == Usage(orders=1, spent=0, reserved=1.0, unbounded=0)


@pytest.mark.parametrize("appended", ["two orders", "the same order, outcome unknown"])
async def test_lines_appended_while_checking_are_counted(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    appended: str,
) -> None:
    """What another process appends after this guard's first read, while it reads the
    credit, is counted by the check made under the lock."""
    caps = {"max_orders_per_day": 2, "max_spend_per_day": 10_000, "unit_prices": {10: 2}}
    guard = make_guard(client, ledger_path, clock, **caps)
    await guard.quote(validate_order(10, LINK, 100))  # the services list, read once
    simulator.requests.clear()
    simulator.inject("credit", Fault.SLOW, delay=0.3)
    task = asyncio.create_task(place(guard, 100))
    await simulator.wait_until_held("credit")
    if appended == "two orders":
        lines = [
            record(AuditEvent.PLACED, order_id=n, service_id=10, count=10, cost=20) for n in (8, 9)
        ]
    else:
        fields: dict[str, Any] = {"attempt_id": "other", "service_id": 10, "link": LINK}
        lines = [
            record(AuditEvent.ATTEMPT, count=100, cost_bound=200, process="elsewhere:1", **fields),
            record(AuditEvent.OUTCOME_UNKNOWN, count=100, **fields),
        ]
    Ledger(ledger_path).transact(lambda _old: lines)
    simulator.advance(0.3)  # the held credit answer goes out
    with pytest.raises(HappyFollowerSpendCapError) as caught:
        await task
    assert caught.value.cap == (
        "max_orders_per_day" if appended == "two orders" else "possible_duplicate"
    )
    assert order_posts(simulator) == 0


@pytest.mark.parametrize(
    ("bound", "estimate", "reserved"),
    [(None, 0.5, 0.5), (0.5, None, 0.5), (0.3, 0.5, 0.5), (0.5, 0.3, 0.5)],
)
async def test_an_order_counts_at_its_bound_or_its_estimate_whichever_is_larger(
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    bound: float | None,
    estimate: float | None,
    reserved: float,
) -> None:
    fields: dict[str, Any] = {"attempt_id": "a", "service_id": 10, "link": LINK, "count": 1}
    lines = [
        record(AuditEvent.ATTEMPT, cost_bound=bound, **fields),
        record(AuditEvent.PLACED, order_id=1, cost_estimate=estimate, **fields),
    ]
    Ledger(ledger_path).transact(lambda _old: lines)
    guard = make_guard(client, ledger_path, clock)
    await guard.refresh()
    assert guard.usage() == Usage(orders=1, spent=0, reserved=reserved, unbounded=0)


async def test_an_underpriced_order_counts_at_its_estimate(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """The operator's price is too low (1 instead of 2): when the status cannot be read, the
    credit's difference (200) counts, not the bound (100)."""
    guard = make_guard(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 1})
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await place(guard, 100)
    assert (placed.cost, placed.estimated_cost) == (None, 200)
    assert guard.usage() == Usage(orders=1, spent=0, reserved=200, unbounded=0)


async def test_cost_lines_find_their_order_by_attempt_or_by_order_id(
    client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    fields: dict[str, Any] = {"service_id": 10, "link": LINK, "count": 100}
    lines = [
        # An attempt whose cost line names it but no order id.
        record(AuditEvent.ATTEMPT, attempt_id="a", cost_bound=300, **fields),
        record(AuditEvent.OUTCOME_UNKNOWN, attempt_id="a", **fields),
        record(AuditEvent.COST, attempt_id="a", cost=150),
        # A legacy order, and a legacy cost line of no order: it settles nothing.
        record(AuditEvent.PLACED, order_id=1, **fields),
        record(AuditEvent.COST, cost=999),
    ]
    Ledger(ledger_path).transact(lambda _old: lines)
    guard = make_guard(client, ledger_path, clock)
    await guard.refresh()
    assert guard.usage() == Usage(orders=2, spent=150, reserved=150, unbounded=1)


class _ReadThatLags(Ledger):
    """A ledger whose next read takes its lines, then waits before returning them: the
    read of a refresh that began before a cost was written and ends after it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.lagging = False
        self.read_taken = threading.Event()
        self.may_return = threading.Event()

    def read(self) -> list[AuditRecord]:
        lines = super().read()
        if self.lagging:
            self.lagging = False
            self.read_taken.set()
            self.may_return.wait(10)
        return lines


async def test_a_slow_read_never_replaces_what_a_later_write_saw(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """A periodic refresh (HA's spend sensor) and a status read's cost at the same moment:
    the guard's view of the ledger ends with the cost, whatever finishes first."""
    ledger = _ReadThatLags(ledger_path)
    guard = SpendGuard(
        client,
        ledger,
        SpendCaps(max_spend_per_day=1000, unit_prices={10: 3}),
        source="tests",
        clock=clock,
    )
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await place(guard, 100)
    ledger.lagging = True
    refresh = asyncio.create_task(guard.refresh())
    await asyncio.to_thread(ledger.read_taken.wait, 10)
    settle = asyncio.create_task(guard.settle_cost(placed.order_id, 200))
    await asyncio.sleep(0.05)  # the write goes first when nothing orders them
    ledger.may_return.set()
    await asyncio.gather(refresh, settle)
    assert guard.usage() == Usage(orders=1, spent=200, reserved=100, unbounded=0)
