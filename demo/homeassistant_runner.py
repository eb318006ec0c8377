"""Run a real Home Assistant for the demo: a private config dir, onboarding done over HTTP.

Home Assistant runs as a subprocess of the current Python (the development
environment has it installed) or of a given one (the release check's environment);
nothing here imports it. Everything it writes lives in the config dir, which the
caller owns and removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = REPO_ROOT / "custom_components" / "happy_follower"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>

# Home Assistant's core settings (location, language) are in .storage/core.config, as a
# user's are after onboarding: in YAML they would lock the settings page and the language.
CONFIGURATION_YAML = """\
frontend:
config:
history:
logbook:
logger:
  default: warning
  logs:
    custom_components.happy_follower: info
"""


class HomeAssistantError(RuntimeError):
    """Home Assistant could not be started or set up for the demo."""


class HomeAssistantRunner:
    """One Home Assistant process on 127.0.0.1, driven through its HTTP and WebSocket APIs."""

    def __init__(
        self,
        config_dir: Path,
        port: int,
        *,
        python: str = sys.executable,
        install_requirements: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``install_requirements`` lets Home Assistant install what integrations require,
        as it does for a user (the demo's environment has it all, so it skips that).
        """
        self.config_dir = config_dir
        self.port = port
        self.python = python
        self.install_requirements = install_requirements
        self.env = dict(os.environ if env is None else env)
        self.url = f"http://127.0.0.1:{port}"
        self.client_id = f"{self.url}/"
        self._process: asyncio.subprocess.Process | None = None
        self._token: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    def write_config(
        self,
        configuration: str = CONFIGURATION_YAML,
        *,
        copy_integration: bool = False,
        language: str = "en",
        location_name: str = "Happy Follower demo",
    ) -> None:
        """Write configuration.yaml, Home Assistant's core settings (in ``language``, its
        system language) and put the integration into custom_components.

        The integration is linked (a change in the checkout shows after a restart), or
        copied as HACS or a user installs it.
        """
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(
            configuration.format(url=self.url), encoding="utf-8"
        )
        custom = self.config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        target = custom / "happy_follower"
        if copy_integration:
            shutil.copytree(INTEGRATION_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
        elif not target.exists():
            target.symlink_to(INTEGRATION_DIR, target_is_directory=True)
        # The core-config step of onboarding would add integrations that need the internet
        # (weather, radio, translation): mark it done, with the location set above.
        storage = self.config_dir / ".storage"
        storage.mkdir(exist_ok=True)
        _write_store(storage, "onboarding", 4, 1, {"done": ["core_config"]})
        core = {
            "latitude": 35.6892,  # Tehran
            "longitude": 51.389,
            "elevation": 1190,
            "unit_system_v2": "metric",
            "location_name": location_name,
            "time_zone": "Asia/Tehran",
            "external_url": None,
            "internal_url": self.url,
            "currency": "IRR",
            "country": "IR",
            "language": language,
            "radius": 100,
        }
        _write_store(storage, "core.config", 1, 4, core)
        # HTTP settings live in storage since Home Assistant 2026.10; in YAML they would
        # be "migrated" with a dialog asking the user to confirm the new port.
        http = {
            "server_host": ["127.0.0.1"],
            "server_port": self.port,
            "cors_allowed_origins": ["https://cast.home-assistant.io"],
            "login_attempts_threshold": -1,
            "ip_ban_enabled": True,
            "ssl_profile": "modern",
            "use_x_frame_options": True,
            "created_at": datetime.now(UTC).isoformat(),
            "error": None,
            "error_message": None,
        }
        _write_store(
            storage, "http", 2, 2, {"stable": http, "pending": None, "yaml_migration_done": True}
        )

    async def start(self) -> None:
        """Start Home Assistant and wait until its HTTP API answers."""
        check_port_free(self.port, "Home Assistant", "--ha-port")
        log = (self.config_dir / "demo-home-assistant.out").open("wb")
        skip_pip = [] if self.install_requirements else ["--skip-pip"]
        self._process = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "homeassistant",
            "--config",
            str(self.config_dir),
            *skip_pip,
            cwd=self.config_dir,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the demo, which stops HA in order
            preexec_fn=_die_with_parent,
            env={**self.env, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        self._session = aiohttp.ClientSession()
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while True:
            if self._process.returncode is not None:
                raise HomeAssistantError(
                    f"Home Assistant exited with code {self._process.returncode}; "
                    f"see {self.config_dir / 'demo-home-assistant.out'}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._session.get(
                    f"{self.url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise HomeAssistantError(f"Home Assistant did not start in {START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.5)

    async def onboard(
        self, *, name: str, username: str, password: str, language: str = "en"
    ) -> None:
        """Create the owner and finish onboarding, as the first browser visit would (in
        ``language``, as the onboarding page asks for it)."""
        created = await self._post(
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": language,
            },
            auth=False,
        )
        self._token = await self._exchange_code(created["auth_code"])
        await self._post("/api/onboarding/analytics", {})
        await self._post(
            "/api/onboarding/integration",
            {"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
        )

    async def _exchange_code(self, code: str) -> str:
        assert self._session is not None
        async with self._session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        ) as response:
            body: dict[str, Any] = await response.json()
            if response.status != 200:
                raise HomeAssistantError(f"login failed: HTTP {response.status}")
        return str(body["access_token"])

    @property
    def access_token(self) -> str:
        """The owner's access token (for the browser test and the REST API)."""
        assert self._token is not None
        return self._token

    async def _post(self, path: str, data: dict[str, Any], *, auth: bool = True) -> Any:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self._token}"} if auth else {}
        async with self._session.post(f"{self.url}{path}", json=data, headers=headers) as resp:
            if resp.status >= 400:
                raise HomeAssistantError(f"POST {path}: HTTP {resp.status} {await resp.text()}")
            return await resp.json()

    async def get(self, path: str) -> Any:
        """GET a REST API path as the owner."""
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._session.get(f"{self.url}{path}", headers=headers) as resp:
            if resp.status >= 400:
                raise HomeAssistantError(f"GET {path}: HTTP {resp.status} {await resp.text()}")
            return await resp.json()

    async def config_flow(self, handler: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
        """Run a config flow through the REST API with one input per step."""
        result = await self._post(
            "/api/config/config_entries/flow", {"handler": handler, "show_advanced_options": True}
        )
        for step in steps:
            result = await self._post(f"/api/config/config_entries/flow/{result['flow_id']}", step)
        if result.get("type") != "create_entry":
            raise HomeAssistantError(f"the {handler} config flow did not finish: {result}")
        return dict(result)

    async def options_flow(self, entry_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Save options of a config entry through its options form: the form's own values
        as it shows them, with ``changes`` typed over them."""
        form = await self._post("/api/config/config_entries/options/flow", {"handler": entry_id})
        shown = {
            field["name"]: field["description"]["suggested_value"]
            for field in form.get("data_schema", [])
            if "suggested_value" in (field.get("description") or {})
        }
        result = await self._post(
            f"/api/config/config_entries/options/flow/{form['flow_id']}", {**shown, **changes}
        )
        if result.get("type") != "create_entry":
            raise HomeAssistantError(f"the options were not saved: {result}")
        return dict(result)

    async def reload_entry(self, entry_id: str) -> None:
        """Reload a config entry (its entities and devices take a new title)."""
        await self._post(f"/api/config/config_entries/entry/{entry_id}/reload", {})

    async def wait_loaded(self, entry_id: str) -> None:
        """Wait until a config entry is loaded (saved options reload it in the background)."""
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while True:
            entries = await self.get("/api/config/config_entries/entry")
            state = next((e["state"] for e in entries if e["entry_id"] == entry_id), None)
            if state == "loaded":
                return
            if asyncio.get_running_loop().time() > deadline:
                raise HomeAssistantError(f"the config entry is {state}, not loaded")
            await asyncio.sleep(0.2)

    async def call_service(
        self, domain: str, service: str, data: dict[str, Any], *, response: bool = False
    ) -> Any:
        """Call an action through the REST API, optionally returning its response data."""
        path = f"/api/services/{domain}/{service}" + ("?return_response" if response else "")
        return await self._post(path, data)

    async def websocket(self, message: dict[str, Any]) -> Any:
        """Send one WebSocket command and return its result."""
        assert self._session is not None
        async with self._session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.access_token})
            auth = await ws.receive_json()
            if auth.get("type") != "auth_ok":
                raise HomeAssistantError("WebSocket authentication failed")
            message_id = next(self._ids)
            await ws.send_json({"id": message_id, **message})
            while True:
                answer = await ws.receive_json()
                if answer.get("id") == message_id and answer.get("type") == "result":
                    if not answer.get("success"):
                        raise HomeAssistantError(f"{message['type']}: {answer.get('error')}")
                    return answer.get("result")

    async def stop(self) -> None:
        """Stop Home Assistant (SIGTERM, then SIGKILL) and close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _write_store(folder: Path, key: str, version: int, minor: int, data: object) -> None:
    """Write one file of Home Assistant's .storage, in its own format."""
    document = {"version": version, "minor_version": minor, "key": key, "data": data}
    (folder / key).write_text(json.dumps(document), encoding="utf-8")


def check_port_free(port: int, what: str, flag: str) -> None:
    """Refuse to start beside another server, which would answer in our place."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers do: connections of a stopped server (TIME_WAIT) must not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise HomeAssistantError(
                f"port {port} is already in use (another {what} or demo?): "
                f"stop it or choose another port with {flag}"
            ) from None


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM if the demo dies without stopping us."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
