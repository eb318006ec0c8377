"""The spend guard against a vendor that misreports or changes (issue 14: I9, I10, I11).

On the simulator over loopback: a status's cost that is missing, zero, negative, the price
per unit or late never lowers what the caps count; a charge above an order's bound stops
the service's orders until a person confirms a price; a price learned from a status is
offered, never a bound by itself; sandbox and live prices never mix; one target however
its link is spelled. What the vendor charged is checked against the cap each time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared_client import HappyFollowerClient, HappyFollowerInputError, HappyFollowerSpendCapError
from shared_client.errors import HappyFollowerOrderOutcomeUnknownError, Refusal
from shared_client.guard import AuditEvent, Ledger, SpendCaps, SpendGuard
from shared_client.simulator import Dialect, Fault, Simulator, StatusCost
from shared_client.validation import validate_order

from .guard_support import LINK, Clock, read_lines

POST = "https://www.instagram.com/p/DAbc123xyz/"


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "orders.jsonl"


def guard_of(client: HappyFollowerClient, path: Path, **caps: Any) -> SpendGuard:
    return SpendGuard(client, Ledger(path), SpendCaps(**caps), source="tests", clock=Clock())


async def place(guard: SpendGuard, count: int, service_id: int = 10, link: str = LINK) -> Any:
    quote = await guard.prepare_order(service_id, link, count, confirmed_by="tests")
    return await guard.place_order(quote, confirmed_by="tests")


def charged(simulator: Simulator, api_key: str, *, sandbox: bool = False) -> float:
    return sum(order.cost for order in simulator.orders(api_key, sandbox=sandbox))


def written(path: Path) -> bool:
    return path.exists()


def lines(path: Path, event: AuditEvent) -> list[dict[str, Any]]:
    return [line for line in read_lines(path) if line["event"] == event.value]


# --- I9: the vendor's word never lowers the count -------------------------------------


@pytest.mark.parametrize(
    "cost", [StatusCost.ZERO, StatusCost.NEGATIVE, StatusCost.MISSING, StatusCost.PER_UNIT]
)
async def test_a_first_status_that_says_less_never_lowers_the_count(
    simulator: Simulator,
    api_key: str,
    client: HappyFollowerClient,
    ledger_path: Path,
    cost: StatusCost,
) -> None:
    """The finding: price 2, cap 1000, orders of 400 (bound 800): a status saying 0 let
    every order through. Now the first fills the cap at its bound and the rest are refused."""
    simulator.dialect = Dialect(status_cost=cost)
    guard = guard_of(client, ledger_path, max_spend_per_day=1000, unit_prices={10: 2})
    placed = await place(guard, 400)
    assert placed.anomaly is not None
    for _ in range(3):
        with pytest.raises(HappyFollowerSpendCapError) as refused:
            await place(guard, 400)
        assert refused.value.cap is Refusal.MAX_SPEND_PER_DAY
    usage = guard.usage()
    assert usage.spent + usage.reserved == 800
    assert charged(simulator, api_key) == 800  # the cap: 1000
    (placed_line,) = lines(ledger_path, AuditEvent.PLACED)
    assert placed_line["anomaly"] == placed.anomaly
    # Later reads saying the same thing write nothing more; the count stays at the bound.
    for _ in range(3):
        status = await client.get_order_status(placed.order_id)
        await guard.settle_cost(placed.order_id, status.cost)
    await guard.refresh()
    assert guard.usage().spent + guard.usage().reserved == 800
    assert len(lines(ledger_path, AuditEvent.COST)) <= 1
    assert guard.orders()[0].anomalies


async def test_a_late_cost_settles_an_order_at_its_bound_or_above(
    simulator: Simulator, client: HappyFollowerClient, ledger_path: Path
) -> None:
    simulator.dialect = Dialect(status_cost=StatusCost.LATE)
    guard = guard_of(client, ledger_path, max_spend_per_day=1000, unit_prices={10: 2.5})
    placed = await place(guard, 100)  # bound 250, charged 200
    assert placed.cost is None
    assert placed.anomaly == "the status gave no cost"
    status = await client.get_order_status(placed.order_id)
    anomaly = (await guard.settle_cost(placed.order_id, status.cost)).anomaly
    assert anomaly is not None
    assert "below the order's bound of 250" in anomaly
    usage = guard.usage()
    assert (usage.spent, usage.reserved) == (200, 50)  # counts at its bound, 250
    (cost_line,) = lines(ledger_path, AuditEvent.COST)
    assert cost_line["cost"] == 200
    assert cost_line["anomaly"] == anomaly


@pytest.mark.parametrize("reported", [float("nan"), float("inf"), -5.0, 0.0, None])
async def test_no_status_cost_lowers_a_count(
    client: HappyFollowerClient, ledger_path: Path, reported: float | None
) -> None:
    guard = guard_of(client, ledger_path, max_spend_per_day=1000, unit_prices={10: 2})
    placed = await place(guard, 100)  # bound 200, the status says 200
    await guard.settle_cost(placed.order_id, reported)
    await guard.settle_cost(placed.order_id, 150.0)  # below the bound
    usage = guard.usage()
    assert usage.spent + usage.reserved == 200
    assert usage.spent >= 0


async def test_a_cost_above_the_bound_counts_at_once_and_holds_the_service(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, ledger_path: Path
) -> None:
    """The vendor raised its price from 2 to 10 under the operator's price of 2."""
    simulator.set_unit_price(10, 10.0)
    guard = guard_of(client, ledger_path, max_spend_per_day=1000, unit_prices={10: 2, 11: 3})
    placed = await place(guard, 50)  # bound 100, charged 500
    assert placed.cost == 500
    assert guard.usage().spent == 500
    assert guard.held_services() == {10: 10.0}
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(guard, 10)
    assert refused.value.cap is Refusal.PRICE_CHANGED
    assert "service 10 charged 10 per unit" in str(refused.value)
    # Another process on the same ledger stops too; other services go on.
    async with HappyFollowerClient(api_key, base_url=simulator.base_url) as other_client:
        other = guard_of(other_client, ledger_path, max_spend_per_day=1000, unit_prices={10: 2})
        with pytest.raises(HappyFollowerSpendCapError, match="stopped until a person"):
            await place(other, 10)
    await place(guard, 10, service_id=11)
    # A person confirms the new price: orders go on, bounded by it.
    assert guard.price_offer(10) == (10.0, f"charged per unit by order {placed.order_id}")
    await guard.confirm_price(10, "۱۰", confirmed_by="the operator")
    assert guard.held_services() == {}
    assert guard.unit_price(10) == (10.0, "price per unit confirmed by the operator")
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(guard, 50)  # 500 + 30 spent, bound 500: above 1000
    assert refused.value.cap is Refusal.MAX_SPEND_PER_DAY
    await place(guard, 40)
    assert charged(simulator, api_key) == 500 + 30 + 400
    assert lines(ledger_path, AuditEvent.PRICE)[0]["confirmed_by"] == "the operator"


