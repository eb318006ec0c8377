"""What `uv build` made: the wheel Home Assistant and PyPI users install, and the sdist."""

from __future__ import annotations

import ast
import re
import tarfile
from email.parser import Parser
from pathlib import Path, PurePosixPath

from shared_client import __version__

from .conftest import Dist

REPO = Path(__file__).resolve().parents[2]
DIST_INFO = f"happy_follower-{__version__}.dist-info"
SDIST_ROOT = f"happy_follower-{__version__}"
# Development tooling and the integration never ship in the package.
NOT_SHIPPED = {"demo", "tests", "custom_components", "bench", "blueprints", "docs", ".ci"}
# What building needs; PKG-INFO and .gitignore are added by the build backend.
SDIST_ENTRIES = {
    "shared_client",
    "mcp_server",
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "PKG-INFO",
    ".gitignore",
}
SECRET_OR_LOCAL = re.compile(
    r"(^|/)(\.env|\.venv|venv|\.ci-tools|\.git|node_modules|__pycache__|\.pytest_cache"
    r"|\.mypy_cache|\.ruff_cache|\.hypothesis|config|\.storage)(/|$)"
    r"|\.(pem|key|pyc|sqlite|db|jsonl|log)$|(^|/)id_(rsa|ed25519)"
)


def test_the_wheel_holds_the_library_and_the_mcp_server_only(dist: Dist) -> None:
    names = dist.wheel_names()
    assert {name.split("/")[0] for name in names} == {"shared_client", "mcp_server", DIST_INFO}
    assert "shared_client/__init__.py" in names
    assert "shared_client/py.typed" in names  # typed for mypy users of the library
    assert "mcp_server/__main__.py" in names
    assert f"{DIST_INFO}/licenses/LICENSE" in names
    # A manifest.json in the package would look like an integration to Home Assistant.
    assert [name for name in names if PurePosixPath(name).name == "manifest.json"] == []
    assert [name for name in names if SECRET_OR_LOCAL.search(name)] == []


def test_the_wheel_holds_every_file_of_its_packages(dist: Dist) -> None:
    """Data files too (py.typed, the MCP App's page): an installed server needs them all."""
    sources = {
        path.relative_to(REPO).as_posix()
        for package in ("shared_client", "mcp_server")
        for path in (REPO / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    shipped = {name for name in dist.wheel_names() if not name.startswith(DIST_INFO)}
    assert shipped == sources


def test_the_wheel_metadata(dist: Dist) -> None:
    metadata = Parser().parsestr(dist.wheel_text(f"{DIST_INFO}/METADATA"))
    assert metadata["Name"] == "happy-follower"
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    requires = metadata.get_all("Requires-Dist") or []
    library = sorted(re.split(r"[<>=!~;\[ ]", req)[0] for req in requires if "extra" not in req)
    assert library == ["aiohttp", "pydantic", "yarl"]  # all Home Assistant gets
    assert any(req.startswith("mcp") and "extra == 'mcp'" in req for req in requires)
    assert set(metadata.get_all("Provides-Extra") or []) == {"cli", "mcp"}
    entry_points = dist.wheel_text(f"{DIST_INFO}/entry_points.txt")
    assert "happy-follower = shared_client.cli:main" in entry_points
    assert "happy-follower-mcp = mcp_server.__main__:main" in entry_points
    license_text = dist.wheel_text(f"{DIST_INFO}/licenses/LICENSE")
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 Happy Follower for Home Assistant contributors" in license_text


def test_nothing_in_the_wheel_reaches_into_the_repository(dist: Dist) -> None:
    """No import of development code or the integration: an installed wheel has neither."""
    reached: list[str] = []
    for name in dist.wheel_names():
        if not name.endswith(".py"):
            continue
        tree = ast.parse(dist.wheel_text(name), name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            reached += [f"{name}: {m}" for m in modules if m.split(".")[0] in NOT_SHIPPED]
    assert reached == []


def test_the_sdist_holds_what_building_needs_and_nothing_private(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as archive:
        names = archive.getnames()
    assert all(name.startswith(f"{SDIST_ROOT}/") for name in names)
    inner = [name.removeprefix(f"{SDIST_ROOT}/") for name in names]
    assert {name.split("/")[0] for name in inner} == SDIST_ENTRIES
    assert [name for name in inner if SECRET_OR_LOCAL.search(name)] == []
    # The same sources as the wheel (which `uv build` made from this sdist).
    wheel_sources = {name for name in dist.wheel_names() if name.endswith(".py")}
    assert {name for name in inner if name.endswith(".py")} == wheel_sources
