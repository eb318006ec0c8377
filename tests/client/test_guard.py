"""SpendGuard: caps over a rolling 24 hours, one order at a time, an audit trail."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared_client import (
    HappyFollowerApiError,
    HappyFollowerClient,
    HappyFollowerInputError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerOrderOutcomeUnknownError,
)
from shared_client.errors import HappyFollowerSpendCapError
from shared_client.guard import (
    AuditEvent,
    AuditRecord,
    JsonlAuditLedger,
    SpendCaps,
    SpendGuard,
)
from shared_client.simulator import Fault, Simulator
from shared_client.validation import OrderRequest

LINK = "https://www.instagram.com/mehdifeizi"
START = datetime(2026, 3, 21, 12, 0, tzinfo=UTC)  # Nowruz, noon


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def guard_with(clock: Clock, **caps: Any) -> SpendGuard:
    return SpendGuard(SpendCaps(**caps), source="tests", clock=clock)


def order_posts(sim: Simulator) -> int:
    return sum(r.endpoint == "order" for r in sim.requests)


async def test_no_caps_places_and_learns_the_cost(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock)
    placed = await guard.place_order(client, service_id="۱۰", link=LINK, count=100)
    assert (placed.order_id, placed.service_id, placed.link, placed.count) == (1, 10, LINK, 100)
    assert placed.cost == 200
    (record,) = guard.records
    assert record.event is AuditEvent.PLACED
    assert (record.order_id, record.cost, record.count, record.source) == (1, 200, 100, "tests")
    assert record.at == START
    assert record.sandbox is False
    assert guard.orders_in_window() == 1
    assert guard.spent_in_window() == 200


async def test_count_cap_refuses_before_sending(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock, max_count_per_order=500)
    await guard.place_order(client, service_id=10, link=LINK, count=500)
    simulator.requests.clear()
    with pytest.raises(HappyFollowerSpendCapError) as caught:
        await guard.place_order(client, service_id=10, link=LINK, count=501)
    assert caught.value.cap == "max_count_per_order"
    assert simulator.requests == []
    refused = guard.records[-1]
    assert refused.event is AuditEvent.REFUSED
    assert (refused.service_id, refused.count, refused.link) == (10, 501, LINK)
    assert refused.reason is not None
    assert "501" in refused.reason
    assert guard.orders_in_window() == 1


async def test_orders_per_day_over_a_rolling_window(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock, max_orders_per_day=2)
    await guard.place_order(client, service_id=10, link=LINK, count=10)
    clock.advance(hours=12)
    await guard.place_order(client, service_id=10, link=LINK, count=10)
    clock.advance(hours=11, minutes=59)
    with pytest.raises(HappyFollowerSpendCapError) as caught:
        await guard.place_order(client, service_id=10, link=LINK, count=10)
    assert caught.value.cap == "max_orders_per_day"
    clock.advance(minutes=1, seconds=1)  # the first order is now over 24 hours old
    await guard.place_order(client, service_id=10, link=LINK, count=10)
    with pytest.raises(HappyFollowerSpendCapError):
        await guard.place_order(client, service_id=10, link=LINK, count=10)
    assert order_posts(simulator) == 3
    assert [r.event for r in guard.records] == [
        AuditEvent.PLACED,
        AuditEvent.PLACED,
        AuditEvent.REFUSED,
        AuditEvent.PLACED,
        AuditEvent.REFUSED,
    ]


async def test_history_counts_after_a_restart(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock
) -> None:
    def old(event: AuditEvent, hours_ago: float) -> AuditRecord:
        return AuditRecord(
            at=START - timedelta(hours=hours_ago), event=event, source="before", sandbox=False
        )

    history = [
        old(AuditEvent.PLACED, 25),  # outside the window
        old(AuditEvent.PLACED, 23),
        old(AuditEvent.OUTCOME_UNKNOWN, 2),  # counted: it may have been placed
        old(AuditEvent.FAILED, 1),  # not counted
        old(AuditEvent.REFUSED, 1),  # not counted
    ]
    guard = SpendGuard(SpendCaps(max_orders_per_day=3), source="t", history=history, clock=clock)
    assert guard.orders_in_window() == 2
    await guard.place_order(client, service_id=10, link=LINK, count=10)
    with pytest.raises(HappyFollowerSpendCapError):
        await guard.place_order(client, service_id=10, link=LINK, count=10)
    assert order_posts(simulator) == 1


async def test_spend_per_day_uses_the_estimated_cost(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock, max_spend_per_day=500)
    # No price known yet for service 10: the first order is allowed.
    first = await guard.place_order(client, service_id=10, link=LINK, count=100)
    assert first.cost == 200
    assert guard.estimated_cost(OrderRequest(10, LINK, 150)) == 300
    await guard.place_order(client, service_id=10, link=LINK, count=150)  # 200 + 300 = 500
    assert guard.spent_in_window() == 500
    simulator.requests.clear()
    with pytest.raises(HappyFollowerSpendCapError) as caught:
        await guard.place_order(client, service_id=10, link=LINK, count=10)
    assert caught.value.cap == "max_spend_per_day"
    # Even an order of a service never priced is refused once the cap is reached.
    with pytest.raises(HappyFollowerSpendCapError):
        await guard.place_order(client, service_id=20, link=LINK, count=50)
    assert simulator.requests == []
    clock.advance(hours=24, seconds=1)
    await guard.place_order(client, service_id=10, link=LINK, count=10)


async def test_estimate_blocks_an_order_that_would_cross_the_cap(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock, max_spend_per_day=500)
    await guard.place_order(client, service_id=10, link=LINK, count=100)  # 200
    with pytest.raises(HappyFollowerSpendCapError, match="about 400"):
        await guard.place_order(client, service_id=10, link=LINK, count=200)  # +400
    await guard.place_order(client, service_id=10, link=LINK, count=150)  # +300 = 500


async def test_twenty_concurrent_orders_never_exceed_the_daily_cap(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock
) -> None:
    simulator.latency = 0.005  # let the calls interleave
    guard = guard_with(clock, max_orders_per_day=5)

    results = await asyncio.gather(
        *(guard.place_order(client, service_id=10, link=LINK, count=10) for _ in range(20)),
        return_exceptions=True,
    )

    placed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, HappyFollowerSpendCapError)]
    assert len(placed) == 5
    assert len(refused) == 15
    assert len(simulator.orders(api_key)) == 5
    assert order_posts(simulator) == 5
    assert sorted(p.order_id for p in placed) == [1, 2, 3, 4, 5]
    events = [r.event for r in guard.records]
    assert events.count(AuditEvent.PLACED) == 5
    assert events.count(AuditEvent.REFUSED) == 15


async def test_audit_of_every_outcome(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock)
    with pytest.raises(HappyFollowerInputError):
        await guard.place_order(client, service_id=10, link="instagram.com/x", count=100)
    simulator.set_credit(api_key, 0)
    with pytest.raises(HappyFollowerNotEnoughCreditError):
        await guard.place_order(client, service_id=10, link=LINK, count=100)
    simulator.set_credit(api_key, 100_000)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await guard.place_order(client, service_id=10, link=LINK, count=100)
    await guard.place_order(client, service_id=10, link=LINK, count=100)

    refused, failed, unknown, placed = guard.records
    assert refused.event is AuditEvent.REFUSED
    assert (refused.service_id, refused.link, refused.count) == (10, "instagram.com/x", 100)
    assert refused.reason is not None
    assert "link" in refused.reason
    assert failed.event is AuditEvent.FAILED
    assert failed.reason is not None
    assert "اعتبار" in failed.reason
    assert unknown.event is AuditEvent.OUTCOME_UNKNOWN
    assert (unknown.order_id, unknown.count) == (None, 100)
    assert placed.event is AuditEvent.PLACED
    assert placed.order_id == 2  # the unknown one did land as order 1
    assert guard.orders_in_window() == 2
    assert order_posts(simulator) == 3


async def test_refused_raw_input_is_kept_only_when_well_formed(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock)
    bad: Any = {"x": 1}
    with pytest.raises(HappyFollowerInputError):
        await guard.place_order(client, service_id=bad, link="x" * 500, count=True)
    (record,) = guard.records
    assert (record.service_id, record.count) == (None, None)
    assert record.link == "x" * 200
    assert simulator.requests == []


async def test_placed_order_whose_status_cannot_be_read(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = guard_with(clock, max_spend_per_day=1000)
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)
    placed = await guard.place_order(client, service_id=10, link=LINK, count=100)
    assert placed.cost is None
    assert guard.records[-1].event is AuditEvent.PLACED
    assert "cost could not be read" in caplog.text
    assert order_posts(simulator) == 1


async def test_api_error_is_failed_and_not_counted(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock, max_orders_per_day=1)
    with pytest.raises(HappyFollowerApiError):
        await guard.place_order(client, service_id=99, link=LINK, count=100)
    assert guard.records[-1].event is AuditEvent.FAILED
    assert guard.orders_in_window() == 0
    await guard.place_order(client, service_id=10, link=LINK, count=100)


async def test_sandbox_is_recorded(
    simulator: Simulator, sandbox_client: HappyFollowerClient, clock: Clock
) -> None:
    guard = guard_with(clock)
    await guard.place_order(sandbox_client, service_id=10, link=LINK, count=100)
    assert guard.records[-1].sandbox is True


async def test_jsonl_ledger_round_trip(
    simulator: Simulator,
    api_key: str,
    client: HappyFollowerClient,
    clock: Clock,
    tmp_path: Path,
) -> None:
    ledger = JsonlAuditLedger(tmp_path / "audit" / "orders.jsonl")
    assert ledger.load() == []
    guard = SpendGuard(
        SpendCaps(max_orders_per_day=2), source="tests", record=ledger.append_async, clock=clock
    )
    await guard.place_order(client, service_id=10, link=LINK, count=100)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await guard.place_order(client, service_id=10, link=LINK, count=100)
    with pytest.raises(HappyFollowerSpendCapError):
        await guard.place_order(client, service_id=10, link=LINK, count=100)

    loaded = ledger.load()
    assert loaded == guard.records
    assert len(loaded) == 3
    text = ledger.path.read_text(encoding="utf-8")
    assert api_key not in text
    for request in simulator.requests:
        assert request.headers["Authorization"].removeprefix("Bearer ") not in text

    # After a restart, the cap still holds.
    restarted = SpendGuard(
        SpendCaps(max_orders_per_day=2), source="tests", history=loaded, clock=clock
    )
    with pytest.raises(HappyFollowerSpendCapError):
        await restarted.place_order(client, service_id=10, link=LINK, count=100)


def test_jsonl_ledger_skips_damaged_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ledger = JsonlAuditLedger(tmp_path / "orders.jsonl")
    good = AuditRecord(at=START, event=AuditEvent.PLACED, source="t", sandbox=False, order_id=7)
    ledger.append(good)
    with ledger.path.open("a", encoding="utf-8") as file:
        file.write('{"at": "2026-03-21T12:00:00Z", "event": "plac\n')  # cut off by a crash
        file.write("\n")
        file.write('{"event": "unheard-of"}\n')
    ledger.append(good.model_copy(update={"order_id": 8}))

    with caplog.at_level(logging.WARNING):
        loaded = ledger.load()

    assert [r.order_id for r in loaded] == [7, 8]
    assert "damaged line 2" in caplog.text
    assert "damaged line 4" in caplog.text
