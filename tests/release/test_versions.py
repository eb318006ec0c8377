"""One version number for the package, the integration's manifest and server.json."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import mcp_server
from shared_client import __version__

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "custom_components" / "happy_follower" / "manifest.json"


def test_the_package_takes_its_version_from_shared_client() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "shared_client/__init__.py"
    # What the build made of it (the editable install of this checkout).
    assert version("happy-follower") == __version__
    # A plain release number: PEP 440 for PyPI, and what Home Assistant's manifest accepts.
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_the_manifest_requires_and_states_this_version() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["version"] == __version__
    assert manifest["requirements"] == [f"happy-follower=={__version__}"]


def test_server_json_names_this_version() -> None:
    server = json.loads((REPO / "server.json").read_text(encoding="utf-8"))
    assert server["version"] == __version__
    (package,) = server["packages"]
    # The MCP server's own distribution, at this version (`uvx happy-follower-mcp`).
    assert package["identifier"] == "happy-follower-mcp"
    assert package["version"] == __version__
    assert package["runtimeHint"] == "uvx"
    assert "runtimeArguments" not in package


def test_the_mcp_distribution_is_this_version_on_this_library() -> None:
    project = tomllib.loads((REPO / "mcp_server" / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "happy-follower-mcp"
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "__init__.py"
    assert mcp_server.__version__ == __version__
    assert version("happy-follower-mcp") == __version__
    # The library of the same release, exactly: the server and its guard move together.
    assert f"happy-follower=={__version__}" in project["project"]["dependencies"]
    # Its own copy of the license (an sdist cannot reach the repository's), kept the same.
    assert (REPO / "mcp_server" / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()
