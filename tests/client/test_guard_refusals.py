"""What each refusal of the spend guard tells a person and a front-end, exactly.

Every refusal carries its kind (``Refusal``), the figures a front-end shows in its own
words (``amounts``) and a message a person reads. On the simulator over loopback, with a
ledger file on disk. Also the words of the prices (where a bound comes from, what a
person is offered to confirm, a price refused) and of a cost a status reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared_client import HappyFollowerClient, HappyFollowerInputError, HappyFollowerSpendCapError
from shared_client.errors import HappyFollowerOrderOutcomeUnknownError, Refusal
from shared_client.guard import AuditEvent, Ledger, OrderQuote, SpendCaps, SpendGuard, Usage
from shared_client.simulator import Dialect, Fault, Simulator, StatusCost
from shared_client.validation import validate_order

from .guard_support import LINK, Clock, file_bytes, order_posts, read_lines, record

POST = "https://www.instagram.com/p/DAbc123xyz/"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "orders.jsonl"


def guard_of(client: HappyFollowerClient, path: Path, clock: Clock, **caps: Any) -> SpendGuard:
    return SpendGuard(client, Ledger(path), SpendCaps(**caps), source="tests", clock=clock)


async def place(
    guard: SpendGuard,
    count: int,
    *,
    service_id: int = 10,
    link: str = LINK,
    quote: OrderQuote | None = None,
    **kwargs: Any,
) -> Any:
    """Place the order; given a quote (what a person confirmed), exactly that."""
    if quote is None:
        quote = await guard.prepare_order(service_id, link, count, confirmed_by="tests")
    return await guard.place_order(quote, confirmed_by="tests", **kwargs)


async def refusal_of(guard: SpendGuard, count: int, **kwargs: Any) -> HappyFollowerSpendCapError:
    """The refusal of placing ``count``; nothing may be sent."""
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(guard, count, **kwargs)
    return refused.value


def refused_lines(path: Path) -> list[dict[str, Any]]:
    return [line for line in read_lines(path) if line["event"] == "refused"]


# --- the caps ---------------------------------------------------------------------------


async def test_the_count_refusal_gives_the_count_and_the_cap(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, clock, max_count_per_order=500)
    refusal = await refusal_of(guard, 501)
    assert refusal.cap is Refusal.MAX_COUNT_PER_ORDER
    assert refusal.amounts == {"count": 501, "max_count": 500}
    assert str(refusal) == (
        "count 501 is above the largest allowed per order (500); order less or raise the cap"
    )
    with pytest.raises(HappyFollowerSpendCapError) as quoted:
        await guard.quote(validate_order(10, LINK, 700))
    assert quoted.value.amounts == {"count": 700, "max_count": 500}
    assert order_posts(simulator) == 0


async def test_the_orders_refusal_gives_the_orders_counted_and_the_cap(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, clock, max_orders_per_day=2)
    await place(guard, 100)
    await place(guard, 100, link=POST)
    refusal = await refusal_of(guard, 100, service_id=11)
    assert refusal.cap is Refusal.MAX_ORDERS_PER_DAY
    assert refusal.amounts == {"orders": 2, "max_orders": 2}
    assert str(refusal) == (
        "2 orders were placed (or may have been) in the last 24 hours, the most allowed is 2; "
        "wait or raise the cap"
    )
    assert order_posts(simulator) == 2


async def test_the_unbounded_orders_refusal_gives_the_service_and_how_many(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    free = guard_of(client, ledger_path, clock)  # no spend cap: an unpriced order goes
    simulator.inject("status", Fault.SERVER_ERROR_HTML, times=6)
    await place(free, 100)
    await place(free, 50)
    capped = guard_of(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={11: 3})
    refusal = await refusal_of(capped, 10, service_id=11)
    assert refusal.cap is Refusal.COST_UNKNOWN
    assert refusal.amounts == {"service_id": 11, "unbounded": 2}
    assert str(refusal).startswith(
        "2 order(s) of the last 24 hours have a cost that is not known yet and was never "
        "bounded, so the spend cap cannot be checked"
    )
    assert order_posts(simulator) == 2


async def test_the_unpriced_order_refusal_names_the_service(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 2})
    refusal = await refusal_of(guard, 100, service_id=11)
    assert refusal.cap is Refusal.COST_UNKNOWN
    assert refusal.amounts == {"service_id": 11}
    assert str(refusal) == (
        "the cost of this order cannot be bounded, so the spend cap cannot be checked: no "
        "price per unit that a person stands behind is known for service 11. Set the "
        "service's price per unit, or confirm the price it was seen to charge, or lift the "
        "spend cap"
    )
    assert order_posts(simulator) == 0


# --- the cost a person confirmed --------------------------------------------------------


async def test_a_bound_that_rose_since_the_confirmation_is_refused_with_both_costs(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, clock, unit_prices={10: 2})
    quote = await guard.quote(validate_order(10, POST, 100))
    assert quote.cost_bound == 200
    await guard.confirm_price(10, 3, confirmed_by="someone else")
    refusal = await refusal_of(guard, 100, quote=quote)
    assert refusal.cap is Refusal.COST_CHANGED
    assert refusal.amounts == {"confirmed": 200, "bound": 300}
    assert str(refusal) == (
        "the order was confirmed at a cost of at most 200, but a price changed since and it "
        "may now cost up to 300; nothing was sent. Ask again, so that the person sees the "
        "new cost"
    )
    assert refused_lines(ledger_path)[-1]["reason"] == str(refusal)
    assert order_posts(simulator) == 0


async def test_a_bound_that_is_gone_since_the_confirmation_is_refused(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """The person saw a bound of 200 (the operator's price); the process that places the
    order knows no price for the service any more (its settings changed)."""
    priced = guard_of(client, ledger_path, clock, unit_prices={10: 2})
    quote = await priced.quote(validate_order(10, POST, 100))
    unpriced = guard_of(client, ledger_path, clock)
    refusal = await refusal_of(unpriced, 100, quote=quote)
    assert refusal.cap is Refusal.COST_CHANGED
    assert refusal.amounts == {"confirmed": 200, "bound": 0.0}
    assert str(refusal) == (
        "the order was confirmed at a cost of at most 200, but a price changed since and it "
        "cannot be bounded any more; nothing was sent. Ask again, so that the person sees "
        "the new cost"
    )
    assert order_posts(simulator) == 0


# --- a service on hold ------------------------------------------------------------------


async def test_the_hold_refusal_says_what_the_service_charged(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    simulator.set_unit_price(10, 10.0)
    guard = guard_of(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 2})
    placed = await place(guard, 50)  # bound 100, charged 500
    refusal = await refusal_of(guard, 10)
    assert refusal.cap is Refusal.PRICE_CHANGED
    assert refusal.amounts == {"service_id": 10, "unit_price": 10.0}
    assert str(refusal) == (
        f"service 10 charged 10 per unit (order {placed.order_id} cost 500, above its bound "
        "of 100), more than the price that bounded the order: its orders are stopped until "
        "a person confirms the service's price per unit (set it, or confirm the price it "
        "charged)"
    )
    assert order_posts(simulator) == 1


async def test_a_hold_line_without_a_price_still_stops_the_service(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """A hold whose price per unit is missing (a hand-edited line) shows a charge of 0."""
    hold = record(AuditEvent.PRICE_HOLD, service_id=10, order_id=7, reason="order 7 cost 900")
    Ledger(ledger_path).transact(lambda _old: [hold])
    guard = guard_of(client, ledger_path, clock)
    refusal = await refusal_of(guard, 100)
    assert refusal.cap is Refusal.PRICE_CHANGED
    assert refusal.amounts == {"service_id": 10, "unit_price": 0.0}
    assert str(refusal).startswith("service 10 charged 0 per unit (order 7 cost 900), more ")
    assert guard.held_services() == {10: 0.0}
    assert order_posts(simulator) == 0


# --- possible duplicates ----------------------------------------------------------------


async def test_the_duplicate_refusal_gives_the_service_and_the_count(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, clock)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await place(guard, 120, service_id=11)
    refusal = await refusal_of(guard, 120, service_id=11)
    assert refusal.cap is Refusal.POSSIBLE_DUPLICATE
    assert refusal.amounts == {"service_id": 11, "count": 120}
    assert str(refusal).startswith(
        f"the same order (service 11, 120 to {LINK}) was sent at 2026-03-21 12:00 UTC"
    )
    assert order_posts(simulator) == 1


async def test_an_old_spelling_on_an_operators_extra_host_is_a_possible_duplicate(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """A pending attempt written before links were canonical, on a host the operator
    allows: read with the operator's hosts, it names the same target."""
    pending = record(
        AuditEvent.ATTEMPT,
        attempt_id="other",
        service_id=10,
        link="HTTPS://WWW.EXAMPLE.ORG/p#top",
        count=100,
        process="elsewhere:1",
    )
    Ledger(ledger_path).transact(lambda _old: [pending])
    guard = SpendGuard(
        client, Ledger(ledger_path), source="tests", link_hosts=["example.org"], clock=clock
    )
    refusal = await refusal_of(guard, 100, link="https://www.example.org/p")
    assert refusal.cap is Refusal.POSSIBLE_DUPLICATE
    assert refusal.amounts == {"service_id": 10, "count": 100}
    link = "https://www.example.org/p"
    quote = await guard.quote(validate_order(10, link, 100, link_hosts=guard.link_hosts))
    assert quote.possible_duplicate == guard.records[0]
    assert order_posts(simulator) == 0


@pytest.mark.parametrize(
    ("hosts", "written"),
    [
        (["instagram.com"], "https://instagr.am/p/Cx1"),
        (["www.instagram.com"], "https://instagram.com/p/Cx1"),
    ],
)
async def test_an_old_spelling_on_a_host_since_dropped_is_a_possible_duplicate(
    simulator: Simulator,
    client: HappyFollowerClient,
    clock: Clock,
    ledger_path: Path,
    hosts: list[str],
    written: str,
) -> None:
    """An operator who narrowed the hosts still sees an old pending attempt for the same
    post: the ledger's link is read as the order's is, with no host limit."""
    pending = record(
        AuditEvent.ATTEMPT,
        attempt_id="other",
        service_id=10,
        link=written,
        count=100,
        process="elsewhere:1",
    )
    Ledger(ledger_path).transact(lambda _old: [pending])
    guard = SpendGuard(client, Ledger(ledger_path), source="tests", link_hosts=hosts, clock=clock)
    refusal = await refusal_of(guard, 100, link="https://www.instagram.com/p/Cx1/")
    assert refusal.cap is Refusal.POSSIBLE_DUPLICATE
    assert order_posts(simulator) == 0


# --- costs a status reported ------------------------------------------------------------


async def test_a_cost_below_one_is_a_cost(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """A cheap order (0.5) costs what its status says: no anomaly, it settles the count."""
    simulator.set_unit_price(10, 0.03125)
    guard = guard_of(client, ledger_path, clock)
    placed = await place(guard, 16)
    assert (placed.cost, placed.anomaly) == (0.5, None)
    assert guard.usage() == Usage(orders=1, spent=0.5, reserved=0, unbounded=0)
    assert read_lines(ledger_path)[-1]["anomaly"] is None
    assert guard.price_offer(10) == (0.03125, f"charged per unit by order {placed.order_id}")
    # A later status saying the same is nothing new.
    assert (await guard.settle_cost(placed.order_id, 0.5)).anomaly is None


async def test_a_cost_below_the_bound_says_why_it_counts_at_the_bound(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, clock, max_spend_per_day=1000, unit_prices={10: 2.5})
    placed = await place(guard, 100)  # bound 250, the status says 200
    anomaly = (
        "the status gave a cost of 200, below the order's bound of 250 (a refund, a price "
        "below yours, or a wrong figure): it counts at its bound"
    )
    assert placed.anomaly == anomaly
    assert read_lines(ledger_path)[-1]["anomaly"] == anomaly
    assert guard.orders()[0].anomalies == (anomaly,)
    assert guard.usage() == Usage(orders=1, spent=200, reserved=50, unbounded=0)


async def test_a_late_cost_below_one_is_counted(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    simulator.dialect = Dialect(status_cost=StatusCost.LATE)
    simulator.set_unit_price(10, 0.03125)
    guard = guard_of(client, ledger_path, clock)
    placed = await place(guard, 16)
    assert placed.anomaly == "the status gave no cost"
    assert guard.usage().unbounded == 1
    assert (await guard.settle_cost(placed.order_id, 0.5)).anomaly is None
    assert guard.usage() == Usage(orders=1, spent=0.5, reserved=0, unbounded=0)
    assert guard.orders()[0].cost == 0.5


# --- prices -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "shown"),
    [
        ("abc", "'abc'"),
        (None, "None"),
        ("9" * 20 + "x" * 30, "'" + "9" * 20 + "x" * 18 + "…"),
    ],
)
async def test_a_refused_price_is_shown_shortened(
    client: HappyFollowerClient, clock: Clock, ledger_path: Path, price: object, shown: str
) -> None:
    guard = guard_of(client, ledger_path, clock)
    with pytest.raises(HappyFollowerInputError) as refused:
        await guard.confirm_price(10, price, confirmed_by="tests")
    assert str(refused.value) == (
        f"the price per unit must be a finite number above 0, got {shown}"
    )
    assert refused.value.field == "unit_price"
    assert file_bytes(ledger_path) == b""  # refused before the ledger is touched


async def test_a_price_confirmed_without_a_name_is_a_persons(
    client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, clock, max_spend_per_day=1000)
    assert await guard.confirm_price(10, "2.5", confirmed_by="") == 2.5
    assert guard.unit_price(10) == (2.5, "price per unit confirmed by a person")
    quote = await guard.quote(validate_order(10, LINK, 100))
    assert quote.confirmation_lines("live")[-1] == (
        "Cost: at most 250 (price per unit confirmed by a person)"
    )


async def test_the_operators_price_wins_a_tie(
    client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, clock, unit_prices={10: 2})
    await guard.confirm_price(10, 2, confirmed_by="tests")
    assert guard.unit_price(10) == (2.0, "operator's price per unit")
    assert (
        await guard.quote(validate_order(10, LINK, 100))
    ).cost_basis == "operator's price per unit"


async def test_the_price_of_a_hold_is_offered_before_a_first_status(
    simulator: Simulator, client: HappyFollowerClient, clock: Clock, ledger_path: Path
) -> None:
    """The first status showed 2 per unit; a later one charged 3 per unit, above the bound
    of 2.5: the hold's price is what a person is offered to confirm."""
    guard = guard_of(client, ledger_path, clock, unit_prices={10: 2.5})
    placed = await place(guard, 100)  # bound 250, the status says 200
    assert guard.price_offer(10) == (2.0, f"charged per unit by order {placed.order_id}")
    await guard.settle_cost(placed.order_id, 300)
    assert guard.held_services() == {10: 3.0}
    assert guard.price_offer(10) == (3.0, f"charged per unit by order {placed.order_id}")
    await guard.confirm_price(10, 3, confirmed_by="tests")
    assert guard.held_services() == {}
    assert guard.price_offer(10) == (2.0, f"charged per unit by order {placed.order_id}")
