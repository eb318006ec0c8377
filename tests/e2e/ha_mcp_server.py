"""Home Assistant's MCP Server integration, for a Home Assistant process of the demo.

Its manifest has requirements of its own (on 2026.10, ``mcp==1.28.1`` and ``aiohttp_sse``)
while this environment holds the ``mcp`` 2.x of the stand-alone server. A real Home
Assistant installs them itself; here, those missing or of another major version are
installed with ``uv pip install --target`` into a folder that only the Home Assistant
process sees (``PYTHONPATH`` of its subprocess). Used by tests/e2e/test_assistants_mcp.py
and docs/screenshots_assistants.py.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement


class MissingToolError(RuntimeError):
    """uv is missing, or an install failed: the message says which."""


def install_requirements(target: Path) -> None:
    """Install what Home Assistant's mcp_server requires and this environment lacks into
    ``target``: its manifest's pins that are missing or of another major version, then what
    those need that nothing provides (httpx-sse and pydantic-settings for mcp 1.x)."""
    spec = importlib.util.find_spec("homeassistant.components.mcp_server")
    if spec is None or not spec.submodule_search_locations:
        raise MissingToolError("Home Assistant is not installed here: `uv run` in a clone")
    manifest = Path(spec.submodule_search_locations[0], "manifest.json")
    wanted = []
    for line in json.loads(manifest.read_text("utf-8"))["requirements"]:
        requirement = Requirement(line)
        pinned = next(iter(requirement.specifier)).version
        have = _installed(requirement.name)
        if have is None or have.split(".")[0] != pinned.split(".")[0]:
            wanted.append(line)
    installed: list[str] = []
    while wanted:  # then what those need, to the last (pydantic-settings needs python-dotenv)
        _uv_install(target, wanted)
        installed += wanted
        wanted = _missing_dependencies(target, installed)


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _missing_dependencies(target: Path, installed: list[str]) -> list[str]:
    """What the packages just installed into ``target`` need and nothing provides."""
    names = {Requirement(line).name for line in installed}
    missing = []
    for name in names:
        (distribution,) = importlib.metadata.distributions(name=name, path=[str(target)])
        for line in distribution.requires or []:
            requirement = Requirement(line)
            applies = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
            if applies and requirement.name not in names and _installed(requirement.name) is None:
                missing.append(str(requirement))
    return missing


def _uv_install(target: Path, requirements: list[str]) -> None:
    """Install ``requirements`` (without their dependencies) into ``target``."""
    if not requirements:
        return
    uv = os.environ.get("UV") or shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists():
        raise MissingToolError("uv is needed to install Home Assistant's MCP Server requirements")
    command = [uv, "pip", "install", "--quiet", "--python", sys.executable]
    command += ["--target", str(target), "--no-deps", *requirements]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise MissingToolError(f"cannot install {requirements}:\n{done.stderr[-2000:]}")
