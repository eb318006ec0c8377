"""The spend guard's flow around an order, on the simulator over loopback: what the ledger,
the log and the refusals say when the vendor charges above an order's bound (whoever tells
it: the first status or a later one), what a later lower status writes, the price a person
confirms, an order refused because its cost changed, the history with its archive, and how
long the services list is trusted.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from shared_client import HappyFollowerClient, HappyFollowerInputError, HappyFollowerSpendCapError
from shared_client import ledger_view as guard_module
from shared_client.errors import Refusal
from shared_client.guard import SERVICES_TTL, AuditEvent, Ledger, SpendCaps, SpendGuard, Usage
from shared_client.simulator import Dialect, SimulatedService, Simulator, StatusCost
from shared_client.validation import validate_order

from .guard_support import LINK, Clock, file_bytes, read_lines, record

POST = "https://www.instagram.com/p/DAbc123xyz/"


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "orders.jsonl"


def guard_of(client: HappyFollowerClient, path: Path, **caps: Any) -> SpendGuard:
    return SpendGuard(client, Ledger(path), SpendCaps(**caps), source="tests", clock=Clock())


async def place(guard: SpendGuard, count: int, service_id: int = 10, link: str = LINK) -> Any:
    quote = await guard.prepare_order(service_id, link, count, confirmed_by="tests")
    return await guard.place_order(quote, confirmed_by="tests")


def lines(path: Path, event: AuditEvent) -> list[dict[str, Any]]:
    return [line for line in read_lines(path) if line["event"] == event.value]


def guard_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shared_client.guard"]


# --- a charge above the bound ----------------------------------------------------------


async def test_a_first_status_above_the_bound_holds_the_service_without_a_spend_cap(
    simulator: Simulator,
    client: HappyFollowerClient,
    ledger_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No spend cap: the credit is not read around the order, so the status's cost alone
    (500 for a bound of 100) must count at once and stop the service's orders."""
    simulator.set_unit_price(10, 10.0)
    guard = guard_of(client, ledger_path, unit_prices={10: 2})
    placed = await place(guard, 50)
    assert (placed.cost, placed.estimated_cost, placed.cost_bound) == (500, None, 100)
    assert placed.anomaly == "the service charged 500, above the order's bound of 100"
    # It counts at what it cost: nothing is reserved on top, nothing taken off.
    assert guard.usage() == Usage(orders=1, spent=500, reserved=0, unbounded=0)
    assert guard.held_services() == {10: 10.0}
    order_id = placed.order_id
    assert guard_log(caplog) == [
        f"Order {order_id} cost 500, above its bound of 100: orders of service 10 stop until "
        "a person confirms its new price",
        f"Order {order_id}: the service charged 500, above the order's bound of 100",
    ]
    (hold,) = lines(ledger_path, AuditEvent.PRICE_HOLD)
    assert (hold["service_id"], hold["order_id"], hold["unit_price"]) == (10, order_id, 10.0)
    assert (hold["link"], hold["count"]) == (None, None)
    assert hold["reason"] == f"order {order_id} cost 500, above its bound of 100"
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(guard, 10)
    assert refused.value.cap is Refusal.PRICE_CHANGED
    assert str(refused.value) == (
        f"service 10 charged 10 per unit (order {order_id} cost 500, above its bound of 100), "
        "more than the price that bounded the order: its orders are stopped until a person "
        "confirms the service's price per unit (set it, or confirm the price it charged)"
    )
    assert refused.value.amounts == {"service_id": 10, "unit_price": 10.0}


async def test_a_one_unit_order_charged_above_its_bound_holds_the_service(
    ledger_path: Path,
) -> None:
    service = SimulatedService(40, "comment", 5.0, min_count=1)
    async with Simulator(services=[service]) as sim:
        key = sim.add_account()
        async with HappyFollowerClient(key, base_url=sim.base_url, retry_backoff=0) as client:
            guard = guard_of(client, ledger_path, unit_prices={40: 2})
            placed = await place(guard, 1, service_id=40)
            assert (placed.cost, placed.cost_bound) == (5, 2)
            assert guard.held_services() == {40: 5.0}
            with pytest.raises(HappyFollowerSpendCapError) as refused:
                await place(guard, 1, service_id=40)
    assert refused.value.cap is Refusal.PRICE_CHANGED
    assert len(sim.orders(key)) == 1


@pytest.mark.parametrize("status_cost", [StatusCost.TOTAL, StatusCost.MISSING, StatusCost.ZERO])
async def test_a_cheap_order_at_its_bound_holds_nothing(
    ledger_path: Path, status_cost: StatusCost
) -> None:
    """A bound below 1 (100 views at 0.004): a status that gives the bound, or no usable
    cost, stops nothing; without a spend cap there is no credit drop to go by."""
    service = SimulatedService(30, "views", 0.004, min_count=100)
    async with Simulator(services=[service], dialect=Dialect(status_cost=status_cost)) as sim:
        key = sim.add_account()
        async with HappyFollowerClient(key, base_url=sim.base_url, retry_backoff=0) as client:
            guard = guard_of(client, ledger_path, unit_prices={30: 0.004})
            first = await place(guard, 100, service_id=30)
            assert first.cost_bound == pytest.approx(0.4)
            assert guard.held_services() == {}
            await place(guard, 100, service_id=30)  # not stopped
    assert len(sim.orders(key)) == 2
    assert lines(ledger_path, AuditEvent.PRICE_HOLD) == []


