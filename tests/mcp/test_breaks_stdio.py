"""Issue 8's breaks through the real console entry ``happy-follower-mcp`` over stdio.

Each server is a subprocess talking HTTP to the test's simulator (``--base-url``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from shared_client.simulator import Fault, Simulator

from .conftest import LINK

COMMAND = Path(sys.executable).parent / "happy-follower-mcp"
ORDER = {"service_id": 10, "link": LINK, "count": 100}


def _env(simulator: Simulator, api_key: str, ledger: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HAPPY_FOLLOWER")}
    return {
        **base,
        "HAPPY_FOLLOWER_API_KEY": api_key,
        "HAPPY_FOLLOWER_BASE_URL": simulator.base_url,
        "HAPPY_FOLLOWER_LEDGER": str(ledger),
        **extra,
    }


async def _refused_start(*args: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        str(COMMAND),
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert stdout == b""
    text = stderr.decode()
    assert "Traceback" not in text
    return text


@asynccontextmanager
async def _server(env: dict[str, str], *args: str, errlog: Path) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=str(COMMAND), args=list(args), env=env)
    with errlog.open("a") as err:
        async with Client(stdio_client(params, errlog=err), mode="legacy") as client:
            yield client


async def test_7_nan_cap_stops_the_start(
    simulator: Simulator, api_key: str, tmp_path: Path
) -> None:
    env = _env(simulator, api_key, tmp_path / "ledger.jsonl")
    text = await _refused_start("--max-spend-per-day", "nan", env=env)
    assert text.startswith("happy-follower-mcp: --max-spend-per-day must be a number above 0")
    text = await _refused_start(env={**env, "HAPPY_FOLLOWER_MAX_SPEND_PER_DAY": "inf"})
    assert "HAPPY_FOLLOWER_MAX_SPEND_PER_DAY must be a number above 0" in text


async def test_6_unwritable_ledger_stops_the_start(
    simulator: Simulator, api_key: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    text = await _refused_start(env=_env(simulator, api_key, blocker / "ledger.jsonl"))
    assert "happy-follower-mcp: cannot use the audit ledger" in text
    assert "--ledger" in text
    assert not [r for r in simulator.requests if r.endpoint == "order"]


async def test_4_two_stdio_servers_on_one_ledger_place_exactly_the_cap(
    simulator: Simulator, api_key: str, tmp_path: Path
) -> None:
    """Cap 3 a day; two servers place 3 orders each, all at once: exactly 3 are placed."""
    env = _env(simulator, api_key, tmp_path / "ledger.jsonl", HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY="3")
    errlog = tmp_path / "stderr.txt"

    async def place_three(name: str) -> list[bool]:
        async with _server(env, "--allow-unconfirmed-orders", errlog=errlog) as client:
            results = await asyncio.gather(
                *(
                    client.call_tool("place_order", {**ORDER, "link": f"{LINK}/{name}{i}"})
                    for i in range(3)
                )
            )
        return [not result.is_error for result in results]

    one, other = await asyncio.gather(place_three("a"), place_three("b"))
    assert sum(one) + sum(other) == 3
    assert len(simulator.orders(api_key)) == 3
    lines = (tmp_path / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line)["event"] for line in lines]
    assert events.count("attempt") == events.count("placed") == 3
    assert events.count("refused") == 3


async def test_3_and_6_kill_while_sending_is_reported_at_the_next_start(
    simulator: Simulator, api_key: str, tmp_path: Path
) -> None:
    """kill -9 while the order POST is in flight: the attempt was written ahead, so the next
    server reports it, counts it against the cap and refuses it as a possible duplicate."""
    ledger = tmp_path / "ledger.jsonl"
    env = _env(simulator, api_key, ledger, HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY="2")
    # The simulator holds the answer until the test lets it go; the server is killed meanwhile.
    simulator.inject("order", Fault.PROCESS_THEN_SLOW, delay=3600)
    process = await asyncio.create_subprocess_exec(
        str(COMMAND),
        "--allow-unconfirmed-orders",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "place_order", "arguments": ORDER},
        },
    ]
    process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
    await process.stdin.drain()
    async with asyncio.timeout(30):  # a real server starting, on a loaded machine
        await simulator.wait_until_held("order")  # the order reached the simulator
    assert len(simulator.orders(api_key)) == 1
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()
    simulator.clear_faults()

    async with _server(env, "--allow-unconfirmed-orders", errlog=tmp_path / "err.txt") as client:
        instructions = client.instructions or ""
        listed = await client.call_tool("list_orders", {})
        again = await client.call_tool("place_order", ORDER)
    assert "WARNING: 1 order attempt(s) were interrupted" in instructions
    assert listed.structured_content is not None
    (interrupted,) = listed.structured_content["interrupted_at_start"]
    assert interrupted["link"] == LINK + "/"  # as the input policy writes it
    assert listed.structured_content["orders_last_24h"] == 1
    assert again.is_error
    assert "may have been placed" in again.content[0].text  # type: ignore[union-attr]
    assert len(simulator.orders(api_key)) == 1
    assert "interrupted" in (tmp_path / "err.txt").read_text(encoding="utf-8")
    await simulator.release_held()  # no request handler outlives the test


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({**ORDER, "max_cost": 5}, "unknown argument 'max_cost'"),
        ({**ORDER, "count": True}, "count: must be a whole number, not true or false"),
        ({**ORDER, "link": "https://www.instagram.com/a\u202eb"}, "visible ASCII"),
        ({**ORDER, "link": "https://instagram.com.evil.example/x"}, "must be on instagram.com"),
        (
            ORDER,
            "no price per unit that a person stands behind is known for service 10",
        ),  # 1: its cost cannot be bounded
    ],
)
async def test_1_5_8_refused_over_stdio_with_nothing_sent(
    simulator: Simulator,
    api_key: str,
    tmp_path: Path,
    arguments: dict[str, object],
    expected: str,
) -> None:
    env = _env(
        simulator, api_key, tmp_path / "ledger.jsonl", HAPPY_FOLLOWER_MAX_SPEND_PER_DAY="500"
    )
    async with _server(env, "--allow-unconfirmed-orders", errlog=tmp_path / "e.txt") as client:
        result = await client.call_tool("place_order", arguments)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert expected in text
    assert "errors.pydantic.dev" not in text
    assert not [r for r in simulator.requests if r.endpoint == "order"]
