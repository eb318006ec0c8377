"""A newcomer's first hour (issue "without a stumble"): hints that run where the person is,
the global options after the command, settings given the wrong way, the count's range under
the cap, the simulator never called LIVE, the cost in ``status``, the ledger's refusals in
``orders``, and a help text for every option."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import shutil
import signal
import sys
from pathlib import Path

import pytest

from shared_client import LIVE_API_ROOT, SANDBOX_API_ROOT, HappyFollowerClient
from shared_client.cli import (
    API_KEY_ENV,
    LEDGER_ENV,
    MAX_COUNT_ENV,
    ExitCode,
    build_parser,
    environment_label,
    main,
)

from .conftest import HINT, REPO_ROOT, CliRunner, free_port
from .test_order_safety import run_on_terminal
from .test_simulate_and_demo import read_until

LINK = "https://www.instagram.com/cli.newcomer"


# --- 1. hints run where the person is ---------------------------------------------------


def _shell_env(cli: CliRunner, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A person's shell in the clone: the environment's ``bin`` is not on PATH (only
    ``uv run`` puts it there), uv is."""
    env = cli.env(api_key=cli.api_key)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if part and part != venv_bin
    )
    env.pop("VIRTUAL_ENV", None)
    env["UV_NO_SYNC"] = "1"  # the environment is the one the tests run in: leave it be
    return env | (extra or {})


def _require_uv(env: dict[str, str]) -> None:
    if shutil.which("uv", path=env["PATH"]) is None:
        pytest.skip("uv is not on PATH here")
    assert shutil.which("happy-follower", path=env["PATH"]) is None, (
        "this test needs a shell where the bare command is not found"
    )