async def test_a_later_status_above_the_bound_raises_the_count_and_holds(
    simulator: Simulator, client: HappyFollowerClient, ledger_path: Path
) -> None:
    simulator.dialect = Dialect(status_cost=StatusCost.LATE)
    simulator.set_unit_price(10, 4.0)
    # No spend cap, so the credit is not read around the order: only statuses tell.
    guard = guard_of(client, ledger_path, unit_prices={10: 2})
    placed = await place(guard, 100)  # bound 200; its first status has no cost
    assert guard.held_services() == {}
    await guard.settle_cost(placed.order_id, 400.0)
    assert guard.usage().spent == 400
    assert guard.held_services() == {10: 4.0}


async def test_the_credit_drop_above_the_bound_holds_when_the_status_says_less(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, ledger_path: Path
) -> None:
    """The status gives the price per unit (10), the vendor charged 10 x 100: the credit's
    drop is the witness that raises the count and holds the service."""
    simulator.dialect = Dialect(status_cost=StatusCost.PER_UNIT)
    simulator.set_unit_price(10, 10.0)
    guard = guard_of(client, ledger_path, max_spend_per_day=5000, unit_prices={10: 2})
    placed = await place(guard, 100)
    assert placed.estimated_cost == 1000
    assert guard.usage().spent + guard.usage().reserved == 1000
    assert guard.held_services() == {10: 10.0}


# --- I10: only a price a person stands behind bounds an order -------------------------


