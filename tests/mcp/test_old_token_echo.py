"""A vendor error echoing a token the client replaced long ago never reaches a tool result,
a log or the ledger: in memory, over streamable HTTP and over stdio (a subprocess)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_server import running_http_server
from shared_client.simulator import Fault, Simulator

from .conftest import LINK, Answers, Harness
from .test_e2e import REPO, TOKEN, _cancel_http_leftovers

TRANSPORTS = ("memory", "http", "stdio")


def credentials_sent(simulator: Simulator) -> list[str]:
    """Every key and token sent, in the order they were first sent."""
    found: list[str] = []
    for request in simulator.requests:
        for header in ("Authorization", "refresh-token", "old-token"):
            value = request.headers.get(header)
            if value and (secret := value.removeprefix("Bearer ")) not in found:
                found.append(secret)
    return found


@asynccontextmanager
async def connected(
    transport: str, harness: Harness, answers: Answers, stderr: Path
) -> AsyncIterator[Client]:
    """A client of a server on the test's simulator; a subprocess writes its log to stderr."""
    if transport == "memory":
        async with harness.client("auto", answers) as client:
            yield client
    elif transport == "http":
        settings = harness.settings(transport="http", port=0, http_token=TOKEN)
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
        async with (
            running_http_server(settings, base_url=harness.simulator.base_url) as url,
            http,
            Client(
                streamable_http_client(url, http_client=http), elicitation_callback=answers
            ) as client,
        ):
            yield client
        _cancel_http_leftovers()
    else:
        args = ["--base-url", harness.simulator.base_url, "--ledger", str(harness.ledger)]
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "mcp_server", *args, "--log-level", "DEBUG"],
            env={"HAPPY_FOLLOWER_API_KEY": harness.api_key},
            cwd=REPO,
        )
        with stderr.open("w") as errlog:
            async with Client(
                stdio_client(params, errlog=errlog), elicitation_callback=answers
            ) as client:
                yield client


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_echoed_old_token_stays_out_of_results_logs_and_ledger(
    transport: str,
    harness: Harness,
    simulator: Simulator,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    stderr = tmp_path / "stderr.txt"
    texts: list[str] = []
    async with connected(transport, harness, Answers(), stderr) as client:
        await client.call_tool("get_credit", {})  # authenticated: token 1
        simulator.expire_tokens()
        await client.call_tool("get_credit", {})  # refreshed: token 2
        simulator.expire_tokens()
        simulator.expire_refresh_tokens()
        await client.call_tool("get_credit", {})  # authenticated again: token 3
        held = credentials_sent(simulator)
        old_tokens = [secret for secret in held if secret != api_key][:3]
        echo = " ".join(f"request {old} rejected" for old in old_tokens)
        for endpoint, name, arguments in (
            ("credit", "get_credit", {}),
            ("status", "get_order_status", {"order_id": 1}),
            ("order", "place_order", {"service_id": 10, "link": LINK, "count": 100}),
        ):
            simulator.inject(endpoint, Fault.ERROR_MESSAGE, message=echo)
            result = await client.call_tool(name, arguments)
            assert result.is_error, name
            texts.append(result.model_dump_json())
    assert len(old_tokens) == 3  # token 1, its refresh token, token 2
    assert all("request *** rejected" in text for text in texts)
    ledger = harness.ledger.read_text(encoding="utf-8")
    assert "rejected" in ledger  # the refused order's reason was written, redacted
    log = stderr.read_text(encoding="utf-8") if transport == "stdio" else caplog.text
    assert "rejected" in log  # the server logged the vendor's refusals, redacted
    for secret in held:
        for text in texts:
            assert secret not in text
        assert secret not in log
        assert secret not in ledger
