"""Spend safety of ``order``: confirmation, caps, and the audit ledger."""

from __future__ import annotations

import asyncio
import json
import os
import pty
from pathlib import Path

from shared_client.cli import LEDGER_ENV, MAX_COUNT_ENV, MAX_ORDERS_ENV, ExitCode
from shared_client.ledger import AuditRecord
from shared_client.simulator import Fault

from .conftest import CliResult, CliRunner

LINK = "https://www.instagram.com/cli.test"
SENT = LINK + "/"  # LINK as the input policy writes it (its canonical form)


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
    assert cli.order_posts() == 0
    assert cli.simulator.orders(cli.api_key) == []
    (record,) = cli.ledger_records()
    assert record["event"] == "refused"


async def test_order_with_piped_yes_still_needs_the_flag(cli: CliRunner) -> None:
    # "yes | happy-follower order ..." is not a person confirming.
    result = await cli.run("order", "10", LINK, "100", input_text="y\n")
    assert result.code == ExitCode.USAGE
    assert cli.order_posts() == 0


async def test_declined_on_a_terminal_is_cancelled(cli: CliRunner) -> None:
    result = await run_on_terminal(cli, "n", "order", "10", LINK, "100")
    assert result.code == ExitCode.CANCELLED
    assert "not confirmed" in result.error
    # The prompt names the service (its name as the services list gives it), the link
    # exactly as it will be sent, the count, and where the money goes.
    # The simulator is never called LIVE (its root is a loopback address).
    label = f"SIMULATOR (live API's shape, not the vendor), {cli.simulator.base_url}"
    assert f"Place this Happy Follower order? ({label})" in result.stdout
    assert "Service: 10 - لایک ایرانی(سرعت متوسط)" in result.stdout
    assert f"Link: {SENT}\n" in result.stdout
    assert "Count: 100" in result.stdout
    assert "This spends credit. [y/N]" in result.stdout
    assert cli.order_posts() == 0
    (record,) = cli.ledger_records()
    assert record["event"] == "refused"
    assert "not confirmed" in record["reason"]


async def test_with_json_the_question_is_asked_on_stderr(cli: CliRunner) -> None:
    """``--json order … | jq`` on a terminal: the person sees the question, and standard
    output holds nothing but the JSON."""
    result = await run_on_terminal(cli, "y", "--json", "order", "10", LINK, "100")
    assert result.code == ExitCode.OK
    assert "Count: 100" in result.stderr
    assert result.stderr.endswith("This spends credit. [y/N] ")
    placed = json.loads(result.stdout)
    assert placed["order_id"] == 1
    assert cli.order_posts() == 1


async def test_confirmed_on_a_terminal_is_placed(cli: CliRunner) -> None:
    result = await run_on_terminal(cli, "y", "order", "10", LINK, "100")
    assert result.code == ExitCode.OK
    assert "[y/N]" in result.stdout
    assert "Order 1 placed" in result.stdout
    assert cli.order_posts() == 1
    assert len(cli.simulator.orders(cli.api_key)) == 1
    attempt, placed = cli.ledger_records()
    assert attempt["confirmed_by"] == "user at the CLI prompt"
    assert placed["event"] == "placed"


async def test_count_cap_refuses_before_sending(cli: CliRunner) -> None:
    env = {MAX_COUNT_ENV: "100"}
    refused = await cli.run("order", "10", LINK, "101", "--yes", env=env)
    assert refused.code == ExitCode.CANCELLED
    assert "101" in refused.error
    assert cli.order_posts() == 0
    allowed = await cli.run("order", "10", LINK, "100", "--yes", env=env)
    assert allowed.code == ExitCode.OK
    assert cli.order_posts() == 1
    assert cli.ledger_events() == ["refused", "attempt", "placed"]


async def test_orders_per_day_cap_counts_the_ledger_across_runs(cli: CliRunner) -> None:
    env = {MAX_ORDERS_ENV: "2"}
    for _ in range(2):
        placed = await cli.run("order", "10", LINK, "100", "--yes", env=env)
        assert placed.code == ExitCode.OK
    refused = await cli.run("order", "10", LINK, "100", "--yes", env=env)
    assert refused.code == ExitCode.CANCELLED
    assert "2 orders" in refused.error
    assert cli.order_posts() == 2
    assert len(cli.simulator.orders(cli.api_key)) == 2
    records = cli.ledger_records()
    assert cli.ledger_events() == ["attempt", "placed"] * 2 + ["refused"]
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
    assert len(records) == 6  # an attempt written ahead, then its outcome, for each
    # Every field on every line (tests/client/test_ledger.py pins the list itself).
    assert all(set(record) == set(AuditRecord.model_fields) for record in records)
    assert all(record["source"] == "cli" and record["link"] == SENT for record in records)
    attempts = records[0::2]
    assert [r["event"] for r in attempts] == ["attempt"] * 3
    assert all(r["confirmed_by"] == "--yes" for r in attempts)
    assert len({r["attempt_id"] for r in attempts}) == 3
    placed, failed, last = records[1::2]
    assert [r["attempt_id"] for r in records[1::2]] == [r["attempt_id"] for r in attempts]
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
    # The MCP server's default ledger too: their orders share the caps.
    default = cli.state_home / "happy-follower" / "ledger.jsonl"
    lines = default.read_text("utf-8").splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["attempt", "placed"]
    assert cli.api_key not in default.read_text("utf-8")


async def test_ledger_option_overrides_the_environment(cli: CliRunner, tmp_path: Path) -> None:
    chosen = tmp_path / "elsewhere" / "orders.jsonl"
    result = await cli.run("order", "10", LINK, "100", "--yes", "--ledger", str(chosen))
    assert result.code == ExitCode.OK
    assert not cli.ledger.exists()
    assert len(chosen.read_text("utf-8").splitlines()) == 2
