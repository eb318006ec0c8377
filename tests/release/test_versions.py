"""One version number for the package, the integration's manifest and server.json."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

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
    assert package["identifier"] == "happy-follower"
    assert package["version"] == __version__
    pinned = [arg["value"] for arg in package.get("runtimeArguments", []) if "value" in arg]
    assert pinned == [f"happy-follower[mcp]=={__version__}"]
