"""A vendor error echoing a token the CLI replaced earlier in its run is never printed."""

from __future__ import annotations

import asyncio

from shared_client import HappyFollowerClient
from shared_client.cli import ExitCode
from shared_client.simulator import Fault

from .conftest import CliResult, CliRunner

LINK = "https://www.instagram.com/cli.test"


async def test_an_echoed_old_token_is_not_printed(
    cli: CliRunner, client: HappyFollowerClient
) -> None:
    sim = cli.simulator
    order_id = await client.place_order(service_id=10, link=LINK, count=100)
    args = ("status", str(order_id), "--watch", "--interval", "0.5")
    process = await cli.start(*args)
    assert process.stdout is not None
    assert process.stderr is not None
    async with asyncio.timeout(20):
        lines = [await process.stdout.readline()]  # the CLI authenticated: token 1
        sim.expire_tokens()
        lines.append(await process.stdout.readline())  # it refreshed: token 2
        # Now every credential sent so far is old but the CLI's token 2 (echoed too).
        echo = " ".join(f"request {secret} rejected" for secret in sorted(cli.secrets()))
        sim.inject("status", Fault.ERROR_MESSAGE, message=echo)
        rest, stderr = await process.communicate()
    assert all(line.startswith(f"Order {order_id}:".encode()) for line in lines)
    assert sum(request.endpoint == "ref-auth" for request in sim.requests) == 1
    assert process.returncode == ExitCode.REFUSED
    result = CliResult(args, process.returncode, (b"".join(lines) + rest).decode(), stderr.decode())
    cli.check(result)  # no secret in stdout, stderr or the ledger; one error line
    assert "request *** rejected" in result.error
    assert len(cli.secrets()) >= 5  # the key, two tokens of each client, a refresh token
