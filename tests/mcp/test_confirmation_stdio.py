"""I12 over stdio, through the real console entry ``happy-follower-mcp``, in both protocol eras.

The server is a subprocess talking HTTP to the test's simulator (``--base-url`` via its
environment); the client is the SDK's own stdio client. It holds several confirmation
dialogs open at once in either era: a 2025-era (legacy) call waits inside its tools/call for
the answer to its elicitation/create request, while the next calls are made; a 2026-era call
returns its question, and answering is a later retry. So the bug report's sequence runs here
as reported, with the dialogs answered out of order.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from shared_client.simulator import Simulator

from .test_confirmation import (
    ACCEPT,
    ORDER,
    Dialogs,
    assert_reported_sequence_placed_once,
    held_dialogs,
    reported_sequence,
    text_of,
)

COMMAND = Path(sys.executable).parent / "happy-follower-mcp"


@asynccontextmanager
async def _stdio_server(
    simulator: Simulator, api_key: str, tmp_path: Path, mode: str, dialogs: Dialogs
) -> AsyncIterator[Client]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAPPY_FOLLOWER")}
    env |= {
        "HAPPY_FOLLOWER_API_KEY": api_key,
        "HAPPY_FOLLOWER_BASE_URL": simulator.base_url,
        "HAPPY_FOLLOWER_LEDGER": str(tmp_path / "ledger.jsonl"),
    }
    params = StdioServerParameters(command=str(COMMAND), env=env)
    with (tmp_path / "stderr.txt").open("a") as err:
        client = Client(stdio_client(params, errlog=err), mode=mode, elicitation_callback=dialogs)
        async with client:
            yield client
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text(encoding="utf-8")


async def test_reported_sequence_over_stdio_places_at_most_once(
    simulator: Simulator, api_key: str, tmp_path: Path, mode: str
) -> None:
    """Dialog 1 open; dialog 2 accepted, outcome unknown; dialog 3 warns of a duplicate;
    accepting dialog 1 is refused (audited), declining dialog 3 places nothing."""
    async with (
        held_dialogs(mode) as dialogs,
        _stdio_server(simulator, api_key, tmp_path, mode, dialogs) as client,
    ):
        era = client.protocol_version
        ticket = await reported_sequence(client, dialogs, simulator)
    assert (era >= "2026-07-28") == (mode == "auto")  # each era really ran
    assert len(simulator.orders(api_key)) == 1  # only the order whose answer was lost
    assert_reported_sequence_placed_once(tmp_path / "ledger.jsonl", ticket)


async def test_older_dialog_over_stdio_does_not_confirm_a_newer_order(
    simulator: Simulator, api_key: str, tmp_path: Path, mode: str
) -> None:
    """The newer dialog is for another count of the same target: the old answer places
    neither; the newer dialog's own answer places exactly its order."""
    newer_order = {**ORDER, "count": 200}
    async with (
        held_dialogs(mode) as dialogs,
        _stdio_server(simulator, api_key, tmp_path, mode, dialogs) as client,
    ):
        older = await dialogs.show(client, ORDER)
        again = await dialogs.show(client, ORDER)
        newer = await dialogs.show(client, newer_order)
        refused = await dialogs.answer(client, older, ACCEPT)
        cancelled = await dialogs.answer(client, again, types.ElicitResult(action="cancel"))
        placed = await dialogs.answer(client, newer, ACCEPT)
    assert "older confirmation question" in text_of(refused)
    assert "Count: 200" in newer.message
    assert isinstance(placed, types.CallToolResult)
    assert not placed.is_error, placed.content
    assert placed.structured_content is not None
    assert placed.structured_content["count"] == 200
    assert "did not confirm" in text_of(cancelled)
    (order,) = simulator.orders(api_key)
    assert order.count == 200
    lines = (tmp_path / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["event"] for line in lines] == [
        "refused",
        "refused",
        "attempt",
        "placed",
    ]
