"""Spend safety of ``order``: confirmation, caps, and the audit ledger."""

from __future__ import annotations

import asyncio
import json
import os
import pty
from pathlib import Path

from shared_client.cli import LEDGER_ENV, MAX_COUNT_ENV, MAX_ORDERS_ENV, ExitCode
from shared_client.simulator import Fault

from .conftest import CliResult, CliRunner

LINK = "https://www.instagram.com/cli.test"
LEDGER_FIELDS = {
    "at",
    "event",
    "source",
    "sandbox",
    "service_id",
    "link",
    "count",
    "order_id",
    "cost",
    "reason",
}


def order_posts(cli: CliRunner) -> int:
    return sum(1 for request in cli.simulator.requests if request.endpoint == "order")


async def run_on_terminal(cli: CliRunner, answer: str, *args: str) -> CliResult:
    """Run with a pseudo-terminal as stdin and type ``answer`` at the prompt."""
    controller, terminal = pty.openpty()
    try:
        process = await cli.start(*args, stdin=terminal)
        os.close(terminal)
        terminal = -1
        await asyncio.to_thread(os.write, controller, answer.encode() + b"\n")
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    assert process.returncode is not None
    result = CliResult(args, process.returncode, stdout.decode(), stderr.decode())
    cli.check(result)
    return result


async def test_order_without_yes_and_without_terminal_sends_nothing(cli: CliRunner) -> None:
    result = await cli.run("order", "10", LINK, "100")
    assert result.code == ExitCode.USAGE
    assert "--yes" in result.error
    assert cli.simulator.requests == []
    assert cli.simulator.orders(cli.api_key) == []
    (record,) = cli.ledger_records()
    assert record["event"] == "refused"


async def test_order_with_piped_yes_still_needs_the_flag(cli: CliRunner) -> None:
    # "yes | happy-follower order ..." is not a person confirming.
    result = await cli.run("order", "10", LINK, "100", input_text="y\n")
    assert result.code == ExitCode.USAGE
    assert cli.simulator.requests == []


async def test_declined_on_a_terminal_is_cancelled(cli: CliRunner) -> None:
    result = await run_on_terminal(cli, "n", "order", "10", LINK, "100")
    assert result.code == ExitCode.CANCELLED
    assert "not confirmed" in result.error
    assert "Place an order of 100 from service 10" in result.stdout
    assert cli.simulator.base_url in result.stdout  # says where the money goes
    assert order_posts(cli) == 0
    (record,) = cli.ledger_records()
    assert record["event"] == "refused"


async def test_confirmed_on_a_terminal_is_placed(cli: CliRunner) -> None:
    result = await run_on_terminal(cli, "y", "order", "10", LINK, "100")
    assert result.code == ExitCode.OK
    assert "[y/N]" in result.stdout
    assert "Order 1 placed" in result.stdout
    assert order_posts(cli) == 1
    assert len(cli.simulator.orders(cli.api_key)) == 1


async def test_count_cap_refuses_before_sending(cli: CliRunner) -> None:
    env = {MAX_COUNT_ENV: "100"}
    refused = await cli.run("order", "10", LINK, "101", "--yes", env=env)
    assert refused.code == ExitCode.CANCELLED
    assert "101" in refused.error
    assert cli.simulator.requests == []
    allowed = await cli.run("order", "10", LINK, "100", "--yes", env=env)
    assert allowed.code == ExitCode.OK
    assert order_posts(cli) == 1
    events = [record["event"] for record in cli.ledger_records()]
    assert events == ["refused", "placed"]


async def test_orders_per_day_cap_counts_the_ledger_across_runs(cli: CliRunner) -> None:
    env = {MAX_ORDERS_ENV: "2"}
    for _ in range(2):
        placed = await cli.run("order", "10", LINK, "100", "--yes", env=env)
        assert placed.code == ExitCode.OK
    refused = await cli.run("order", "10", LINK, "100", "--yes", env=env)
    assert refused.code == ExitCode.CANCELLED
    assert "2 orders" in refused.error
    assert order_posts(cli) == 2
    assert len(cli.simulator.orders(cli.api_key)) == 2
    records = cli.ledger_records()
    assert [record["event"] for record in records] == ["placed", "placed", "refused"]
    assert "max_orders" not in records[-1]["reason"]  # a sentence, not an internal name
    assert "24 hours" in records[-1]["reason"]


async def test_ledger_has_a_line_per_attempt_and_no_secret(cli: CliRunner) -> None:
    sim = cli.simulator
    assert (await cli.run("order", "10", LINK, "100", "--yes")).code == ExitCode.OK
    sim.set_credit(cli.api_key, 0)
    assert (await cli.run("order", "11", LINK, "100", "--yes")).code == ExitCode.REFUSED
    sim.set_credit(cli.api_key, 100_000)
    sim.inject("order", Fault.PROCESS_THEN_DROP)
    lost = await cli.run("order", "20", LINK, "50", "--yes")
    assert lost.code == ExitCode.OUTCOME_UNKNOWN
    text = cli.ledger.read_text("utf-8")
    cli.assert_no_secret(text)
    assert cli.api_key not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == 3
    assert all(set(record) == LEDGER_FIELDS for record in records)
    assert all(record["source"] == "cli" and record["link"] == LINK for record in records)
    placed, failed, last = records
    assert placed["event"] == "placed"
    assert (placed["service_id"], placed["count"], placed["cost"]) == (10, 100, 200)
    assert placed["order_id"] == sim.orders(cli.api_key)[0].order_id
    assert failed["event"] == "failed"
    assert failed["order_id"] is None
    assert "credit" in failed["reason"].lower() or "اعتبار" in failed["reason"]
    assert last["event"] == "outcome_unknown"
    assert (last["service_id"], last["count"], last["order_id"]) == (20, 50, None)


async def test_default_ledger_is_in_the_xdg_state_dir(cli: CliRunner) -> None:
    result = await cli.run("order", "10", LINK, "100", "--yes", env={LEDGER_ENV: None})
    assert result.code == ExitCode.OK
    assert not cli.ledger.exists()
    default = cli.state_home / "happy-follower" / "audit.jsonl"
    lines = default.read_text("utf-8").splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["event"] == "placed"
    assert cli.api_key not in lines[0]


async def test_ledger_option_overrides_the_environment(cli: CliRunner, tmp_path: Path) -> None:
    chosen = tmp_path / "elsewhere" / "orders.jsonl"
    result = await cli.run("order", "10", LINK, "100", "--yes", "--ledger", str(chosen))
    assert result.code == ExitCode.OK
    assert not cli.ledger.exists()
    assert len(chosen.read_text("utf-8").splitlines()) == 1
