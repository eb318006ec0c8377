"""What the CLI tells a person (issue 10): hints to paste, Ctrl-C while watching, why the
service refused an order's parameters, warnings from the library, the demo's busy ports."""

from __future__ import annotations

import asyncio
import signal
import socket

import pytest

from shared_client import LIVE_API_ROOT, SANDBOX_API_ROOT, HappyFollowerClient
from shared_client.cli import BASE_URL_ENV, SANDBOX_ENV, ExitCode
from shared_client.simulator import Fault

from .conftest import HINT, RUN_TIMEOUT, CliResult, CliRunner, free_port

LINK = "https://www.instagram.com/cli.hints"


async def test_ctrl_c_while_watching_says_the_order_keeps_running(
    cli: CliRunner, client: HappyFollowerClient
) -> None:
    order_id = await client.place_order(service_id=10, link=LINK, count=100)
    process = await cli.start(
        "--sandbox", "status", str(order_id), "--watch", "--interval", "30",
        base_url=cli.simulator.base_url,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        async with asyncio.timeout(20):
            first = await process.stdout.readline()  # the first check is printed
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            rest, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    result = CliResult(
        ("status",), process.returncode or 0, (first + rest).decode(), stderr.decode()
    )
    cli.check(result)
    assert result.code == ExitCode.OK
    assert f"Order {order_id}: [" in result.stdout
    # The command to look again keeps --sandbox and --base-url as they were given.
    assert (
        f"Stopped watching. Order {order_id} keeps running at Happy Follower; look again with: "
        f"{HINT} --sandbox --base-url {cli.simulator.base_url} status {order_id} --watch"
    ) in result.stdout
    assert cli.simulator.orders(cli.api_key)[0].status == "registered"  # untouched


async def test_refused_parameters_say_what_is_likely_wrong(cli: CliRunner) -> None:
    # Service 10 takes at least 10: our checks pass 5, the vendor refuses it.
    result = await cli.run("order", "10", LINK, "5", "--yes")
    assert result.code == ExitCode.REFUSED
    error = result.error
    assert "پارامترهای ارسالی نامعتبر است" in error  # the service's own words
    assert "Most likely the count is outside this service's minimum or maximum" in error
    assert "a post's link for likes and views, a profile's for followers" in error
    assert "happy-follower.com" in error  # where to look
    assert f"`{HINT} --base-url {cli.simulator.base_url} services`" in error
    assert len(cli.simulator.orders(cli.api_key)) == 0
    assert cli.ledger_events() == ["attempt", "failed"]


async def test_not_enough_credit_is_not_explained_as_parameters(cli: CliRunner) -> None:
    cli.simulator.set_credit(cli.api_key, 10)
    result = await cli.run("order", "10", LINK, "100", "--yes")
    assert result.code == ExitCode.REFUSED
    assert "Most likely" not in result.error


async def test_library_warnings_are_warning_lines(cli: CliRunner) -> None:
    cli.simulator.inject("status", Fault.SERVER_ERROR_HTML, times=None)
    result = await cli.run("order", "10", LINK, "100", "--yes")
    assert result.code == ExitCode.OK
    (warning,) = result.warnings
    assert warning.startswith("Order 1 placed; its status could not be read")
    assert result.stdout.startswith("Order 1 placed")


def _listen() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", free_port()))
    sock.listen()
    return sock


async def test_demo_reports_every_busy_port_before_the_tour(cli: CliRunner) -> None:
    stack = pytest.importorskip("demo.stack")
    if not stack.full_stack_available():  # the oldest Python's lane has no Home Assistant
        pytest.skip("the full demo (Home Assistant, the MCP SDK) is not installed here")
    with _listen() as home_assistant, _listen() as mcp:
        ha_port, mcp_port = home_assistant.getsockname()[1], mcp.getsockname()[1]
        result = await cli.run(
            "demo", "--ha-port", str(ha_port), "--mcp-port", str(mcp_port), "--tick", "0",
            base_url=None, api_key=None,
        )  # fmt: skip
    assert result.code == ExitCode.ERROR
    assert result.stdout == ""  # the terminal tour did not start
    error = result.error
    assert f"port {ha_port} is already in use (another Home Assistant" in error
    assert "--ha-port" in error
    assert f"port {mcp_port} is already in use (another MCP server" in error
    assert "--mcp-port" in error


async def test_ctrl_c_while_the_order_is_sent_is_outcome_unknown(cli: CliRunner) -> None:
    sim = cli.simulator
    sim.inject("order", Fault.PROCESS_THEN_SLOW, delay=3600)  # held until released
    process = await cli.start("order", "10", LINK, "100", "--yes")
    try:
        async with asyncio.timeout(RUN_TIMEOUT):  # a real process starting, on a loaded machine
            await sim.wait_until_held("order")
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    result = CliResult(("order",), process.returncode or 0, stdout.decode(), stderr.decode())
    cli.check(result)
    assert result.code == ExitCode.OUTCOME_UNKNOWN
    assert "interrupted while the order was being sent: it may have been placed" in result.error
    assert f"`{HINT} --base-url {sim.base_url} credit`" in result.error
    assert cli.ledger_events() == ["attempt", "outcome_unknown"]
    await sim.release_held()  # no request left hanging when the simulator stops


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--sandbox", "--base-url", LIVE_API_ROOT, "credit"), {}),
        (("--base-url", SANDBOX_API_ROOT, "order", "10", LINK, "100", "--yes"), {}),
        (("probe",), {BASE_URL_ENV: LIVE_API_ROOT}),  # the probe is on the sandbox
        (("--base-url", LIVE_API_ROOT, "credit"), {SANDBOX_ENV: "true"}),
    ],
)
async def test_sandbox_with_the_other_environments_root_is_an_error(
    cli: CliRunner, args: tuple[str, ...], env: dict[str, str]
) -> None:
    result = await cli.run(*args, base_url=None, env=env)
    assert result.code == ExitCode.USAGE
    assert "--base-url is the vendor's" in result.error
    assert cli.simulator.requests == []
    assert not cli.ledger.exists()
