"""tools/list answers from stored declarations (``mcp_server/tools.json``) so that a start
builds no schema; they must be the tools as built, whatever the settings.

After changing a tool (its handler's signature or docstring, its result model, its spec),
rewrite them with ``UPDATE_TOOL_DECLARATIONS=1 uv run pytest tests/mcp/test_tool_declarations.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.server import MCPServer

from mcp_server import Settings, build_server, open_backend
from mcp_server.tools import DECLARATIONS, TOOLS, build_tool, enabled_tools


async def _as_built(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tools/list of the server (declared) and of the same tools built at start."""
    async with open_backend(settings) as backend:
        enabled = enabled_tools(settings)
        built = MCPServer("built", tools=[build_tool(spec, backend) for spec in enabled])
        server = build_server(backend)
        return (
            [_wire(tool) for tool in await server.list_tools()],
            [_wire(tool) for tool in await built.list_tools()],
        )


def _wire(tool: Any) -> dict[str, Any]:
    return dict(tool.model_dump(mode="json", by_alias=True, exclude_none=True))


@pytest.mark.skipif(
    not os.environ.get("UPDATE_TOOL_DECLARATIONS"), reason="rewrites mcp_server/tools.json"
)
async def test_rewrite_the_declarations(tmp_path: Path) -> None:
    settings = Settings.load({}, simulate=True, ledger=tmp_path / "ledger.jsonl")
    async with open_backend(settings) as backend:
        built = MCPServer("built", tools=[build_tool(spec, backend) for spec in TOOLS])
        listed = {tool.name: _wire(tool) for tool in await built.list_tools()}
    text = json.dumps(listed, indent=1, ensure_ascii=False) + "\n"
    DECLARATIONS.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"max_count_per_order": "7"},
        {"max_count_per_order": "none", "max_spend_per_day": "none"},
        {"read_only": True},
        {"sandbox": True, "tools": "place_order,get_credit,confirm_price"},
        {"exclude_tools": "confirm_price", "unit_prices": "1=0.5", "link_hosts": "example.com"},
    ],
)
async def test_the_declarations_are_the_tools_as_built(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    settings = Settings.load(
        {}, **{"simulate": True, "ledger": tmp_path / "ledger.jsonl", **changes}
    )
    declared, built = await _as_built(settings)
    assert declared == built, (
        "mcp_server/tools.json is stale: rewrite it with "
        "UPDATE_TOOL_DECLARATIONS=1 uv run pytest tests/mcp/test_tool_declarations.py"
    )


def test_a_start_imports_no_handler_or_result_model() -> None:
    """What a start needs and no more: the handlers' modules and the result models come
    with a tool's first call (the cold start bench measures what this saves)."""
    script = (
        "import sys, mcp_server.__main__\n"
        "print(sorted(m for m in sys.modules if m.startswith('mcp_server.')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    for module in ("models", "reads", "orders", "prices", "results", "app.models"):
        assert f"'mcp_server.{module}'" not in loaded
    assert "'mcp_server.tools'" in loaded
