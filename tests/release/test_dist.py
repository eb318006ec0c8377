"""What `uv build --all-packages` made: the library's wheel and sdist (what Home Assistant and
PyPI users install) and the MCP server's (`uvx happy-follower-mcp`)."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import shutil
import tarfile
from email.parser import Parser
from pathlib import Path, PurePosixPath

import pytest
from mcp import Client, StdioServerParameters

from shared_client import __version__

from .conftest import Built, Dist

REPO = Path(__file__).resolve().parents[2]
LIBRARY_INFO = f"happy_follower-{__version__}.dist-info"
MCP_INFO = f"happy_follower_mcp-{__version__}.dist-info"
# Development tooling and the integration never ship in a package.
NOT_SHIPPED = {"demo", "tests", "custom_components", "bench", "blueprints", "docs", ".ci"}
SECRET_OR_LOCAL = re.compile(
    r"(^|/)(\.env|\.venv|venv|\.ci-tools|\.git|node_modules|__pycache__|\.pytest_cache"
    r"|\.mypy_cache|\.ruff_cache|\.hypothesis|config|\.storage)(/|$)"
    r"|\.(pem|key|pyc|sqlite|db|jsonl|log)$|(^|/)id_(rsa|ed25519)"
)


def _sources(folder: Path, package: str) -> set[str]:
    """Every file of a source folder, as the wheel names it (``package/...``)."""
    return {
        f"{package}/{path.relative_to(folder).as_posix()}"
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_library_wheel_holds_the_library_only(dist: Dist) -> None:
    names = dist.library.wheel_names()
    assert {name.split("/")[0] for name in names} == {"shared_client", LIBRARY_INFO}
    assert "shared_client/py.typed" in names  # typed for mypy users of the library
    assert f"{LIBRARY_INFO}/licenses/LICENSE" in names
    # Data files too: an installed library needs them all.
    shipped = {name for name in names if not name.startswith(LIBRARY_INFO)}
    assert shipped == _sources(REPO / "shared_client", "shared_client")


def test_the_mcp_wheel_holds_the_mcp_server_only(dist: Dist) -> None:
    names = dist.mcp.wheel_names()
    assert {name.split("/")[0] for name in names} == {"mcp_server", MCP_INFO}
    assert f"{MCP_INFO}/licenses/LICENSE" in names
    # Its modules and the MCP App's page; not the distribution's own pyproject, README, LICENSE.
    own = {f"mcp_server/{name}" for name in ("pyproject.toml", "README.md", "LICENSE")}
    shipped = {name for name in names if not name.startswith(MCP_INFO)}
    assert shipped == _sources(REPO / "mcp_server", "mcp_server") - own


@pytest.mark.parametrize("which", ["library", "mcp"])
def test_no_wheel_holds_a_manifest_or_anything_private(dist: Dist, which: str) -> None:
    names = getattr(dist, which).wheel_names()
    # A manifest.json in a package would look like an integration to Home Assistant.
    assert [name for name in names if PurePosixPath(name).name == "manifest.json"] == []
    assert [name for name in names if SECRET_OR_LOCAL.search(name)] == []


def _metadata(built: Built, info: str) -> tuple[dict[str, str], list[str]]:
    metadata = Parser().parsestr(built.wheel_text(f"{info}/METADATA"))
    return dict(metadata.items()), metadata.get_all("Requires-Dist") or []


def test_the_library_metadata(dist: Dist) -> None:
    metadata, requires = _metadata(dist.library, LIBRARY_INFO)
    assert metadata["Name"] == "happy-follower"
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "MIT"
    library = sorted(re.split(r"[<>=!~;\[ ]", req)[0] for req in requires)
    # All Home Assistant gets: no mcp (HA pins its own).
    assert library == ["aiohttp", "pydantic", "yarl"]
    assert "Provides-Extra" not in metadata  # the CLI needs nothing more
    entry_points = dist.library.wheel_text(f"{LIBRARY_INFO}/entry_points.txt")
    assert "happy-follower = shared_client.cli:main" in entry_points
    assert "happy-follower-mcp" not in entry_points
    license_text = dist.library.wheel_text(f"{LIBRARY_INFO}/licenses/LICENSE")
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 Happy Follower for Home Assistant contributors" in license_text


def test_the_mcp_metadata(dist: Dist) -> None:
    metadata, requires = _metadata(dist.mcp, MCP_INFO)
    assert metadata["Name"] == "happy-follower-mcp"
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "MIT"
    # The library of this very release and the SDK.
    assert f"happy-follower=={__version__}" in requires
    assert sorted(re.split(r"[<>=!~;\[ ]", req)[0] for req in requires) == [
        "happy-follower",
        "mcp",
    ]
    entry_points = dist.mcp.wheel_text(f"{MCP_INFO}/entry_points.txt")
    assert "happy-follower-mcp = mcp_server.__main__:main" in entry_points
    license_text = dist.mcp.wheel_text(f"{MCP_INFO}/licenses/LICENSE")
    assert license_text == (REPO / "LICENSE").read_text(encoding="utf-8")
    # The MCP registry checks that the PyPI package names the server (server.json's name).
    server = json.loads((REPO / "server.json").read_text(encoding="utf-8"))
    assert f"mcp-name: {server['name']}" in dist.mcp.wheel_text(f"{MCP_INFO}/METADATA")


# The one door from a wheel to the repository: the CLI's `demo` command runs a clone's full
# demo when it is there, inside ``try: ... except ImportError`` (an installed wheel runs the
# terminal part of the demo instead).
DEMO_DOOR = "shared_client/cli/tools.py: demo"


def _guarded(tree: ast.AST) -> set[int]:
    """Ids of the import nodes inside a ``try`` that handles ImportError."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(handler.type, ast.Name) and handler.type.id == "ImportError"
            for handler in node.handlers
        ):
            ids |= {id(inner) for part in node.body for inner in ast.walk(part)}
    return ids


