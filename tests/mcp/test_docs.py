"""The set-up snippets of docs/mcp.md, started with the real console script."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from mcp_server.http import MCP_PATH
from mcp_server.settings import DEFAULT_HTTP_PORT, OPTIONS
from mcp_server.tools import READ_ONLY_TOOLS, TOOL_NAMES
from shared_client import __version__

DOCS = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"
COMMAND = Path(sys.executable).parent / "happy-follower-mcp"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def _servers() -> list[dict[str, Any]]:
    servers = []
    for block in _blocks("json"):
        config = json.loads(block)
        servers += (config.get("mcpServers") or config.get("servers") or {}).values()
    return servers


def _claude_code_commands() -> list[tuple[list[str], dict[str, str]]]:
    """``claude mcp add [--env K=V] name -- command args``: the command and its environment."""
    launches = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            if line.startswith("claude mcp add"):
                words = shlex.split(line)
                env = {}
                if "--env" in words:
                    key, _, value = words[words.index("--env") + 1].partition("=")
                    env[key] = value
                launches.append((_without_launcher(words[words.index("--") + 1 :]), env))
    return launches


def _without_launcher(words: list[str]) -> list[str]:
    """``uv --directory <clone> run happy-follower-mcp ...`` (from a clone) or ``uvx
    happy-follower-mcp ...`` (published): the command they start."""
    start = words.index("happy-follower-mcp")
    assert words[:start] in (
        [],
        ["uv", "--directory", "/path/to/the/clone", "run"],
        ["uvx"],
    ), words
    return words[start:]


async def _tools(command: list[str], env: dict[str, str], tmp_path: Path) -> list[str]:
    assert command[0] == "happy-follower-mcp"
    params = StdioServerParameters(
        command=str(COMMAND),
        args=command[1:],
        env={**env, "XDG_STATE_HOME": str(tmp_path)},
    )
    async with Client(params, mode="legacy") as client:
        return [tool.name for tool in (await client.list_tools()).tools]


async def test_every_stdio_snippet_starts_the_real_command(tmp_path: Path) -> None:
    assert COMMAND.is_file()
    stdio = [s for s in _servers() if "command" in s]
    launches = [
        (_without_launcher([s["command"], *s.get("args", [])]), s.get("env", {})) for s in stdio
    ]
    launches += _claude_code_commands()
    assert len(launches) >= 6  # Claude Desktop x2, Claude Code x2, VS Code, Cursor
    results = await asyncio.gather(*(_tools(cmd, env, tmp_path) for cmd, env in launches))
    for (command, _), tools in zip(launches, results, strict=True):
        expected = [n for n in TOOL_NAMES if "--read-only" not in command or n in READ_ONLY_TOOLS]
        assert tools == expected, command


def test_http_snippet_matches_the_server_defaults() -> None:
    (http,) = [s for s in _servers() if s.get("type") == "http"]
    assert http["url"] == f"http://127.0.0.1:{DEFAULT_HTTP_PORT}{MCP_PATH}"
    assert http["headers"]["Authorization"].startswith("Bearer ")


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for variable, flag, _ in OPTIONS.values():
        if flag is not None:
            assert f"`{flag}`" in text
        assert f"`{variable}`" in text
    assert "`HAPPY_FOLLOWER_MCP_HTTP_TOKEN`" in text
    assert "`HAPPY_FOLLOWER_API_KEY`" in text


def test_server_json_matches_the_package() -> None:
    root = DOCS.parents[1]
    server = json.loads((root / "server.json").read_text(encoding="utf-8"))
    version = __version__  # the package's one version (pyproject reads it from there)
    assert server["version"] == version
    assert len(server["description"]) <= 100  # the registry's limit
    (package,) = server["packages"]
    assert package["version"] == version
    assert package["identifier"] == "happy-follower-mcp"  # the MCP server's own distribution
    known = {variable for variable, _, _ in OPTIONS.values()}
    for variable in package["environmentVariables"]:
        assert variable["name"] in known


def test_no_snippet_allows_unconfirmed_orders_with_a_key_but_no_spend_cap() -> None:
    stdio = [s for s in _servers() if "command" in s]
    unconfirmed = [s for s in stdio if "--allow-unconfirmed-orders" in s.get("args", [])]
    assert unconfirmed  # the Cursor example
    for server in unconfirmed:
        env = server.get("env", {})
        args = server.get("args", [])
        if "HAPPY_FOLLOWER_API_KEY" in env:
            assert "HAPPY_FOLLOWER_MAX_SPEND_PER_DAY" in env or "--max-spend-per-day" in args
            assert "HAPPY_FOLLOWER_UNIT_PRICES" in env or "--unit-prices" in args