async def _run_in_shell(line: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run a pasted line as a shell runs it."""
    process = await asyncio.create_subprocess_exec(
        "/bin/sh", "-c", line, cwd=cwd, env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_order_hint_runs_as_printed_from_the_clone(cli: CliRunner) -> None:
    env = _shell_env(cli)
    _require_uv(env)
    placed = await cli.run("order", "10", LINK, "100", "--yes")
    assert placed.code == ExitCode.OK
    match = re.search(r"Follow it with: (.+)$", placed.stdout, re.M)
    assert match is not None, placed.stdout
    hint = match.group(1)
    assert hint.startswith(f"{HINT} --base-url ")
    cli.simulator.advance(3600)  # delivered: --watch ends at once
    code, out, err = await _run_in_shell(hint, env, REPO_ROOT)
    cli.assert_no_secret(out, err)
    assert code == ExitCode.OK, err
    assert re.search(r"^Order 1: .* delivered  cost 200  completed", out, re.M), out


async def test_a_hint_printed_outside_the_clone_names_the_project(
    cli: CliRunner, tmp_path: Path
) -> None:
    env = _shell_env(cli)
    _require_uv(env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    process = await asyncio.create_subprocess_exec(
        *cli.command(("order", "10", LINK, "100", "--yes"), cli.simulator.base_url),
        cwd=elsewhere, env=cli.env(api_key=cli.api_key),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(30):
        out, _ = await process.communicate()
    match = re.search(r"Follow it with: (.+)$", out.decode(), re.M)
    assert match is not None, out
    hint = match.group(1)
    assert hint.startswith(shlex.join(["uv", "run", "--project", str(REPO_ROOT)]))
    cli.simulator.advance(3600)  # delivered: --watch ends at once
    code, status, err = await _run_in_shell(hint, env, elsewhere)
    assert code == ExitCode.OK, err
    assert "Order 1: [" in status


async def test_the_simulate_hint_runs_as_printed(cli: CliRunner) -> None:
    env = _shell_env(cli)
    _require_uv(env)
    port = free_port()
    process = await cli.start(
        "simulate", "--port", str(port), "--credit", "4321", base_url=None, api_key=None
    )
    assert process.stdout is not None
    try:
        banner = await read_until(process.stdout, " credit\n")
        tried = banner.split("Try it from another terminal:\n", 1)[1]
        export, hint = (line.strip() for line in tried.strip().splitlines())
        assert export.startswith(f"export {API_KEY_ENV}=")
        assert hint == f"{HINT} --base-url http://127.0.0.1:{port}/api/v1 credit"
        code, out, err = await _run_in_shell(
            f"{export}\n{hint}", _shell_env(cli, {API_KEY_ENV: ""}), REPO_ROOT
        )
        assert code == ExitCode.OK, err
        assert out.strip() == "Credit: 4,321"
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            await process.communicate()


# --- 2. the global options after the command ----------------------------------------------


def test_global_options_parse_before_and_after_the_command() -> None:
    parser = build_parser()
    plain = parser.parse_args(["orders"])
    assert (plain.json, plain.sandbox, plain.base_url, plain.timeout) == (False, False, None, 20.0)
    for argv in (
        ["--json", "--sandbox", "--base-url", "http://x/api", "--timeout", "5", "orders"],
        ["orders", "--json", "--sandbox", "--base-url", "http://x/api", "--timeout", "5"],
        ["--json", "--timeout", "5", "orders", "--sandbox", "--base-url", "http://x/api"],
    ):
        args = parser.parse_args(argv)
        assert (args.json, args.sandbox, args.base_url, args.timeout) == (
            True, True, "http://x/api", 5.0
        ), argv  # fmt: skip
    # One not given after the command leaves the one given before it alone.
    assert parser.parse_args(["--json", "probe"]).json is True
    assert parser.parse_args(["probe", "--json"]).json is True


async def test_json_after_the_command_runs(cli: CliRunner) -> None:
    credit = await cli.run("credit", "--json")
    assert credit.code == ExitCode.OK
    assert credit.json() == {"credit": cli.simulator.credit(cli.api_key)}
    orders = await cli.run("orders", "--json", "--timeout", "5")
    assert orders.code == ExitCode.OK
    assert orders.json()["orders"] == []
    sandbox = await cli.run(
        "credit", "--sandbox", "--base-url", cli.simulator.sandbox_base_url, base_url=None
    )
    assert sandbox.code == ExitCode.OK
    assert {request.sandbox for request in cli.simulator.requests} == {False, True}


# --- 3. a setting given the wrong way ------------------------------------------------------


SECRET = "typed-key-abc123"


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-key", SECRET, "credit"],
        ["credit", "--api-key", SECRET],
        ["credit", f"--api-key={SECRET}"],
        ["credit", f"{API_KEY_ENV}={SECRET}"],
        ["services", f"api_key={SECRET}"],
    ],
)
def test_the_api_key_as_an_option_names_its_variable_and_is_not_echoed(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert SECRET not in err
    assert err.startswith("error: the API key is not an option or an argument")
    assert f"${API_KEY_ENV} only" in err
    assert "shell's history" in err
    assert err.count("\n") == 1


def test_a_cap_after_the_wrong_command_says_where_it_goes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["credit", "--max-count-per-order", "5"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "`--max-count-per-order` is not an option of credit" in err
    assert "an option of order, orders, confirm-price" in err
    assert f"${MAX_COUNT_ENV} sets it for every command" in err
    assert main(["orders", f"{LEDGER_ENV}=/tmp/l.jsonl"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"`{LEDGER_ENV}=...` is not an argument of orders: write it `--ledger`" in err
    assert "/tmp/l.jsonl" not in err
    assert main(["order", "--max_count_per_order", "5", "10", LINK, "3"]) == ExitCode.USAGE
    assert "write it `--max-count-per-order`" in capsys.readouterr().err


def test_other_mistakes_keep_argparse_s_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bogus", "credit"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: happy-follower")
    assert "error: unrecognized arguments: --bogus" in err


# --- 4. the count's range is the cap's ----------------------------------------------------


@pytest.mark.parametrize(
    ("cap", "most"), [(None, "1000"), ("50", "50"), ("none", "2147483647")]
)  # fmt: skip
async def test_a_refused_count_names_the_cap_in_effect(
    cli: CliRunner, cap: str | None, most: str
) -> None:
    env = {MAX_COUNT_ENV: cap} if cap is not None else None
    result = await cli.run("order", "10", LINK, "1,000", "--yes", env=env)
    assert result.code == ExitCode.USAGE
    assert f"count must be a whole number from 1 to {most} " in result.error
    assert "got '1,000'" in result.error
    if cap != "none":
        assert "2147483647" not in result.error
        assert f"--max-count-per-order or ${MAX_COUNT_ENV}" in result.error
    assert cli.order_posts() == 0
    assert cli.ledger_events() == ["refused"]  # the guard audited it, as before


# --- 5. the simulator is the simulator -----------------------------------------------------


def test_environment_labels() -> None:
    sim_live = HappyFollowerClient("k", base_url="http://127.0.0.1:8787/api/v1")
    assert environment_label(sim_live) == (
        "SIMULATOR (live API's shape, not the vendor), http://127.0.0.1:8787/api/v1"
    )
    sim_sandbox = HappyFollowerClient(
        "k", sandbox=True, base_url="http://localhost:8787/api/sandbox/v1"
    )
    assert environment_label(sim_sandbox) == (
        "SIMULATOR (sandbox shape, not the vendor), http://localhost:8787/api/sandbox/v1"
    )
    assert environment_label(HappyFollowerClient("k")) == f"LIVE, {LIVE_API_ROOT}"
    assert environment_label(HappyFollowerClient("k", sandbox=True)) == (
        f"SANDBOX, {SANDBOX_API_ROOT}"
    )
    # A mirror elsewhere is not the simulator, whatever its path.
    mirror = HappyFollowerClient("k", base_url="https://mirror.example/api/v1")
    assert environment_label(mirror).startswith("LIVE, ")


async def test_the_confirmation_and_orders_say_simulator(cli: CliRunner) -> None:
    base = cli.simulator.base_url
    confirmed = await run_on_terminal(cli, "y", "order", "10", LINK, "100")
    assert confirmed.code == ExitCode.OK
    label = f"SIMULATOR (live API's shape, not the vendor), {base}"
    assert f"Place this Happy Follower order? ({label})\n" in confirmed.stdout
    assert "LIVE" not in confirmed.stdout
    orders = await cli.run("orders")
    assert orders.code == ExitCode.OK
    assert f"the API in use is the SIMULATOR at {base}, not the vendor" in orders.stdout
    assert "(live)" not in orders.stdout
    data = (await cli.run("--json", "orders")).json()
    assert (data["environment"], data["simulator"], data["api_root"]) == ("live", True, base)


# --- 6. the cost in status, the refusals in orders -----------------------------------------


async def test_status_shows_the_cost(cli: CliRunner) -> None:
    assert (await cli.run("order", "10", LINK, "100", "--yes")).code == ExitCode.OK
    cli.simulator.advance(3600)
    result = await cli.run("status", "1")
    assert result.code == ExitCode.OK
    assert "100/100 delivered  cost 200  completed (" in result.stdout


async def test_orders_refusals_lists_what_the_ledger_refused(cli: CliRunner) -> None:
    refused = await cli.run("order", "10", LINK, "5000", "--yes")
    assert refused.code == ExitCode.CANCELLED
    assert (await cli.run("order", "10", LINK, "100")).code == ExitCode.USAGE  # no terminal
    plain = await cli.run("orders")
    assert "Refused before sending" not in plain.stdout
    listed = await cli.run("orders", "--refusals")
    assert listed.code == ExitCode.OK
    lines = listed.stdout.split("Refused before sending (nothing was sent):\n", 1)[1]
    newest, oldest = lines.splitlines()
    assert "service 10  x100  @cli.newcomer  (cli): refusing to order without confirmation" in (
        newest
    )
    assert "x5000" in oldest
    assert "1000" in oldest  # the cap, as the guard worded it
    data = (await cli.run("--json", "orders", "--refusals", "--limit", "1")).json()
    assert [item["count"] for item in data["refusals"]] == [100]
    empty = await cli.run(
        "--sandbox", "orders", "--refusals", base_url=cli.simulator.sandbox_base_url
    )
    assert "  No refusals." in empty.stdout  # the sandbox's refusals are its own


# --- 7. every option has a help text --------------------------------------------------------


def _walk(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:  # argparse has no public walk
        found.append((path, action))
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _walk(sub, f"{path} {name}")
    return found


def test_every_option_of_every_command_has_help() -> None:
    actions = _walk(build_parser(), "happy-follower")
    assert len({path for path, _ in actions}) > 10  # the commands were walked
    missing = [
        f"{path}: {action.option_strings or action.dest}"
        for path, action in actions
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS
    ]
    assert missing == []