# --- later status reads ----------------------------------------------------------------


async def test_a_later_status_above_the_bound_holds_and_names_its_order(
    simulator: Simulator,
    client: HappyFollowerClient,
    ledger_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.dialect = Dialect(status_cost=StatusCost.LATE)
    simulator.set_unit_price(10, 4.0)
    guard = guard_of(client, ledger_path, unit_prices={10: 2})
    placed = await place(guard, 100)  # bound 200; its first status has no cost
    caplog.clear()
    anomaly = (await guard.settle_cost(placed.order_id, 400.0)).anomaly
    assert anomaly == "the service charged 400, above the order's bound of 200"
    order_id = placed.order_id
    assert guard_log(caplog) == [
        f"Order {order_id} cost 400, above its bound of 200: orders of service 10 stop until "
        "a person confirms its new price"
    ]
    assert guard.price_offer(10) == (4.0, f"charged per unit by order {order_id}")
    (hold,) = lines(ledger_path, AuditEvent.PRICE_HOLD)
    assert (hold["order_id"], hold["unit_price"]) == (order_id, 4.0)
    assert hold["reason"] == f"order {order_id} cost 400, above its bound of 200"
    (cost,) = lines(ledger_path, AuditEvent.COST)
    assert (cost["order_id"], cost["cost"], cost["anomaly"]) == (order_id, 400, anomaly)


async def test_a_lower_later_status_writes_an_anomaly_and_stops_nothing_again(
    simulator: Simulator, client: HappyFollowerClient, ledger_path: Path
) -> None:
    """Charged 500 for a bound of 100: held, then a person confirms the price. A later
    status says 400 (a partial refund): it is noted, without a cost (the count stays at
    500), and does not stop the service again."""
    simulator.set_unit_price(10, 10.0)
    guard = guard_of(client, ledger_path, unit_prices={10: 2})
    placed = await place(guard, 50)
    assert guard.held_services() == {10: 10.0}
    await guard.confirm_price(10, 10, confirmed_by="the operator")
    assert guard.held_services() == {}
    anomaly = (await guard.settle_cost(placed.order_id, 400.0)).anomaly
    assert anomaly == "the service charged 400, above the order's bound of 100"
    assert guard.held_services() == {}
    assert len(lines(ledger_path, AuditEvent.PRICE_HOLD)) == 1
    (cost,) = lines(ledger_path, AuditEvent.COST)
    assert (cost["order_id"], cost["cost"], cost["anomaly"]) == (placed.order_id, None, anomaly)
    assert guard.usage() == Usage(orders=1, spent=500, reserved=0, unbounded=0)
    await place(guard, 10)  # bounded by the confirmed price: 100


async def test_a_cost_below_the_bound_is_written_without_a_cost(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, unit_prices={10: 2})
    placed = await place(guard, 100)  # bound 200, the status says 200
    anomaly = (await guard.settle_cost(placed.order_id, 150.0)).anomaly
    assert anomaly is not None
    assert anomaly.startswith("the status gave a cost of 150, below the order's bound of 200")
    (cost,) = lines(ledger_path, AuditEvent.COST)
    assert (cost["cost"], cost["anomaly"], cost["reason"]) == (
        None,
        anomaly,
        "from the order's status",
    )
    assert guard.orders()[0].cost == 200
    assert guard.orders()[0].anomalies == (anomaly,)


async def test_the_cost_of_an_order_the_ledger_does_not_hold_is_not_noted(
    client: HappyFollowerClient, sandbox_client: HappyFollowerClient, ledger_path: Path
) -> None:
    sandbox = guard_of(sandbox_client, ledger_path)
    placed = await place(sandbox, 100)
    live = guard_of(client, ledger_path)
    before = file_bytes(ledger_path)
    assert (await live.settle_cost(placed.order_id, 0.0)).anomaly is None  # another environment's
    assert (await live.settle_cost(999, None)).anomaly is None  # no such order
    assert file_bytes(ledger_path) == before


async def test_a_line_without_its_count_gives_no_price_per_unit(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    """An attempt line that lacks its count (written by hand): a charge above its bound
    counts, but no price per unit can be learned from it, so no hold is written."""
    fields: dict[str, Any] = {"attempt_id": "a", "service_id": 10, "link": LINK}
    Ledger(ledger_path).transact(
        lambda _old: [
            record(AuditEvent.ATTEMPT, cost_bound=100, **fields),
            record(AuditEvent.PLACED, order_id=1, **fields),
        ]
    )
    guard = guard_of(client, ledger_path)
    anomaly = (await guard.settle_cost(1, 500.0)).anomaly
    assert anomaly == "the service charged 500, above the order's bound of 100"
    assert guard.usage() == Usage(orders=1, spent=500, reserved=0, unbounded=0)
    assert guard.held_services() == {}
    assert lines(ledger_path, AuditEvent.PRICE_HOLD) == []


async def test_a_hold_line_without_its_price_still_stops_the_service(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    Ledger(ledger_path).transact(
        lambda _old: [record(AuditEvent.PRICE_HOLD, service_id=10, order_id=1, reason="by hand")]
    )
    guard = guard_of(client, ledger_path, unit_prices={10: 2})
    await guard.refresh()
    assert guard.held_services() == {10: 0.0}
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(guard, 10)
    assert refused.value.cap is Refusal.PRICE_CHANGED


# --- a person's price, a changed cost ---------------------------------------------------


async def test_a_confirmed_price_is_written_with_who_and_why(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path)
    assert await guard.confirm_price("10", "2.5", confirmed_by="the operator") == 2.5
    (line,) = read_lines(ledger_path)
    assert line["event"] == AuditEvent.PRICE.value
    assert (line["service_id"], line["unit_price"], line["confirmed_by"]) == (
        10,
        2.5,
        "the operator",
    )
    assert (line["link"], line["count"]) == (None, None)
    assert line["reason"] == "price per unit confirmed by a person"


@pytest.mark.parametrize("service_id", ["abc", 0, -3, 1.5])
async def test_a_price_for_a_bad_service_id_is_refused_by_its_field(
    client: HappyFollowerClient, ledger_path: Path, service_id: object
) -> None:
    guard = guard_of(client, ledger_path)
    with pytest.raises(HappyFollowerInputError) as refused:
        await guard.confirm_price(service_id, 2, confirmed_by="tests")
    assert refused.value.field == "service_id"
    assert str(refused.value).startswith("service_id must be a whole number from 1 to ")
    assert str(refused.value).endswith(f", got {service_id!r}")
    assert file_bytes(ledger_path) == b""  # refused before the ledger is touched


async def test_an_order_whose_cost_changed_is_refused_with_the_reason_written(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, max_spend_per_day=5000, unit_prices={10: 2})
    quote = await guard.quote(validate_order(10, POST, 100))
    await guard.confirm_price(10, 3, confirmed_by="someone else")
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await guard.place_order(quote, confirmed_by="tests")
    assert refused.value.cap is Refusal.COST_CHANGED
    (line,) = lines(ledger_path, AuditEvent.REFUSED)
    assert line["reason"] == str(refused.value)
    assert line["reason"].startswith(
        "the order was confirmed at a cost of at most 200, but a price changed since and it "
        "may now cost up to 300; nothing was sent"
    )
    assert (line["service_id"], line["link"], line["count"]) == (10, POST, 100)
    assert simulator.orders(api_key) == []


# --- the history -------------------------------------------------------------------------


async def test_the_history_lists_archived_orders_newest_first(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    """An order every 6 hours for 25 orders: the older ones leave the active file for the
    archive. ``orders`` lists the active file's, ``history`` every one, 20 by default."""
    clock = Clock()
    ledger = Ledger(ledger_path, archive_after=5, clock=clock)
    guard = SpendGuard(client, ledger, SpendCaps(), source="tests", clock=clock)
    for _ in range(25):
        await place(guard, 100)
        clock.advance(hours=6)
    assert list(ledger.archive_path.iterdir())  # some orders are archived
    active = guard.orders(limit=100)
    assert len(active) < 25
    history = await guard.history()
    assert [o.order_id for o in history] == list(range(25, 5, -1))
    everything = await guard.history(limit=100)
    assert [o.order_id for o in everything] == list(range(25, 0, -1))
    assert everything[: len(active)] == active
    assert {(o.outcome, o.cost, o.cost_bound) for o in everything} == {("placed", 200, None)}
    assert [o.order_id for o in await guard.history(limit=3)] == [25, 24, 23]


# --- the services list -------------------------------------------------------------------


class _Monotonic:
    """A monotonic clock the test moves by hand, for the guard's services list only."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> _Monotonic:
    clock = _Monotonic()
    monkeypatch.setattr(guard_module, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    return clock


async def test_the_services_list_is_trusted_for_its_time_to_live_then_read_again(
    simulator: Simulator,
    client: HappyFollowerClient,
    ledger_path: Path,
    monotonic: _Monotonic,
) -> None:
    def services_reads() -> int:
        return sum(r.endpoint == "services" for r in simulator.requests)

    guard = guard_of(client, ledger_path)
    await guard.quote(validate_order(10, LINK, 100))
    assert services_reads() == 1
    monotonic.now += SERVICES_TTL  # exactly its time to live: still trusted
    await guard.quote(validate_order(10, LINK, 100))
    assert services_reads() == 1
    monotonic.now += 0.5
    await guard.quote(validate_order(10, LINK, 100))
    assert services_reads() == 2
    await guard.quote(validate_order(11, LINK, 100))
    assert services_reads() == 2
