"""The built distributions and the Home Assistant environment that .ci/run prepares.

`uv build` writes them and .ci/run points these tests at them; without that, the tests
that need them are skipped (there is nothing to check yet), in CI too.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared_client import __version__

DIST_ENV = "HAPPY_FOLLOWER_DIST"
HA_PYTHON_ENV = "HAPPY_FOLLOWER_HA_PYTHON"


@dataclass(frozen=True, slots=True)
class Built:
    """One distribution's wheel and sdist."""

    wheel: Path
    sdist: Path

    def wheel_names(self) -> list[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return archive.namelist()

    def wheel_text(self, name: str) -> str:
        with zipfile.ZipFile(self.wheel) as archive:
            return archive.read(name).decode()


@dataclass(frozen=True, slots=True)
class Dist:
    """What `uv build --all-packages` wrote: the library and the MCP server."""

    folder: Path
    library: Built  # happy-follower: what Home Assistant installs
    mcp: Built  # happy-follower-mcp


def _from_env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: .ci/run sets it to {what}")
    return value


@pytest.fixture(scope="session")
def dist() -> Dist:
    """The folder `uv build` wrote: one wheel and one sdist of each distribution, this version."""
    folder = Path(_from_env(DIST_ENV, "the folder `uv build --all-packages` wrote"))
    names = sorted(path.name for path in folder.iterdir() if path.suffix in (".whl", ".gz"))
    built = {
        project: Built(
            folder / f"{project}-{__version__}-py3-none-any.whl",
            folder / f"{project}-{__version__}.tar.gz",
        )
        for project in ("happy_follower", "happy_follower_mcp")
    }
    assert names == sorted(p.name for b in built.values() for p in (b.wheel, b.sdist))
    return Dist(folder, built["happy_follower"], built["happy_follower_mcp"])


@pytest.fixture(scope="session")
def ha_python() -> str:
    """Python of a fresh environment with the newest Home Assistant (and no happy-follower)."""
    return _from_env(HA_PYTHON_ENV, "the Python of its Home Assistant environment")