@pytest.mark.parametrize("which", ["library", "mcp"])
def test_nothing_in_a_wheel_reaches_into_the_repository(dist: Dist, which: str) -> None:
    """No import of development code or the integration (an installed wheel has neither),
    but the demo command's guarded door to a clone's demo."""
    built: Built = getattr(dist, which)
    reached: list[str] = []
    for name in built.wheel_names():
        if not name.endswith(".py"):
            continue
        tree = ast.parse(built.wheel_text(name), name)
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                if module.split(".")[0] in NOT_SHIPPED:
                    door = f"{name}: {module}" == DEMO_DOOR and id(node) in guarded
                    reached += [] if door else [f"{name}: {module}"]
    assert reached == []


SDIST_ENTRIES = {
    # What building needs; PKG-INFO and .gitignore are added by the build backend.
    "library": {
        "shared_client",
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "PKG-INFO",
        ".gitignore",
    },
    "mcp": {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "PKG-INFO",
        ".gitignore",
        "app",
        "tools.json",
    },
}


@pytest.mark.parametrize("which", ["library", "mcp"])
def test_each_sdist_holds_what_building_needs_and_nothing_private(dist: Dist, which: str) -> None:
    built: Built = getattr(dist, which)
    root = built.sdist.name.removesuffix(".tar.gz")
    with tarfile.open(built.sdist) as archive:
        members = archive.getmembers()
    assert all(member.name.startswith(f"{root}/") for member in members)
    assert all(member.isfile() or member.isdir() for member in members)  # no dangling links
    inner = [member.name.removeprefix(f"{root}/") for member in members]
    top = {name.split("/")[0] for name in inner if not name.endswith(".py") or "/" in name}
    assert top == SDIST_ENTRIES[which]
    assert [name for name in inner if SECRET_OR_LOCAL.search(name)] == []
    # The same sources as the wheel (which `uv build` made from this sdist).
    package = "shared_client/" if which == "library" else "mcp_server/"
    wheel_sources = {n for n in built.wheel_names() if n.endswith(".py")}
    sdist_sources = {n for n in inner if n.endswith(".py")}
    if which == "mcp":  # the sdist's root is the package folder itself
        sdist_sources = {package + n for n in sdist_sources}
    assert sdist_sources == wheel_sources


async def test_uvx_runs_the_mcp_server_from_the_built_wheels(dist: Dist, tmp_path: Path) -> None:
    """What an MCP user types, on the files that will be published: ``uvx happy-follower-mcp``
    in a fresh environment (its library the built wheel, not anything on PyPI), then a real
    session over stdio on the embedded simulator."""
    uvx = shutil.which("uvx")
    assert uvx is not None
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("UV_PROJECT", "VIRTUAL"))}
    isolated = {"UV_CACHE_DIR": str(tmp_path / "cache"), "XDG_STATE_HOME": str(tmp_path)}
    wheels = ["--from", str(dist.mcp.wheel), "--with", str(dist.library.wheel)]
    params = StdioServerParameters(
        command=uvx,
        args=["--isolated", *wheels, "happy-follower-mcp", "--simulate"],
        env={**inherited, **isolated},
    )
    async with asyncio.timeout(300), Client(params) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"get_credit", "place_order"} <= tools
        credit = await client.call_tool("get_credit", {})
    assert not credit.is_error
    assert credit.structured_content is not None
    assert credit.structured_content["environment"] == "simulated"
