"""``happy-follower simulate`` serves until stopped; ``demo --terminal-only`` runs to its end."""

from __future__ import annotations

import asyncio
import io
import json
import re
import signal
from dataclasses import astuple

import pytest
from yarl import URL

from demo.stack import DemoAccess, order_title, print_access
from shared_client import HappyFollowerClient
from shared_client.cli import API_KEY_ENV, ExitCode
from shared_client.cli.tour import DEMO_CREDIT, TOUR_TEXTS, guided_tour
from shared_client.simulator import Simulator

from .conftest import CliResult, CliRunner, free_port

SIM_KEY = "simulated-key-for-the-cli-test"


async def read_until(stream: asyncio.StreamReader, marker: str) -> str:
    """Read lines until one contains marker; return everything read."""
    text = ""
    async with asyncio.timeout(20):
        while marker not in text:
            line = await stream.readline()
            if not line:
                pytest.fail(f"the process closed stdout before printing {marker!r}: {text!r}")
            text += line.decode()
    return text


async def test_simulate_prints_its_urls_serves_and_stops_on_ctrl_c(cli: CliRunner) -> None:
    port = free_port()
    process = await cli.start(
        "simulate", "--port", str(port), "--api-key", SIM_KEY, "--credit", "4321",
        base_url=None, api_key=None,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        banner = await read_until(process.stdout, "happy-follower --base-url")
        live = f"http://127.0.0.1:{port}/api/v1"
        sandbox = f"http://127.0.0.1:{port}/api/sandbox/v1"
        assert f"live root:    {live}\n" in banner
        assert f"sandbox root: {sandbox}\n" in banner
        assert f"API key:      {SIM_KEY}" in banner
        assert f"export {API_KEY_ENV}={SIM_KEY}\n" in banner
        async with HappyFollowerClient(SIM_KEY, base_url=live, request_timeout=5) as client:
            assert await client.get_credit() == 4321
            order_id = await client.place_order(
                service_id=10, link="https://www.instagram.com/x", count=100
            )
            assert (await client.get_order_status(order_id)).count == 100
        async with HappyFollowerClient(
            SIM_KEY, sandbox=True, base_url=sandbox, request_timeout=5
        ) as client:
            assert await client.get_credit() == 4321  # the sandbox has its own books
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            rest, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    result = CliResult(("simulate",), process.returncode, banner + rest.decode(), stderr.decode())
    cli.check(result)
    assert result.code == ExitCode.OK  # Ctrl-C is how it is meant to stop
    with pytest.raises(OSError, match=r"[Cc]onnect"):
        await asyncio.open_connection("127.0.0.1", port)


async def test_simulate_json_gives_the_urls_and_key(cli: CliRunner) -> None:
    port = free_port()
    process = await cli.start(
        "--json", "simulate", "--port", str(port), "--api-key", SIM_KEY,
        base_url=None, api_key=None,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            first = await process.stdout.readline()
        info = json.loads(first)
        assert info == {
            "base_url": f"http://127.0.0.1:{port}/api/v1",
            "sandbox_base_url": f"http://127.0.0.1:{port}/api/sandbox/v1",
            "api_key": SIM_KEY,
        }
        async with HappyFollowerClient(SIM_KEY, base_url=info["base_url"]) as client:
            assert await client.get_credit() == 500_000  # the default credit
        assert process.returncode is None  # still serving
    finally:
        process.terminate()
        async with asyncio.timeout(10):
            await process.wait()
    assert process.returncode == -signal.SIGTERM


async def test_simulate_on_a_busy_port_is_a_clean_error(cli: CliRunner) -> None:
    busy = URL(cli.simulator.base_url).port
    assert busy is not None
    result = await cli.run("simulate", "--port", str(busy), base_url=None, api_key=None)
    assert result.code == ExitCode.ERROR
    assert str(busy) in result.error
    assert result.stdout == ""


async def test_demo_terminal_only_runs_to_completion(cli: CliRunner) -> None:
    result = await cli.run("demo", "--terminal-only", "--tick", "0", base_url=None, api_key=None)
    assert result.code == ExitCode.OK
    out = result.stdout
    for step in ("1. Credit: 250,000", "2. Active services:", "3. Ordered 100", "5. Done"):
        assert step in out
    # The tour's order goes through the spend guard and shows what a person confirms.
    assert "   through the spend guard, which shows this for you to confirm:\n" in out
    assert "     Link: https://www.instagram.com/happy.follower.demo/\n" in out
    bars = [line for line in out.splitlines() if line.startswith("   [")]
    assert len(bars) >= 3
    assert "registered" in bars[0]
    assert bars[-1].startswith("   [" + "#" * 30 + "] 100.0%")
    assert "completed" in bars[-1]
    assert out.rstrip().endswith("runs the simulator for your experiments.")
    assert "Home Assistant" not in out  # --terminal-only never starts it
    assert cli.simulator.requests == []  # the demo brings its own simulator


# What may stand in Latin letters inside a Persian line: names of products and keys.
LATIN_NAMES = ("Home Assistant", "MCP", "Ctrl-C", "API", "Claude Code")
LATIN = re.compile(r"[A-Za-z0-9]")
PERSIAN = re.compile(r"[\u0600-\u06ff]")


def persian_lines_problems(text: str) -> list[str]:
    """Lines of Persian text that hold English (but LATIN_NAMES) or Latin digits, and
    lines that mix an address or a command with Persian words (a terminal that orders
    right-to-left text would scramble them)."""
    problems = []
    for line in text.splitlines():
        if not PERSIAN.search(line):
            continue  # an address, a command, a login: on a line of its own
        rest = line
        for name in LATIN_NAMES:
            rest = rest.replace(name, "")
        if LATIN.search(rest):
            problems.append(line)
    return problems


async def test_the_persian_tour_is_persian_with_addresses_on_their_own_lines() -> None:
    out = io.StringIO()
    async with Simulator() as sim:
        api_key = sim.add_account(credit=DEMO_CREDIT)
        await guided_tour(sim, api_key, out, tick=0, language="fa")
        url = sim.base_url
    text = out.getvalue()
    assert persian_lines_problems(text) == []
    lines = [line.strip() for line in text.splitlines()]
    assert url in lines  # the simulator's address alone on its line
    assert "https://www.instagram.com/happy.follower.demo/" in lines  # the confirmed link
    assert "۱. اعتبار: ۲۵۰٬۰۰۰" in lines
    assert "پیوند:" in lines
    bars = [line for line in lines if line.startswith("[")]
    assert len(bars) >= 3
    assert bars[-1].startswith("[" + "#" * 30 + "] ۱۰۰٫۰٪")
    assert bars[-1].endswith("تکمیل شده")  # the vendor's own word for completed
    assert "۵. انجام شد: هزینه ۲۰۰، اعتبار اکنون ۲۴۹٬۸۰۰" in lines
    # The words the demo command says around the tour are Persian too.
    for words in astuple(TOUR_TEXTS["fa"]):
        assert persian_lines_problems(re.sub(r"\{\w+\}", "", words)) == []


def test_the_persian_access_text_is_persian_with_addresses_on_their_own_lines() -> None:
    out = io.StringIO()
    access = DemoAccess(
        home_assistant_url="http://127.0.0.1:8123",
        dashboard_url="http://127.0.0.1:8123/happy-follower",
        username="demo",
        password="pa55word",
        mcp_url="http://127.0.0.1:8765/mcp",
        mcp_token="t0ken",
        simulator_url="http://127.0.0.1:4000/api/v1",
        api_key="k3y",
        config_entry_id="e",
        workspace="/tmp/x",
    )
    print_access(out, access, "fa")
    text = out.getvalue()
    assert persian_lines_problems(text) == []
    lines = [line.strip() for line in text.splitlines()]
    for alone in (access.dashboard_url, access.username, access.password, access.mcp_token):
        assert alone in lines
    assert "۱۰٬۰۰۰" in text  # the demo's spend cap


@pytest.mark.parametrize(
    ("order_id", "device_name", "language", "title"),
    [
        ("12", "#12 · \u2068@a\u2069 · \u2068Likes\u2069", "en", "#12 · \u2068@a\u2069"),
        ("12", "#۱۲ · پست \u2068X\u2069 · \u2068لایک\u2069", "fa", "#۱۲ · پست \u2068X\u2069"),
        ("12", "my order", "en", "#12 · my order"),  # a name a person gave it
    ],
)
def test_an_order_card_is_titled_by_number_then_target(
    order_id: str, device_name: str, language: str, title: str
) -> None:
    assert order_title(order_id, device_name, language) == title
