"""The README's command-line block, line by line, run as a process against the simulator."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared_client import protocol as p
from shared_client.cli import (
    API_KEY_ENV,
    LEDGER_ENV,
    MAX_COUNT_ENV,
    MAX_ORDERS_ENV,
    MAX_SPEND_ENV,
    UNIT_PRICES_ENV,
    ExitCode,
)
from shared_client.simulator import Fault, Simulator
from shared_client.validation import canonical_link

from .readme import REPO, prose, section
from .test_names import readme_cli_lines, readme_exit_codes

PLACEHOLDER_ORDER_ID = "1234"
CLI_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    """Runs ``python -m shared_client.cli`` as the README's ``uv run happy-follower``."""

    def __init__(self, simulator: Simulator, api_key: str, state: Path) -> None:
        self.simulator = simulator
        self.api_key = api_key
        self.state = state
        self.runs: list[Run] = []

    @property
    def ledger(self) -> Path:
        return self.state / "happy-follower" / "ledger.jsonl"

    def env(
        self, api_key: str | None = None, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAPPY_FOLLOWER_")}
        env |= {API_KEY_ENV: api_key or self.api_key, "XDG_STATE_HOME": str(self.state)}
        return env | dict(extra or {})

    async def run(
        self,
        args: Sequence[str],
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        env: Mapping[str, str] | None = None,
        stdin: int = asyncio.subprocess.DEVNULL,
    ) -> Run:
        """Run with ``--base-url`` of the simulator's root (its sandbox one for ``--sandbox``)."""
        if base_url is None:
            sandbox = "--sandbox" in args
            base_url = self.simulator.sandbox_base_url if sandbox else self.simulator.base_url
        argv = ("--base-url", base_url, *args)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shared_client.cli",
            *argv,
            cwd=REPO,
            env=self.env(api_key, env),
            stdin=stdin,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
        assert process.returncode is not None
        run = Run(tuple(args), process.returncode, out.decode(), err.decode())
        self.runs.append(run)
        # "The API key is read from HAPPY_FOLLOWER_API_KEY and never printed."
        assert (api_key or self.api_key) not in run.output, run
        return run


@pytest.fixture
def cli(simulator: Simulator, api_key: str, tmp_path: Path) -> Cli:
    return Cli(simulator, api_key, tmp_path / "state")


def _ledger(cli: Cli) -> list[dict[str, object]]:
    if not cli.ledger.exists():
        return []
    audit = cli.ledger.read_text(encoding="utf-8")
    assert cli.api_key not in audit  # "An audit record of every attempt ..., never with a secret"
    return [json.loads(line) for line in audit.splitlines()]


def _order_ids(simulator: Simulator, api_key: str) -> list[int]:
    return [order.order_id for order in simulator.orders(api_key)]


async def test_readme_command_line_block(cli: Cli, simulator: Simulator, api_key: str) -> None:
    """Every ``uv run happy-follower`` line, in the README's order, exits 0 and does its job."""
    lines = readme_cli_lines()
    assert len(lines) == 9
    completed: int | None = None  # the order `order` placed, delivered before `status`
    for line in lines:
        command, args = await _runnable(line, simulator, api_key, completed)
        before = len(simulator.requests)
        run = await cli.run(args)
        assert run.code == ExitCode.OK, run
        sent = simulator.requests[before:]
        assert sent, run
        assert {request.sandbox for request in sent} == {"--sandbox" in args}, run
        completed = _check_line(command, args, run, cli, completed)


async def _runnable(
    line: Sequence[str], simulator: Simulator, api_key: str, completed: int | None
) -> tuple[str, list[str]]:
    """The README line's command, and its arguments made runnable here."""
    args = list(line)
    command = next(word for word in args if not word.startswith("-"))
    if command in ("order", "confirm-price"):
        args.append("--yes")  # no terminal to confirm on
    if PLACEHOLDER_ORDER_ID in args:
        assert completed is not None, "an order id is used before `order` placed one"
        if command == "cancel":
            # Only a running order can be canceled: place one that is still registered.
            order_id = await _place_registered(simulator, api_key)
        else:
            order_id = completed
        args = [str(order_id) if word == PLACEHOLDER_ORDER_ID else word for word in args]
    return command, args


def _check_line(
    command: str, args: list[str], run: Run, cli: Cli, completed: int | None
) -> int | None:
    """Check that the line did its job; returns the order delivered for the later lines."""
    simulator, api_key = cli.simulator, cli.api_key
    match command:
        case "credit":
            credit = simulator.credit(api_key, sandbox="--sandbox" in args)
            assert run.stdout.strip() == f"Credit: {credit:,g}", run
        case "services" if "--json" in args:
            services = json.loads(run.stdout)
            assert [s["service_id"] for s in services] == [10, 11, 20, 21, 30, 31]
        case "services":
            assert re.findall(r"^\s*(\d+)  ", run.stdout, re.M) == [
                "10", "11", "20", "21", "30", "31"
            ]  # fmt: skip
        case "confirm-price":
            (price,) = [line for line in _ledger(cli) if line["event"] == "price"]
            assert (price["service_id"], price["unit_price"]) == (int(args[1]), 2.0), run
        case "order":
            (order,) = simulator.orders(api_key)
            assert (order.service_id, order.link, order.count) == (
                int(args[1]),
                canonical_link(args[2]),  # the link as the input policy writes it
                int(args[3]),
            )
            assert f"Order {order.order_id} placed" in run.stdout
            # "Every attempt is written to the ledger before it is sent and its outcome after"
            assert [(r["event"], r["order_id"]) for r in _ledger(cli)] == [
                ("attempt", None),
                ("placed", order.order_id),
            ]
            simulator.advance(3600)  # delivered: `status --watch` sees it final at once
            return order.order_id
        case "status":
            assert re.findall(r"^Order (\d+): .*completed", run.stdout, re.M) == [str(completed)]
        case "cancel":
            canceled = simulator.orders(api_key)[-1]
            assert str(canceled.order_id) in args
            assert canceled.status == p.STATUS_CANCELED
        case "recheck":
            rechecked = simulator.orders(api_key)[0]
            assert rechecked.order_id == completed
            assert rechecked.recheck_count == 1
        case _:
            raise AssertionError(f"no check for {args}")
    return completed


async def _place_registered(simulator: Simulator, api_key: str) -> int:
    from shared_client import HappyFollowerClient

    async with HappyFollowerClient(api_key, base_url=simulator.base_url) as client:
        order_id = await client.place_order(
            service_id=10, link="https://www.instagram.com/yourpage", count=100
        )
    (order,) = [o for o in simulator.orders(api_key) if o.order_id == order_id]
    assert order.status == p.STATUS_REGISTERED
    return order_id


async def test_status_watch_follows_until_final(
    cli: Cli, simulator: Simulator, api_key: str
) -> None:
    """``status --watch`` keeps checking while the order runs and ends once it is final."""
    order_id = await _place_registered(simulator, api_key)
    watch = asyncio.create_task(cli.run(["status", str(order_id), "--watch", "--interval", "0.1"]))
    for _ in range(int(CLI_TIMEOUT / 0.05)):
        await asyncio.sleep(0.05)
        if watch.done():
            break
        # Once the first check has seen the order running, deliver it 2 seconds at a time.
        if any(request.endpoint == "status" for request in simulator.requests):
            simulator.advance(2)
    run = await watch
    assert run.code == ExitCode.OK, run
    states = re.findall(r"^Order \d+: .* (\w+) \(", run.stdout, re.M)
    assert len(states) >= 2
    assert states[0] in (p.STATUS_REGISTERED, p.STATUS_IN_PROGRESS)
    assert states[-1] == p.STATUS_COMPLETED
    assert states.count(p.STATUS_COMPLETED) == 1


async def test_cancel_and_recheck_do_not_exist_in_the_sandbox(
    cli: Cli, simulator: Simulator, api_key: str
) -> None:
    """``# cancel and recheck do not exist in the sandbox``: refused, nothing sent."""
    for command in ("cancel", "recheck"):
        before = len(simulator.requests)
        run = await cli.run(["--sandbox", command, "1"])
        assert run.code == ExitCode.USAGE, run
        assert "sandbox" in run.stderr
        assert not [r for r in simulator.requests[before:] if r.endpoint == command]


async def test_order_asks_before_spending(cli: Cli, simulator: Simulator, api_key: str) -> None:
    """``order`` asks for confirmation unless ``--yes``: "n" places nothing, "y" places it."""
    order = next(args for args in readme_cli_lines() if args[0] == "order")
    for answer, code in (("n", ExitCode.CANCELLED), ("y", ExitCode.OK)):
        controller, terminal = os.openpty()
        try:
            os.write(controller, f"{answer}\n".encode())
            run = await cli.run(order, stdin=terminal)
        finally:
            os.close(terminal)
            os.close(controller)
        assert run.code == code, run
        assert "This spends credit. [y/N]" in run.stdout
    assert len(simulator.orders(api_key)) == 1
    assert [r["event"] for r in _ledger(cli)] == ["refused", "attempt", "placed"]

    # Without a terminal to ask on, and without --yes, nothing is spent either.
    run = await cli.run(order)
    assert run.code != ExitCode.OK
    assert "--yes" in run.stderr
    assert len(simulator.orders(api_key)) == 1


async def test_simulate_prints_a_key_for_base_url(cli: Cli, tmp_path: Path) -> None:
    """``happy-follower simulate`` prints an API key to use with ``--base-url``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared_client.cli",
        "simulate",
        "--port",
        "0",
        cwd=REPO,
        env=cli.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any("happy-follower --base-url" in line for line in lines):
            line = await asyncio.wait_for(process.stdout.readline(), CLI_TIMEOUT)
            assert line, lines
            lines.append(line.decode())
        printed = "".join(lines)
        key = re.search(rf"export {API_KEY_ENV}=(\S+)", printed)
        root = re.search(r"happy-follower --base-url (\S+) credit", printed)
        assert key is not None, printed
        assert root is not None, printed
        run = await cli.run(["credit"], base_url=root.group(1), api_key=key.group(1))
        assert run.code == ExitCode.OK, run
        assert run.stdout.startswith("Credit: "), run
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), CLI_TIMEOUT)


# --- exit codes: each situation the README names gives the code it names -----------------


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


ORDER = ["order", "10", "https://www.instagram.com/yourpage", "100", "--yes"]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (ExitCode.ERROR, "unexpected error"),
        (ExitCode.USAGE, "bad input (nothing sent)"),
        (ExitCode.AUTH, "API key refused"),
        (ExitCode.UNAVAILABLE, "service unreachable"),
        (ExitCode.UNAVAILABLE, "rate limited"),
        (ExitCode.REFUSED, "not enough credit"),
        (ExitCode.OUTCOME_UNKNOWN, "an order was sent but no answer came back"),
        (ExitCode.CANCELLED, "refused by a cap"),
    ],
)
async def test_exit_codes(
    cli: Cli, simulator: Simulator, api_key: str, code: ExitCode, words: str
) -> None:
    assert words in readme_exit_codes()[code.value]
    before = len(simulator.requests)
    orders_before = len(simulator.orders(api_key))
    match words:
        case "unexpected error":
            simulator.inject("credit", Fault.MALFORMED_JSON, times=None)
            run = await cli.run(["credit"])
        case "bad input (nothing sent)":
            run = await cli.run(["order", "10", "https://www.instagram.com/yourpage", "ten"])
            assert simulator.requests[before:] == []
        case "API key refused":
            run = await cli.run(["credit"], api_key="not-a-key-of-this-simulator")
        case "service unreachable":
            run = await cli.run(["--timeout", "2", "credit"], base_url=_closed_port_url())
        case "rate limited":
            simulator.inject("credit", Fault.RATE_LIMITED, times=None)
            run = await cli.run(["credit"])
        case "not enough credit":
            poor = simulator.add_account(credit=0)
            run = await cli.run(ORDER, api_key=poor)
            assert simulator.orders(poor) == []
        case "an order was sent but no answer came back":
            simulator.inject("order", Fault.PROCESS_THEN_DROP)
            run = await cli.run(ORDER)
            # It was placed once, and not sent again.
            assert len(simulator.orders(api_key)) == orders_before + 1
            assert sum(r.endpoint == "order" for r in simulator.requests[before:]) == 1
        case "refused by a cap":
            run = await cli.run(ORDER, env={MAX_COUNT_ENV: "50"})
            assert not [r for r in simulator.requests[before:] if r.endpoint == "order"]
            assert [r["event"] for r in _ledger(cli)] == ["refused"]
        case _:
            raise AssertionError(words)
    assert run.code == code, run
    assert run.stdout == ""
    assert run.stderr.startswith("error: ")
    assert run.stderr.count("\n") == 1
    if code is not ExitCode.OUTCOME_UNKNOWN:
        assert len(simulator.orders(api_key)) == orders_before


async def test_unusable_ledger_exit_code(cli: Cli, simulator: Simulator) -> None:
    """``8`` the ledger cannot be used (nothing sent)."""
    assert readme_exit_codes()[ExitCode.LEDGER.value] == "the ledger cannot be used (nothing sent)"
    blocker = cli.state / "a-file"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    run = await cli.run(ORDER, env={LEDGER_ENV: str(blocker / "ledger.jsonl")})
    assert run.code == ExitCode.LEDGER, run
    assert run.stderr.startswith("error: ")
    assert str(blocker / "ledger.jsonl") in run.stderr
    assert simulator.requests == []


@pytest.mark.parametrize(
    ("cap", "value", "placed"),
    [(MAX_COUNT_ENV, "50", 0), (MAX_ORDERS_ENV, "1", 1), (MAX_SPEND_ENV, "300", 1)],
)
async def test_order_caps(
    cli: Cli, simulator: Simulator, api_key: str, cap: str, value: str, placed: int
) -> None:
    """``order`` checks each cap over the orders the ledger holds; the spend cap with the
    price per unit the README says to set (``HAPPY_FOLLOWER_UNIT_PRICES``)."""
    the_command_line = prose(section("The command line"))
    assert f"`{cap}`" in the_command_line
    assert f"`{UNIT_PRICES_ENV}`" in the_command_line
    # 100 likes of service 10 cost 200.
    env = {cap: value, UNIT_PRICES_ENV: "10=2"}
    runs = [await cli.run(ORDER, env=env) for _ in range(placed + 1)]
    assert [run.code for run in runs] == [ExitCode.OK] * placed + [ExitCode.CANCELLED]
    assert len(simulator.orders(api_key)) == placed
    assert [r["event"] for r in _ledger(cli)] == ["attempt", "placed"] * placed + ["refused"]


async def test_demo_terminal_only(cli: Cli) -> None:
    """``demo`` walks through credit, services and an order watched to completion;
    ``--terminal-only`` stops after that part."""
    try_it = prose(section("Try it, test it"))
    assert "(credit, services, an order watched to completion)" in try_it
    assert "`--terminal-only` stops after the terminal part" in try_it
    run = await cli.run(["demo", "--terminal-only", "--tick", "0.01"])
    assert run.code == ExitCode.OK, run
    assert re.search(r"^1\. Credit: [\d,]+$", run.stdout, re.M), run.stdout
    assert re.findall(r"^\s+(\d+)  ", run.stdout, re.M) == ["10", "11", "20", "21", "30", "31"]
    bars = re.findall(r"^\s+\[[#-]+\].* (\w+) \(", run.stdout, re.M)
    assert bars[0] == p.STATUS_REGISTERED
    assert bars[-1] == p.STATUS_COMPLETED
