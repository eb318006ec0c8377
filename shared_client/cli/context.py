"""What every command of the CLI shares: exit codes, the one-line error, how this program
is run here (for hints to paste), and the context a command runs in (its settings, client,
spend guard and output)."""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

from ..client import HappyFollowerClient
from ..errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerConnectionError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerLedgerError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerSandboxUnsupportedError,
    HappyFollowerSpendCapError,
    with_outcome,
)
from ..guard import SpendCaps, SpendGuard
from ..ledger import AuditRecord, Ledger
from ..ledger import default_ledger_path as _state_path
from ..settings import DEFAULT_LEDGER_NAME, HappyFollowerSettings, SettingsError, env_name

API_KEY_ENV = env_name(HappyFollowerSettings, "api_key")
SANDBOX_ENV = env_name(HappyFollowerSettings, "sandbox")
BASE_URL_ENV = env_name(HappyFollowerSettings, "base_url")
LEDGER_ENV = env_name(HappyFollowerSettings, "ledger")
MAX_COUNT_ENV = env_name(HappyFollowerSettings, "max_count_per_order")
MAX_ORDERS_ENV = env_name(HappyFollowerSettings, "max_orders_per_day")
MAX_SPEND_ENV = env_name(HappyFollowerSettings, "max_spend_per_day")
UNIT_PRICES_ENV = env_name(HappyFollowerSettings, "unit_prices")
LINK_HOSTS_ENV = env_name(HappyFollowerSettings, "link_hosts")
PROGRAM = "happy-follower"

# Settings of the spend guard that ``order``, ``orders`` and ``confirm-price`` also take as
# options (over their HAPPY_FOLLOWER_* variables).
GUARD_SETTINGS = (
    "ledger",
    "max_count_per_order",
    "max_orders_per_day",
    "max_spend_per_day",
    "unit_prices",
    "link_hosts",
)


class ExitCode(IntEnum):
    """Process exit codes of the CLI."""

    OK = 0
    ERROR = 1  # anything else, e.g. an unexpected answer from the service
    USAGE = 2  # bad arguments, settings or input: nothing was sent
    AUTH = 3  # the API key was refused
    UNAVAILABLE = 4  # connection failure, timeout or rate limit: try again later
    REFUSED = 5  # the service refused the request (e.g. not enough credit)
    OUTCOME_UNKNOWN = 6  # an order was sent and no answer came: check before retrying
    CANCELLED = 7  # not confirmed, a possible duplicate, or a spending cap refused the order
    LEDGER = 8  # the audit ledger cannot be used: nothing was sent


# First match wins: subclasses before their bases.
_EXIT_CODES: tuple[tuple[type[HappyFollowerError], ExitCode], ...] = (
    (HappyFollowerInputError, ExitCode.USAGE),
    (HappyFollowerSandboxUnsupportedError, ExitCode.USAGE),  # nothing was sent
    (HappyFollowerAuthenticationError, ExitCode.AUTH),
    (HappyFollowerConnectionError, ExitCode.UNAVAILABLE),
    (HappyFollowerRateLimitError, ExitCode.UNAVAILABLE),
    (HappyFollowerApiError, ExitCode.REFUSED),
    (HappyFollowerOrderOutcomeUnknownError, ExitCode.OUTCOME_UNKNOWN),
    (HappyFollowerSpendCapError, ExitCode.CANCELLED),
    (HappyFollowerLedgerError, ExitCode.LEDGER),
)


class CliError(Exception):
    """An error with its exit code, reported as one line."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def exit_code(err: HappyFollowerError) -> ExitCode:
    """The exit code of a library error."""
    return next((code for kind, code in _EXIT_CODES if isinstance(err, kind)), ExitCode.ERROR)


def one_line(text: str) -> str:
    """Messages end up as one ``error:`` line, whatever they hold."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def default_ledger_path() -> Path:
    """The ledger the CLI uses without ``--ledger`` or its variable: the MCP server's too."""
    return _state_path(DEFAULT_LEDGER_NAME)


def _uv_project_root() -> Path | None:
    """The uv project whose own environment runs this program, if one does: the
    interpreter's prefix is ``<root>/.venv`` (or ``$UV_PROJECT_ENVIRONMENT``) and ``<root>``
    holds ``pyproject.toml`` and ``uv.lock``."""
    prefix = Path(sys.prefix).resolve()
    named = os.environ.get("UV_PROJECT_ENVIRONMENT")
    candidates = [prefix.parent] if prefix.name == ".venv" else []
    if named and Path(named).resolve() == prefix:
        # The project this (editable) install runs from: uv run finds it from anywhere in it.
        candidates.append(Path(__file__).resolve().parents[2])
    for root in candidates:
        if (root / "pyproject.toml").is_file() and (root / "uv.lock").is_file():
            return root
    return None


