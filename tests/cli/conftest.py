"""Run the real ``happy-follower`` CLI as a subprocess against the test's simulator.

Every run goes through :meth:`CliRunner.check`: the API key (and every token the
simulator handed out) must never show in stdout, stderr or the audit ledger; a
failure is one ``error:`` line on stderr with no traceback; a success writes
nothing to stderr but ``warning:`` lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from shared_client import protocol
from shared_client.cli import API_KEY_ENV, LEDGER_ENV
from shared_client.simulator import Simulator

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 30.0
# How the CLI's hints start when it runs from this clone's uv environment (as the tests run
# it): the README's form, which works in a shell where `happy-follower` is not on PATH.
HINT = "uv run happy-follower"
# Marks "use the simulator's live root" for ``base_url``; pass None for no --base-url.
LIVE = "live"


@dataclass(frozen=True, slots=True)
class CliResult:
    """How one run of the CLI ended."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout as one JSON document."""
        return json.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        """stdout as JSON lines (``status --watch --json``)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def warnings(self) -> list[str]:
        """The ``warning:`` lines, without their prefix."""
        return [
            line.removeprefix("warning: ")
            for line in self.stderr.splitlines()
            if line.startswith("warning: ")
        ]

    @property
    def errors_only(self) -> str:
        """stderr without its warning lines, and without the confirmation asked there
        (with --json the question goes to stderr; the answer's line ends it)."""
        _, asked, after = self.stderr.rpartition("[y/N] ")
        rest = after.partition("\n")[2] if asked else self.stderr
        return "".join(
            line for line in rest.splitlines(keepends=True) if not line.startswith("warning: ")
        )

    @property
    def error(self) -> str:
        """The one error line, without its ``error: `` prefix."""
        errors = self.errors_only
        assert errors.startswith("error: "), self.stderr
        return errors.removeprefix("error: ").rstrip("\n")


def free_port() -> int:
    """A TCP port nothing listens on (right now) on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def child_env(pycache: Path) -> dict[str, str]:
    """The caller's environment without HAPPY_FOLLOWER_* settings, with a bytecode cache.

    Where PYTHONDONTWRITEBYTECODE is set and the environment has no compiled files,
    every child would compile aiohttp and pydantic again (over a second each): the
    children share a cache of their own instead, outside the repository.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAPPY_FOLLOWER_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


class CliRunner:
    """Starts ``python -m shared_client.cli`` with a private state dir and ledger."""

    def __init__(self, simulator: Simulator, api_key: str, tmp_path: Path, pycache: Path) -> None:
        self.simulator = simulator
        self.pycache = pycache
        self.api_key = api_key
        self.tmp_path = tmp_path
        self.state_home = tmp_path / "state"
        self.ledger = tmp_path / "ledger.jsonl"
        self.extra_secrets: set[str] = set()

    def env(
        self, *, api_key: str | None, extra: Mapping[str, str | None] | None = None
    ) -> dict[str, str]:
        """The child's environment: none of the caller's HAPPY_FOLLOWER_* settings leak in."""
        env = child_env(self.pycache)
        env.update(
            HOME=str(self.tmp_path / "home"),
            XDG_STATE_HOME=str(self.state_home),
            PYTHONUNBUFFERED="1",
            PYTHONIOENCODING="utf-8",
        )
        env[LEDGER_ENV] = str(self.ledger)
        if api_key is not None:
            env[API_KEY_ENV] = api_key
            self.extra_secrets.add(api_key)
        for name, value in (extra or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def command(self, args: tuple[str, ...], base_url: str | None) -> list[str]:
        prefix = [] if base_url is None else ["--base-url", self._url(base_url)]
        return [sys.executable, "-m", "shared_client.cli", *prefix, *args]

    def _url(self, base_url: str) -> str:
        return self.simulator.base_url if base_url == LIVE else base_url

    async def start(
        self,
        *args: str,
        base_url: str | None = LIVE,
        api_key: str | None = "",
        env: Mapping[str, str | None] | None = None,
        stdin: int | IO[Any] = asyncio.subprocess.DEVNULL,
    ) -> asyncio.subprocess.Process:
        """Start the CLI; ``api_key`` "" means the account's key, None means unset."""
        key = self.api_key if api_key == "" else api_key
        return await asyncio.create_subprocess_exec(
            *self.command(args, base_url),
            cwd=REPO_ROOT,
            env=self.env(api_key=key, extra=env),
            stdin=stdin,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def run(
        self,
        *args: str,
        base_url: str | None = LIVE,
        api_key: str | None = "",
        env: Mapping[str, str | None] | None = None,
        stdin: int | IO[Any] = asyncio.subprocess.DEVNULL,
        input_text: str | None = None,
    ) -> CliResult:
        """Run the CLI to its end and check what every run must satisfy."""
        if input_text is not None:
            stdin = asyncio.subprocess.PIPE
        process = await self.start(*args, base_url=base_url, api_key=api_key, env=env, stdin=stdin)
        data = None if input_text is None else input_text.encode()
        try:
            async with asyncio.timeout(RUN_TIMEOUT):
                stdout, stderr = await process.communicate(data)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        result = CliResult(args, process.returncode, stdout.decode("utf-8"), stderr.decode("utf-8"))
        self.check(result)
        return result

    def secrets(self) -> set[str]:
        """The API keys given to the CLI and every credential the simulator was sent."""
        found = {key for key in (*self.extra_secrets, self.api_key) if key}
        headers = (
            protocol.HEADER_AUTHORIZATION,
            protocol.HEADER_REFRESH_TOKEN,
            protocol.HEADER_OLD_TOKEN,
        )
        for request in self.simulator.requests:
            for header in headers:
                _, _, credential = request.headers.get(header, "").partition(" ")
                if credential.strip():
                    found.add(credential.strip())
        return found

    def assert_no_secret(self, *texts: str) -> None:
        secrets = self.secrets()
        assert secrets, "expected at least the API key to look for"
        for text in texts:
            for secret in secrets:
                assert secret not in text, "a secret was printed"

    def check(self, result: CliResult) -> None:
        """What every run must satisfy, whatever the command."""
        ledger = self.ledger.read_text("utf-8") if self.ledger.exists() else ""
        self.assert_no_secret(result.stdout, result.stderr, ledger)
        assert "Traceback" not in result.stderr
        errors = result.errors_only
        if result.code == 0:
            assert errors == "", result.stderr
        elif not (result.code == 2 and errors.startswith("usage:")):
            # Our own errors (argparse prints its usage first): one line, "error: ...".
            assert errors.startswith("error: "), result.stderr
            assert errors.endswith("\n")
            assert errors.count("\n") == 1, result.stderr

    def ledger_records(self) -> list[dict[str, Any]]:
        if not self.ledger.exists():
            return []
        lines = self.ledger.read_text("utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def ledger_events(self) -> list[str]:
        return [record["event"] for record in self.ledger_records()]

    def order_posts(self) -> int:
        """Orders the simulator received (placed or not)."""
        return sum(1 for request in self.simulator.requests if request.endpoint == "order")


@pytest.fixture(scope="session")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bytecode cache for the CLI's children, filled once by a first import."""
    path = tmp_path_factory.mktemp("pycache")
    subprocess.run(
        [sys.executable, "-c", "import shared_client.cli"],
        cwd=REPO_ROOT,
        env=child_env(path),
        check=True,
        timeout=RUN_TIMEOUT,
    )
    return path


@pytest.fixture
def cli(simulator: Simulator, api_key: str, tmp_path: Path, pycache: Path) -> CliRunner:
    """Runs the CLI against ``simulator`` with the ``api_key`` account."""
    return CliRunner(simulator, api_key, tmp_path, pycache)
