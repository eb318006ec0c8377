"""The command line and the MCP server on one account: one default ledger, one set of caps.
Issue 8's break 4 (two front-ends each got the whole daily cap), across front-ends."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from shared_client.cli import LEDGER_ENV, MAX_ORDERS_ENV, ExitCode

from .conftest import CliRunner

MCP_COMMAND = Path(sys.executable).parent / "happy-follower-mcp"
LINK = "https://www.instagram.com/p/shared"


async def test_cli_and_mcp_racing_on_the_default_ledger_place_exactly_the_cap(
    cli: CliRunner,
) -> None:
    cli.simulator.latency = 0.05  # every request takes a while: the two overlap
    # Neither is told where the ledger is: both use the default in the same state folder.
    cli_env = {MAX_ORDERS_ENV: "3", LEDGER_ENV: None}
    mcp_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HAPPY_FOLLOWER_")},
        "HAPPY_FOLLOWER_API_KEY": cli.api_key,
        "HAPPY_FOLLOWER_BASE_URL": cli.simulator.base_url,
        "XDG_STATE_HOME": str(cli.state_home),
        "HOME": str(cli.tmp_path / "home"),
        MAX_ORDERS_ENV: "3",
    }
    params = StdioServerParameters(
        command=str(MCP_COMMAND), args=["--allow-unconfirmed-orders"], env=mcp_env
    )

    async def through_mcp() -> list[bool]:
        with (cli.tmp_path / "mcp-stderr.txt").open("a") as errlog:
            async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
                results = await asyncio.gather(
                    *(
                        client.call_tool(
                            "place_order",
                            {"service_id": 10, "link": f"{LINK}{i}/", "count": 100},
                        )
                        for i in range(3)
                    )
                )
        return [not result.is_error for result in results]

    async def through_cli() -> list[bool]:
        runs = await asyncio.gather(
            *(cli.run("order", "10", f"{LINK}c{i}/", "100", "--yes", env=cli_env) for i in range(3))
        )
        assert {run.code for run in runs} <= {ExitCode.OK, ExitCode.CANCELLED}, runs
        return [run.code == ExitCode.OK for run in runs]

    by_mcp, by_cli = await asyncio.gather(through_mcp(), through_cli())
    assert sum(by_mcp) + sum(by_cli) == 3
    assert len(cli.simulator.orders(cli.api_key)) == 3
    ledger = cli.state_home / "happy-follower" / "ledger.jsonl"
    records = [json.loads(line) for line in ledger.read_text("utf-8").splitlines()]
    assert [r["event"] for r in records].count("attempt") == 3
    assert {r["source"] for r in records} == {"cli", "mcp"}  # one file for both