@functools.cache
def program_words() -> tuple[str, ...]:
    """How the person at this terminal runs this very program, as the first words of a
    hint to paste.

    The rule, in order:

    1. Run from a uv project's own environment (a clone: ``uv run happy-follower``, or
       ``python -m shared_client.cli`` with the clone's ``.venv``): ``uv run happy-follower``,
       with ``--project <root>`` when the current directory is outside the project. That
       environment's ``bin`` is on ``PATH`` only inside ``uv run`` (or an activated
       environment), so ``shutil.which`` would find it there and lie about the person's
       shell; ``uv run`` works in both cases.
    2. Installed elsewhere and ``happy-follower`` on ``PATH`` is this environment's script
       (``uv tool install``, ``pipx``, an activated virtual environment): ``happy-follower``.
    3. This environment has the script but ``PATH`` finds another one or none (a virtual
       environment that is not activated): the script's absolute path.
    4. No script at all: ``python -m shared_client.cli`` with this interpreter.
    """
    root = _uv_project_root()
    if root is not None:
        inside = Path.cwd().resolve().is_relative_to(root)
        return ("uv", "run", PROGRAM) if inside else ("uv", "run", "--project", str(root), PROGRAM)
    script = Path(sysconfig.get_path("scripts")) / PROGRAM
    found = shutil.which(PROGRAM)
    if found is not None and script.exists() and Path(found).resolve() == script.resolve():
        return (PROGRAM,)
    if script.exists():
        return (str(script),)
    return (sys.executable, "-m", "shared_client.cli")


def program_hint(*words: str) -> str:
    """A command line to paste: this program, as it runs here, with ``words``."""
    return shlex.join((*program_words(), *words))


@dataclass
class Context:
    """What one command runs with: its parsed arguments, where its output goes, and the
    settings, client and spend guard it opens from them (settings are read on first use, so
    that a command that needs none never fails on them)."""

    args: argparse.Namespace
    out: TextIO
    err: TextIO
    # True: the vendor's sandbox; None: as the settings say (the probe defaults to True).
    sandbox: bool | None = None
    # An order is on its way: Ctrl-C leaves its outcome unknown.
    sending: bool = False

    @cached_property
    def settings(self) -> HappyFollowerSettings:
        """Flags over the environment, parsed by the model the MCP server uses too."""
        guard_flags = {name: getattr(self.args, name, None) for name in GUARD_SETTINGS}
        try:
            return HappyFollowerSettings.load(
                sandbox=self.sandbox, base_url=self.args.base_url, **guard_flags
            )
        except SettingsError as err:
            raise CliError(str(err), ExitCode.USAGE) from None

    @cached_property
    def caps(self) -> SpendCaps:
        try:
            return self.settings.caps
        except SettingsError as err:
            raise CliError(str(err), ExitCode.USAGE) from None

    @property
    def wants_json(self) -> bool:
        """With ``--json``: standard output holds only JSON (it may be piped)."""
        return bool(self.args.json)

    @property
    def screen(self) -> TextIO:
        """Where questions and what they are about go: stderr with ``--json``."""
        return self.err if self.wants_json else self.out

    def command_hint(self, command: str, *, ledger: bool = False) -> str:
        """``command`` as a line to paste, with the options in effect now."""
        words: list[str] = []
        if self.settings.sandbox:
            words.append("--sandbox")
        if self.settings.base_url:
            words += ["--base-url", self.settings.base_url]
        words += shlex.split(command)
        if ledger and self.settings.ledger is not None:
            words += ["--ledger", str(self.settings.ledger_path())]
        return program_hint(*words)

    def check_hint(self) -> str:
        """How to find out whether an order whose outcome is unknown was placed."""
        return f"`{self.command_hint('credit')}` and `{self.command_hint('orders', ledger=True)}`"

    def emit(self, data: Any, text: str) -> None:
        """Print data as JSON with --json, else the human text."""
        if self.wants_json:
            print(json.dumps(data, ensure_ascii=False), file=self.out)
        else:
            print(text, file=self.out)
        self.out.flush()

    def warn(self, text: str) -> None:
        print(f"warning: {one_line(text)}", file=self.err)
        self.err.flush()

    def client(self) -> HappyFollowerClient:
        settings = self.settings
        try:
            api_key = settings.require_api_key()
        except SettingsError as err:
            raise CliError(
                f"{err}, or run `{program_hint('simulate')}` for a test key", ExitCode.USAGE
            ) from None
        return HappyFollowerClient(
            api_key,
            sandbox=settings.sandbox,
            base_url=settings.base_url,
            request_timeout=self.args.timeout,
        )

    async def open_guard(self, client: HappyFollowerClient) -> SpendGuard:
        """The spend guard on the ledger, checked before anything is sent; attempts that a
        stopped process left without an outcome are reported as warnings."""
        settings = self.settings
        guard = SpendGuard(
            client,
            Ledger(settings.ledger_path()),
            self.caps,
            source="cli",
            link_hosts=settings.allowed_link_hosts,
        )
        try:
            interrupted = await guard.open()
        except HappyFollowerLedgerError as err:
            raise CliError(with_outcome(err), ExitCode.LEDGER) from None
        for record in interrupted:
            self.warn(self._interrupted_text(record))
        return guard

    def _interrupted_text(self, record: AuditRecord) -> str:
        return (
            f"an order attempt of {record.at:%Y-%m-%d %H:%M UTC} (service {record.service_id}, "
            f"{record.count} to {record.link}) was interrupted before its answer was recorded: "
            f"it may have been placed, and it counts against the caps. Check with "
            f"{self.check_hint()}"
        )
