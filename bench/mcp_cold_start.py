"""What the Happy Follower MCP server costs: cold start, and a tool call over a direct call.

1. Cold start: spawn to the answer of ``tools/list`` over stdio (initialize, initialized,
   tools/list as raw JSON-RPC), against a minimal ``MCPServer`` with one tool measured in
   the same run. Runs alternate (order shuffled) and medians are compared, of the wall time
   and of the process's CPU time (steadier on a busy machine). Goal: at most 1.05x.
2. Tool call: ``get_credit`` through the SDK's in-process client (both protocol eras) against
   ``HappyFollowerClient.get_credit()`` directly, both on the embedded simulator; and, in the
   same run, a bare ``MCPServer`` whose one tool makes the same client call, so that what the
   SDK costs and what this server adds to it are told apart. Goal: at most +0.3 ms over the
   direct call.

    uv run python bench/mcp_cold_start.py [--runs 11] [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client
from mcp.server import MCPServer

from mcp_server import Settings, build_server, open_backend
from shared_client import HappyFollowerClient
from shared_client.simulator import Simulator

GOAL = 1.05  # cold start, over the bare MCPServer
CALL_GOAL_MS = 0.3  # a tool call, over the direct client call
BASELINE = """
from mcp.server import MCPServer

server = MCPServer("baseline")


@server.tool()
def ping() -> str:
    \"\"\"Answer pong.\"\"\"
    return "pong"


server.run()
"""
MESSAGES = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


async def cold_start(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawn to the tools/list answer, and the CPU seconds the process used
    (user + system; on a busy machine the wall time measures the neighbours too)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in MESSAGES))
    await process.stdin.drain()
    while True:
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"{command} exited before answering tools/list")
        if json.loads(line).get("id") == 2:
            break
    elapsed = time.perf_counter() - start
    process.stdin.close()
    process.kill()
    await process.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


async def bench_cold_start(runs: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        baseline = Path(scratch) / "baseline_server.py"
        baseline.write_text(BASELINE, encoding="utf-8")
        # Bytecode is written (to a cache of the run's own) and read, as on a user's machine:
        # where PYTHONDONTWRITEBYTECODE is set, every start would compile the SDK again and
        # the ratio would measure the compiler.
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPYCACHEPREFIX": str(Path(scratch) / "pycache"),
            "HAPPY_FOLLOWER_API_KEY": "bench-key-not-used-before-a-tool-call",
            "HAPPY_FOLLOWER_LEDGER": str(Path(scratch) / "ledger.jsonl"),
        }
        commands = {
            "baseline MCPServer, one tool": [sys.executable, str(baseline)],
            "happy-follower-mcp": [sys.executable, "-m", "mcp_server"],
            "happy-follower-mcp --simulate": [sys.executable, "-m", "mcp_server", "--simulate"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for command in commands.values():  # warm the OS file cache; write the bytecode
            await cold_start(command, env)
        for _ in range(runs):
            order = list(commands.items())
            random.shuffle(order)
            for name, command in order:
                elapsed, used = await cold_start(command, env)
                times[name].append(elapsed)
                cpu[name].append(used)
    print(f"Cold start, spawn to tools/list over stdio (median of {runs} runs):")
    for label, samples in (("wall", times), ("CPU", cpu)):
        base = statistics.median(samples["baseline MCPServer, one tool"])
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"  {label:4} {name:32} {median * 1000:7.1f} ms  {median / base:5.2f}x")
        ratio = statistics.median(samples["happy-follower-mcp"]) / base
        verdict = "meets" if ratio <= GOAL else "MISSES"
        print(f"  {label} ratio {ratio:.2f}x {verdict} the goal of at most {GOAL}x")


async def per_call(call: object, calls: int) -> float:
    """Median seconds per call over ``calls`` sequential calls, after a warm-up."""
    assert callable(call)
    for _ in range(10):
        await call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def bench_tool_call(calls: int) -> None:
    async with Simulator() as simulator:
        api_key = simulator.add_account(credit=1000)
        with tempfile.TemporaryDirectory() as scratch:
            settings = Settings.load({}, api_key=api_key, ledger=Path(scratch) / "ledger.jsonl")
            async with (
                HappyFollowerClient(api_key, base_url=simulator.base_url) as direct,
                open_backend(settings, base_url=simulator.base_url) as backend,
            ):
                direct_time = await per_call(direct.get_credit, calls)
                servers = {"bare MCPServer": bare_server(direct), "MCP": build_server(backend)}
                results = {}
                for (name, server), mode in itertools.product(servers.items(), ("auto", "legacy")):
                    async with Client(server, mode=mode) as client:

                        async def tool(client: Client = client) -> None:
                            result = await client.call_tool("get_credit", {})
                            assert not result.is_error

                        results[f"{name} tools/call, in-process, mode={mode}"] = await per_call(
                            tool, calls
                        )
    print(f"\nTool call get_credit vs direct client call (median of {calls} calls):")
    print(f"  {'direct HappyFollowerClient.get_credit':40} {direct_time * 1000:7.3f} ms  1.00x")
    for label, seconds in results.items():
        overhead = (seconds - direct_time) * 1000
        verdict = (
            ""
            if label.startswith("bare")
            else ("  meets the goal" if overhead <= CALL_GOAL_MS else "  MISSES the goal")
        )
        print(
            f"  {label:50} {seconds * 1000:7.3f} ms  {seconds / direct_time:5.2f}x"
            f"  (+{overhead:.3f} ms){verdict}"
        )


def bare_server(client: HappyFollowerClient) -> MCPServer:
    """The SDK's floor: a tool that makes the same client call and returns its number."""
    server = MCPServer("baseline")

    @server.tool()
    async def get_credit() -> dict[str, float]:
        """The account's credit."""
        return {"credit": await client.get_credit()}

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="cold starts per command")
    parser.add_argument("--calls", type=int, default=300, help="tool calls per variant")
    args = parser.parse_args()
    asyncio.run(bench_cold_start(args.runs))
    asyncio.run(bench_tool_call(args.calls))


if __name__ == "__main__":
    main()