async def test_a_learned_price_is_offered_never_a_bound(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    free = guard_of(client, ledger_path)  # no spend cap: the order goes, its price is seen
    placed = await place(free, 100)
    capped = guard_of(client, ledger_path, max_spend_per_day=1000)
    await capped.refresh()
    assert capped.unit_price(10) is None
    assert capped.price_offer(10) == (2.0, f"charged per unit by order {placed.order_id}")
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(capped, 100)
    assert refused.value.cap is Refusal.COST_UNKNOWN
    assert "confirm the price it was seen to charge" in str(refused.value)
    await capped.confirm_price(10, 2.0, confirmed_by="tests")
    placed = await place(capped, 100)
    assert placed.cost_bound == 200


async def test_the_higher_of_the_operators_and_the_confirmed_price_bounds(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, max_spend_per_day=1000, unit_prices={10: 3})
    await guard.confirm_price(10, 2, confirmed_by="tests")
    assert guard.unit_price(10) == (3.0, "operator's price per unit")
    await guard.confirm_price(10, 4, confirmed_by="tests")
    assert guard.unit_price(10) == (4.0, "price per unit confirmed by tests")


async def test_sandbox_and_live_prices_never_mix(
    simulator: Simulator,
    client: HappyFollowerClient,
    sandbox_client: HappyFollowerClient,
    ledger_path: Path,
) -> None:
    simulator.set_unit_price(10, 0.5, sandbox=True)
    sandbox = guard_of(sandbox_client, ledger_path)
    await place(sandbox, 100)
    await sandbox.confirm_price(10, 0.5, confirmed_by="tests")
    live = guard_of(client, ledger_path, max_spend_per_day=1000)
    await live.refresh()
    assert live.unit_price(10) is None
    assert live.price_offer(10) is None
    with pytest.raises(HappyFollowerSpendCapError, match="no price per unit"):
        await place(live, 100)


@pytest.mark.parametrize("price", ["nan", "0", "-1", "", "abc", True, None, float("inf")])
async def test_a_confirmed_price_must_be_a_finite_amount(
    client: HappyFollowerClient, ledger_path: Path, price: object
) -> None:
    guard = guard_of(client, ledger_path)
    with pytest.raises(HappyFollowerInputError, match="price per unit must be a finite number"):
        await guard.confirm_price(10, price, confirmed_by="tests")
    assert not written(ledger_path)  # refused before the ledger is touched


# --- refusals that say how much --------------------------------------------------------


async def test_the_spend_refusal_says_how_much(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, max_spend_per_day=1000, unit_prices={10: 2})
    await place(guard, 300)
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(guard, 250)
    assert refused.value.amounts == {
        "bound": 500,
        "spent": 600,
        "reserved": 0,
        "room": 400,
        "max_spend": 1000,
    }
    assert "400 of the spend cap of 1,000 is left" in str(refused.value)


# --- I11: one target, however its link is spelled --------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "https://www.instagram.com/p/DAbc123xyz",
        "https://instagram.com/p/DAbc123xyz/",
        "http://www.instagram.com/p/DAbc123xyz/",
        "https://WWW.Instagram.COM/p/DAbc123xyz/",
        "https://www.instagram.com./p/DAbc123xyz/",
        "https://www.instagram.com/p/DAbc123xyz/?igsh=MTc4MmM1YmI2Ng==",
        "https://m.instagram.com/p/DAbc123xyz/#comments",
    ],
)
async def test_the_same_post_spelled_another_way_is_a_possible_duplicate(
    simulator: Simulator,
    api_key: str,
    client: HappyFollowerClient,
    ledger_path: Path,
    spelling: str,
) -> None:
    guard = guard_of(client, ledger_path)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await place(guard, 100, link=POST)
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(guard, 100, link=spelling)
    assert refused.value.cap is Refusal.POSSIBLE_DUPLICATE
    assert len(simulator.orders(api_key)) == 1
    quote = await guard.quote(validate_order(10, spelling, 100))
    assert quote.possible_duplicate is not None
    assert quote.order.link == POST


async def test_a_reel_and_a_post_of_one_code_are_one_target(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path)
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await place(guard, 100, link="https://www.instagram.com/reels/DAbc123xyz")
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await place(guard, 100, link=POST)
    assert refused.value.cap is Refusal.POSSIBLE_DUPLICATE
    assert len(simulator.orders(api_key)) == 1


async def test_a_price_is_confirmed_for_an_active_service_only(
    client: HappyFollowerClient, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path)
    with pytest.raises(HappyFollowerInputError, match="service_id 99 is not an active service"):
        await guard.confirm_price(99, 2, confirmed_by="tests")
    assert not written(ledger_path)


# --- what a person confirms is what is placed -------------------------------------------


async def test_an_order_is_not_placed_above_the_cost_the_person_confirmed(
    simulator: Simulator, api_key: str, client: HappyFollowerClient, ledger_path: Path
) -> None:
    guard = guard_of(client, ledger_path, max_spend_per_day=5000, unit_prices={10: 2})
    quote = await guard.quote(validate_order(10, POST, 100))
    assert quote.cost_bound == 200
    # Between the question and the answer, someone stands behind a higher price.
    await guard_of(client, ledger_path).confirm_price(10, 3, confirmed_by="someone else")
    with pytest.raises(HappyFollowerSpendCapError) as refused:
        await guard.place_order(quote, confirmed_by="tests")
    assert refused.value.cap is Refusal.COST_CHANGED
    assert "may now cost up to 300" in str(refused.value)
    assert simulator.orders(api_key) == []
    assert lines(ledger_path, AuditEvent.REFUSED)[-1]["cost_bound"] is None
    # Asked again, at the new cost, it goes.
    again = await guard.quote(validate_order(10, POST, 100))
    placed = await guard.place_order(again, confirmed_by="tests")
    assert placed.cost_bound == 300
