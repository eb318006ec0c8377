"""The HACS path before publication: Home Assistant itself installs the integration's requirement.

A fresh environment holds the newest Home Assistant and nothing of ours. The integration is
copied into its config dir as HACS would, and the built files stand in for the package index
(uv's find-links setting, which Home Assistant's installer inherits). Adding the integration
through the config flow must make Home Assistant install `happy-follower==<version>` under its
own constraints, load the entry against the simulator, and show the credit.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from demo.homeassistant_runner import HomeAssistantRunner
from shared_client import __version__
from shared_client.simulator import Simulator

from .conftest import Dist

MANIFEST = Path(__file__).resolve().parents[2] / "custom_components/happy_follower/manifest.json"
# Only what the check needs: the config-flow and state REST APIs (Home Assistant adds its
# default integrations, and installs their requirements, as it would for a user).
CONFIGURATION = """\
homeassistant:
  name: Happy Follower release check
  country: IR
  time_zone: Asia/Tehran
  unit_system: metric
  currency: IRR
  internal_url: "{url}"
config:
api:
logger:
  default: warning
  logs:
    homeassistant.util.package: info
    custom_components.happy_follower: info
"""
# Variables that would send Home Assistant's `uv pip install` to another environment.
FOREIGN_ENVIRONMENT = ("UV_PYTHON", "UV_PROJECT_ENVIRONMENT", "VIRTUAL_ENV", "CONDA_PREFIX")
LOAD_TIMEOUT = 60.0


def _installed(python: str, name: str = "happy-follower", *, record: bool = False) -> str | None:
    """A distribution's version (or its RECORD) in that environment, None if absent."""
    what = "read_text('RECORD')" if record else "version"
    script = (
        "import importlib.metadata as m\n"
        f"try: d = m.distribution({name!r})\n"
        "except m.PackageNotFoundError: print('', end='')\n"
        f"else: print(d.{what}, end='')\n"
    )
    output = subprocess.run(
        [python, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return output or None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def home_assistant(
    dist: Dist, ha_python: str, tmp_path: Path
) -> AsyncIterator[HomeAssistantRunner]:
    """The newest Home Assistant, onboarded, with the integration copied in."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENVIRONMENT}
    env["UV_FIND_LINKS"] = str(dist.folder)
    runner = HomeAssistantRunner(
        tmp_path / "config", _free_port(), python=ha_python, install_requirements=True, env=env
    )
    runner.write_config(CONFIGURATION, copy_integration=True)
    log = runner.config_dir / "demo-home-assistant.out"
    try:
        await runner.start()
        await runner.onboard(name="Release", username="release", password=secrets.token_hex(12))
        yield runner
    except BaseException:
        print(log.read_text(errors="replace")[-6000:] if log.exists() else "(no log)")
        raise
    finally:
        await runner.stop()


async def _loaded_entry(runner: HomeAssistantRunner, entry_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + LOAD_TIMEOUT
    while True:
        entries = await runner.get("/api/config/config_entries/entry?domain=happy_follower")
        (entry,) = [entry for entry in entries if entry["entry_id"] == entry_id]
        if entry["state"] == "loaded" or asyncio.get_running_loop().time() > deadline:
            return dict(entry)
        await asyncio.sleep(0.5)


async def test_home_assistant_installs_the_built_package_and_loads_the_entry(
    home_assistant: HomeAssistantRunner,
    dist: Dist,
    ha_python: str,
    simulator: Simulator,
    api_key: str,
) -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["requirements"] == [f"happy-follower=={__version__}"]
    assert _installed(ha_python) is None, "the Home Assistant environment must start without it"

    flow = await home_assistant.config_flow(
        "happy_follower",
        [{"api_key": api_key, "environment": "live", "advanced": {"api_root": simulator.base_url}}],
    )
    entry = await _loaded_entry(home_assistant, flow["result"]["entry_id"])
    assert entry["state"] == "loaded", entry

    # Home Assistant installed exactly the built wheel (its files, byte for byte).
    assert _installed(ha_python) == __version__
    installed_record = set((_installed(ha_python, record=True) or "").splitlines())
    wheel_record = dist.library.wheel_text(
        f"happy_follower-{__version__}.dist-info/RECORD"
    ).splitlines()
    sources = [line for line in wheel_record if line.split(",")[0].endswith(".py")]
    assert sources
    assert set(sources) <= installed_record
    # Only the library's dependencies came with it: not the MCP server's.
    assert [name for name in ("mcp", "happy-follower-mcp") if _installed(ha_python, name)] == []

    entities = await home_assistant.websocket({"type": "config/entity_registry/list"})
    (credit,) = [
        entity["entity_id"]
        for entity in entities
        if entity["config_entry_id"] == entry["entry_id"]
        and entity.get("translation_key") == "credit"
    ]
    state = await home_assistant.get(f"/api/states/{credit}")
    assert float(state["state"]) == simulator.credit(api_key)
