"""The README's MCP command, run as written (the clone's path filled in) by a real MCP client.

`claude mcp add happy-follower -- <command>` makes Claude Code start `<command>`; here the MCP
Inspector CLI starts it instead, from another folder, and lists the tools and reads the credit.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
from pathlib import Path

import pytest

from mcp_server.tools import TOOL_NAMES

from .readme import REPO, only_block

CLONE_PLACEHOLDER = "/path/to/this/clone"
# MCP clients start a server with a small environment of their own; these say where Python,
# certificates and uv's environment are on machines that need them set (CI's among them).
FORWARDED = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def _readme_server_command() -> list[str]:
    (line,) = only_block("AI assistants (MCP)", "sh").strip().splitlines()
    words = shlex.split(line)
    assert words[:3] == ["claude", "mcp", "add"]
    command = words[words.index("--") + 1 :]
    assert CLONE_PLACEHOLDER in command
    return [str(REPO) if word == CLONE_PLACEHOLDER else word for word in command]


def _inspector() -> str:
    configured = os.environ.get("HAPPY_FOLLOWER_INSPECTOR")
    default = REPO / ".ci-tools/inspector/node_modules/.bin/mcp-inspector"
    path = configured or (str(default) if default.is_file() else None)
    if path is None or shutil.which("uv") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the MCP Inspector or uv is missing (.ci/run installs both)")
        pytest.skip("the MCP Inspector CLI (see .ci/run) and uv on PATH are needed")
    return path


async def _inspect(inspector: str, command: list[str], *args: str, cwd: Path) -> dict[str, object]:
    forwarded = [
        f"{name}={value}"
        for name, value in os.environ.items()
        if name.startswith("UV_") or name in FORWARDED
    ]
    env_args = [arg for pair in forwarded for arg in ("-e", pair)]
    process = await asyncio.create_subprocess_exec(
        inspector,
        "--cli",
        *env_args,
        *command,
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()[-3000:]
    result: dict[str, object] = json.loads(stdout)
    return result


async def test_the_readme_mcp_command_serves_the_tools(tmp_path: Path) -> None:
    inspector = _inspector()
    command = _readme_server_command()
    listed = await _inspect(inspector, command, "--method", "tools/list", cwd=tmp_path)
    called = await _inspect(
        inspector,
        command,
        "--method",
        "tools/call",
        "--tool-name",
        "get_credit",
        cwd=tmp_path,
    )
    tools = [tool["name"] for tool in listed["tools"]]  # type: ignore[attr-defined]
    assert tools == list(TOOL_NAMES)
    assert called["isError"] is False
    content = called["structuredContent"]
    assert isinstance(content, dict)
    assert content["environment"] == "simulated"
