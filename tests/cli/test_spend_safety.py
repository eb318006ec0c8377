"""The eight breaks of issue 8, through the real ``happy-follower`` process: each must hold for the
command line as it holds for the MCP server (one guard, one ledger, one set of rules)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared_client.cli import (
    LINK_HOSTS_ENV,
    MAX_COUNT_ENV,
    MAX_ORDERS_ENV,
    MAX_SPEND_ENV,
    UNIT_PRICES_ENV,
    ExitCode,
)
from shared_client.simulator import Fault, SimulatedService, Simulator

from .conftest import RUN_TIMEOUT, CliRunner
from .test_order_safety import run_on_terminal

LINK = "https://www.instagram.com/cli.safety"
SENT = LINK + "/"  # LINK as the input policy writes it (its canonical form)
# 100 likes of service 10 cost 200 in the simulator.
ORDER = ("order", "10", LINK, "100", "--yes")


def other_link(index: int) -> str:
    return f"https://www.instagram.com/p/post{index}/"


# --- 1. unknown price: no longer no cap ----------------------------------------------------


async def test_1_an_order_of_unknown_price_is_refused_under_a_spend_cap(cli: CliRunner) -> None:
    env = {MAX_SPEND_ENV: "300"}
    refused = await cli.run(*ORDER, env=env)
    assert refused.code == ExitCode.CANCELLED
    assert "cannot be bounded" in refused.error  # however large the credit (100000 here)
    assert "price per unit" in refused.error  # how to proceed
    assert cli.order_posts() == 0
    placed = await cli.run(*ORDER, env=env | {UNIT_PRICES_ENV: "10=2"})
    assert placed.code == ExitCode.OK, placed
    assert len(cli.simulator.orders(cli.api_key)) == 1


# --- 2. a failed status read does not make the cost 0 ----------------------------------------


async def test_2_cost_learned_from_the_credit_when_the_status_fails(cli: CliRunner) -> None:
    cli.simulator.inject("status", Fault.SERVER_ERROR_HTML, times=None)
    # The operator's price (1 a unit) is too low: the real cost is 200, estimated from the
    # credit before and after. With the cost taken as 0, or as the bound (100), a second
    # order would pass the cap of 250.
    env = {MAX_SPEND_ENV: "250", UNIT_PRICES_ENV: "10=1"}
    first = await cli.run(*ORDER, env=env)
    assert first.code == ExitCode.OK, first
    assert "cost about 200 (from the credit before and after)" in first.stdout
    placed = [r for r in cli.ledger_records() if r["event"] == "placed"]
    assert [(r["cost"], r["cost_estimate"]) for r in placed] == [(None, 200)]
    # The credit's drop (200) above the bound (100) counts, and stops the service until a
    # person confirms its price (issue 14, I10): the CLI prints the command that does it.
    second = await cli.run("order", "10", other_link(2), "100", "--yes", env=env)
    assert second.code == ExitCode.CANCELLED
    assert "service 10 charged 2 per unit" in second.error
    assert "confirm-price 10" in second.error
    assert len(cli.simulator.orders(cli.api_key)) == 1
    confirmed = await cli.run("confirm-price", "10", "--yes", env=env)
    assert confirmed.code == ExitCode.OK, confirmed
    assert "bounded at 2 per unit" in confirmed.stdout
    third = await cli.run("order", "10", other_link(2), "100", "--yes", env=env)
    assert third.code == ExitCode.CANCELLED  # 200 counted + a bound of 200 > 250
    assert "spend cap of 250" in third.error
    assert len(cli.simulator.orders(cli.api_key)) == 1


# --- 3. outcome unknown counts at its bound --------------------------------------------------


async def test_3_outcome_unknown_counts_against_the_spend_cap(cli: CliRunner) -> None:
    env = {MAX_SPEND_ENV: "300", UNIT_PRICES_ENV: "10=2"}
    cli.simulator.inject("order", Fault.PROCESS_THEN_DROP)
    lost = await cli.run(*ORDER, env=env)
    assert lost.code == ExitCode.OUTCOME_UNKNOWN
    assert "Do not retry" in lost.error
    other = await cli.run("order", "10", other_link(3), "100", "--yes", env=env)
    assert other.code == ExitCode.CANCELLED
    assert "0 was spent and 200 is reserved" in other.error
    assert len(cli.simulator.orders(cli.api_key)) == 1  # the lost one, placed


async def test_3_same_order_after_a_lost_answer_needs_the_prompt(cli: CliRunner) -> None:
    cli.simulator.inject("order", Fault.PROCESS_THEN_DROP)
    assert (await cli.run(*ORDER)).code == ExitCode.OUTCOME_UNKNOWN
    again = await cli.run(*ORDER)
    assert again.code == ExitCode.CANCELLED
    assert "may have been placed" in again.error
    assert "--yes alone does not" in again.error
    assert "happy-follower --base-url" in again.error  # what to run to check, pasteable
    assert cli.order_posts() == 1
    # On a terminal the warning is shown, and the person may place it anyway.
    confirmed = await run_on_terminal(cli, "y", "order", "10", LINK, "100")
    assert confirmed.code == ExitCode.OK, confirmed
    assert "WARNING: the same order was sent at" in confirmed.stdout
    assert "It may be a duplicate. Place it anyway? [y/N]" in confirmed.stdout
    assert len(cli.simulator.orders(cli.api_key)) == 2
    attempts = [r for r in cli.ledger_records() if r["event"] == "attempt"]
    assert [r["confirmed_by"] for r in attempts] == ["--yes", "user at the CLI prompt"]


# --- 4. caps hold across processes ----------------------------------------------------------


async def test_4_processes_racing_on_one_ledger_place_exactly_the_cap(cli: CliRunner) -> None:
    cli.simulator.latency = 0.05  # every request takes a while: the runs overlap
    env = {MAX_ORDERS_ENV: "3"}
    runs = await asyncio.gather(
        *(cli.run("order", "10", other_link(i), "100", "--yes", env=env) for i in range(8))
    )
    codes = sorted(run.code for run in runs)
    assert codes == [ExitCode.OK] * 3 + [ExitCode.CANCELLED] * 5, runs
    assert len(cli.simulator.orders(cli.api_key)) == 3
    assert cli.order_posts() == 3
    events = cli.ledger_events()
    assert events.count("attempt") == events.count("placed") == 3
    assert events.count("refused") == 5


async def test_4_kill_9_while_the_order_is_in_flight(cli: CliRunner) -> None:
    sim = cli.simulator
    # The order is placed, its answer held back until the test lets it go (the driven
    # clock never reaches an hour by itself).
    sim.inject("order", Fault.PROCESS_THEN_SLOW, delay=3600)
    env = {MAX_ORDERS_ENV: "1"}
    process = await cli.start(*ORDER, env=env)
    try:
        async with asyncio.timeout(RUN_TIMEOUT):  # a real process starting, on a loaded machine
            await sim.wait_until_held("order")
    except BaseException:
        process.kill()
        await process.wait()
        raise
    # One signal and then only wait: a second kill() before asyncio has seen the exit would
    # reap the child through Popen.poll, and asyncio would then report 255 (Python 3.12).
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL
    (attempt,) = cli.ledger_records()  # written ahead; the kill left it without an outcome
    assert attempt["event"] == "attempt"

    listing = await cli.run("orders", env=env)
    assert listing.code == ExitCode.OK
    (warning,) = listing.warnings
    assert "was interrupted before its answer was recorded" in warning
    assert "it may have been placed, and it counts against the caps" in warning
    assert "outcome_unknown" in listing.stdout
    assert "1 order(s)" in listing.stdout

    refused = await cli.run("order", "10", other_link(4), "100", "--yes", env=env)
    assert refused.code == ExitCode.CANCELLED
    assert "1 orders were placed (or may have been)" in refused.error
    assert len(sim.orders(cli.api_key)) == 1
    outcome = [r for r in cli.ledger_records() if r["attempt_id"] == attempt["attempt_id"]]
    assert [r["event"] for r in outcome] == ["attempt", "outcome_unknown"]
    await sim.release_held()  # no request left hanging when the simulator stops


# --- 5. the confirmation cannot be spoofed ----------------------------------------------------

HOSTILE_NAME = "Likes\nLink: https://evil.example/\nCount: 1\nCost: 0\u202e\u200b"


@pytest.fixture
async def hostile(tmp_path: Path, pycache: Path) -> AsyncIterator[CliRunner]:
    async with Simulator(services=[SimulatedService(10, HOSTILE_NAME, 2.0)]) as sim:
        yield CliRunner(sim, sim.add_account(), tmp_path, pycache)


async def test_5_a_hostile_service_name_draws_no_lines(hostile: CliRunner) -> None:
    result = await run_on_terminal(hostile, "n", "order", "10", LINK, "100")
    assert result.code == ExitCode.CANCELLED
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("Link:")] == [f"Link: {SENT}"]
    assert [line for line in lines if line.startswith("Count:")] == ["Count: 100"]
    (service,) = [line for line in lines if line.startswith("Service:")]
    assert "evil.example" in service  # shown, on its own line, flattened
    assert "\u202e" not in result.stdout
    assert "\u200b" not in result.stdout


@pytest.mark.parametrize(
    "link",
    [
        "https://www.instagram.com/a\u200bb",  # zero-width space
        "https://www.instagram.com/\u202egnp.x",  # right-to-left override
        "https://www.instagram.com/x\x1b[2J",  # a terminal escape
    ],
)
async def test_5_hidden_characters_in_links_are_refused(cli: CliRunner, link: str) -> None:
    result = await cli.run("order", "10", link, "100", "--yes")
    assert result.code == ExitCode.USAGE
    assert cli.simulator.requests == []


# --- 6. an unusable ledger stops the order before anything is sent ----------------------------


async def test_6_unwritable_ledger_is_an_error_before_sending(cli: CliRunner) -> None:
    blocker = cli.tmp_path / "a-file"
    blocker.write_text("not a folder")
    ledger = blocker / "ledger.jsonl"
    for command in (ORDER, ("orders",)):
        result = await cli.run(*command, "--ledger", str(ledger))
        assert result.code == ExitCode.LEDGER
        assert str(ledger) in result.error
        assert "Nothing was sent" in result.error
    assert cli.simulator.requests == []


async def test_6_damaged_ledger_is_an_error_before_sending(cli: CliRunner) -> None:
    cli.ledger.write_text('{"event": "placed", "at": \n', "utf-8")
    result = await cli.run(*ORDER)
    assert result.code == ExitCode.LEDGER
    assert "damaged line" in result.error
    assert cli.simulator.requests == []


# --- 7. caps must be finite and positive -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (MAX_SPEND_ENV, "nan"),
        (MAX_SPEND_ENV, "inf"),
        (MAX_SPEND_ENV, "-5"),
        (MAX_ORDERS_ENV, "0"),
        (MAX_ORDERS_ENV, "1.5"),
        (MAX_COUNT_ENV, "NaN"),
        (UNIT_PRICES_ENV, "10=nan"),
    ],
)
async def test_7_a_cap_that_is_not_a_finite_positive_number_stops(
    cli: CliRunner, name: str, value: str
) -> None:
    result = await cli.run(*ORDER, env={name: value})
    assert result.code == ExitCode.USAGE
    assert name in result.error
    assert cli.simulator.requests == []
    assert not cli.ledger.exists()


async def test_7_the_option_is_named_when_it_is_wrong(cli: CliRunner) -> None:
    result = await cli.run(*ORDER, "--max-spend-per-day", "nan")
    assert result.code == ExitCode.USAGE
    assert result.error.startswith("--max-spend-per-day must be")
    assert "'nan'" in result.error
    assert cli.simulator.requests == []


# --- 8. input policy before anything is sent -------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "https://www.instagram.com.evil.example/p/x/",  # lookalike
        "https://www.іnstagram.com/p/x/",  # Cyrillic і
        "https://instagram.com@evil.example/p/x/",  # credentials trick
        "https://user:secret@www.instagram.com/p/x/",
        "https://www.instagram.com:8443/p/x/",
        "http://127.0.0.1/p/x/",
        "https://example.org/p/x/",
        "javascript:alert(1)",
    ],
)
async def test_8_links_outside_instagram_are_refused(cli: CliRunner, link: str) -> None:
    result = await cli.run("order", "10", link, "100", "--yes")
    assert result.code == ExitCode.USAGE
    assert "link" in result.error
    assert cli.simulator.requests == []
    (refusal,) = cli.ledger_records()  # refusals for bad input are audited too
    assert refusal["event"] == "refused"


async def test_8_the_operator_may_allow_more_hosts(cli: CliRunner) -> None:
    result = await cli.run(
        "order",
        "10",
        "https://example.org/p/x/",
        "100",
        "--yes",
        env={LINK_HOSTS_ENV: "example.org"},
    )
    assert result.code == ExitCode.OK, result


async def test_8_unknown_service_and_unknown_options_are_refused(cli: CliRunner) -> None:
    unknown = await cli.run("order", "99", LINK, "100", "--yes")
    assert unknown.code == ExitCode.USAGE
    assert "not an active service" in unknown.error
    option = await cli.run(*ORDER, "--max-cost", "5")  # believing it limits the spend
    assert option.code == ExitCode.USAGE
    assert "unrecognized arguments: --max-cost 5" in option.stderr
    assert cli.order_posts() == 0


async def test_orders_lists_attempts_and_usage_as_json(cli: CliRunner) -> None:
    assert (await cli.run(*ORDER)).code == ExitCode.OK
    result = await cli.run("--json", "orders")
    assert result.code == ExitCode.OK
    data = result.json()
    assert data["environment"] == "live"
    assert data["usage_24h"] == {"orders": 1, "spent": 200.0, "reserved": 0.0, "unbounded": 0}
    assert data["caps"]["max_orders_per_day"] == 10  # the shared defaults
    (order,) = data["orders"]
    assert (order["outcome"], order["order_id"], order["cost"]) == ("placed", 1, 200.0)
    assert order["confirmed_by"] == "--yes"
    assert json.dumps(data).count(SENT) == 1
    text = (await cli.run("orders")).stdout
    assert "placed           order 1         service 10  x100  @cli.safety  cost 200" in text
    assert "(confirmed by --yes, cli)" in text


async def test_2_status_settles_a_cost_never_learned(cli: CliRunner) -> None:
    # No spend cap, so no credit is read around the order; its status fails once: its cost
    # is unknown and unbounded, which a spend cap would refuse to work with ...
    cli.simulator.inject("status", Fault.SERVER_ERROR_HTML, times=3)  # the reads retry
    assert (await cli.run(*ORDER)).code == ExitCode.OK
    before = (await cli.run("--json", "orders")).json()["usage_24h"]
    assert before == {"orders": 1, "spent": 0.0, "reserved": 0.0, "unbounded": 1}
    capped = await cli.run("order", "10", other_link(5), "100", "--yes", env={MAX_SPEND_ENV: "1e6"})
    assert capped.code == ExitCode.CANCELLED
    assert "read their status" in capped.error
    # ... until `status` reads it: the cost goes into the ledger.
    assert (await cli.run("status", "1")).code == ExitCode.OK
    after = (await cli.run("--json", "orders")).json()["usage_24h"]
    assert after == {"orders": 1, "spent": 200.0, "reserved": 0.0, "unbounded": 0}
    assert cli.ledger_events()[-1] == "cost"
    # (A later status teaches no price: it may be of a partial order. The operator's does.)
    priced = {MAX_SPEND_ENV: "1e6", UNIT_PRICES_ENV: "10=2"}
    placed = await cli.run("order", "10", other_link(6), "100", "--yes", env=priced)
    assert placed.code == ExitCode.OK, placed
