"""The ``happy-follower`` command line: every endpoint, the ledger, a probe of the real
service, the simulator and a guided demo.

Exit codes scripts can rely on (see ``ExitCode``). The API key comes from the
``HAPPY_FOLLOWER_API_KEY`` environment variable only and is never echoed. Settings
(caps, ledger, base URL, sandbox) are the MCP server's too: ``shared_client.settings``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import sysconfig
from collections.abc import Callable, Coroutine, Sequence
from enum import IntEnum
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn, TextIO

from yarl import URL

from .. import __version__, protocol
from ..client import HappyFollowerClient
from ..errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerConnectionError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerLedgerError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerSandboxUnsupportedError,
    HappyFollowerSpendCapError,
    Refusal,
)
from ..guard import LedgerOrder, OrderQuote, SpendCaps, SpendGuard, Usage
from ..ledger import AuditEvent, AuditRecord, Ledger
from ..ledger import default_ledger_path as _state_path
from ..models import OrderStatus
from ..settings import DEFAULT_LEDGER_NAME, HappyFollowerSettings, SettingsError, env_name
from ..validation import MAX_WHOLE_NUMBER, display_text, link_target, positive_int
from .tour import DEMO_CREDIT, guided_tour, progress_bar

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
CONFIRMED_AT_PROMPT = "user at the CLI prompt"
CONFIRMED_BY_FLAG = "--yes"
# How the service words a refusal of an order's parameters (its message is not documented).
_INVALID_PARAMETER_MARKERS = ("پارامتر", "param", "invalid", "نامعتبر")


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


def exit_code(err: HappyFollowerError) -> ExitCode:
    """The exit code of a library error."""
    return next((code for kind, code in _EXIT_CODES if isinstance(err, kind)), ExitCode.ERROR)


def one_line(text: str) -> str:
    """Messages end up as one ``error:`` line, whatever they hold."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


class Cli:
    """Runs one parsed command; output goes to ``out``, warnings to ``err``."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> None:
        self.args = args
        self.out = out
        self.err = err or sys.stderr
        self._sending = False  # an order is on its way: Ctrl-C leaves its outcome unknown

    # --- settings and helpers ------------------------------------------------------------

    @cached_property
    def settings(self) -> HappyFollowerSettings:
        """Flags over the environment, parsed by the model the MCP server uses too."""
        guard_flags = {name: getattr(self.args, name, None) for name in _GUARD_FLAGS}
        sandbox = True if self.args.sandbox else None
        if self.args.command == "probe":
            sandbox = not self.args.live  # the probe's own default: the sandbox
        try:
            return HappyFollowerSettings.load(
                sandbox=sandbox,
                base_url=self.args.base_url,
                **guard_flags,
            )
        except SettingsError as err:
            raise CliError(str(err), ExitCode.USAGE) from None

    @cached_property
    def caps(self) -> SpendCaps:
        try:
            return self.settings.caps
        except SettingsError as err:
            raise CliError(str(err), ExitCode.USAGE) from None

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

    def emit(self, data: Any, text: str) -> None:
        """Print data as JSON with --json, else the human text."""
        if self.args.json:
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
            raise CliError(f"{err} Nothing was sent.", ExitCode.LEDGER) from None
        for record in interrupted:
            self.warn(self._interrupted_text(record))
        return guard

    def _interrupted_text(self, record: AuditRecord) -> str:
        return (
            f"an order attempt of {record.at:%Y-%m-%d %H:%M UTC} (service {record.service_id}, "
            f"{record.count} to {record.link}) was interrupted before its answer was recorded: "
            "it may have been placed, and it counts against the caps. Check with "
            f"`{self.command_hint('credit')}` and `{self.command_hint('orders', ledger=True)}`"
        )

    # --- reads -----------------------------------------------------------------------------

    async def credit(self) -> None:
        async with self.client() as client:
            credit = await client.get_credit()
        self.emit({"credit": credit}, f"Credit: {credit:,}")

    async def services(self) -> None:
        async with self.client() as client:
            services = await client.get_services()
        rows = [service.model_dump() for service in services]
        text = "\n".join(f"{s.service_id:>6}  {display_text(s.name)}" for s in services)
        self.emit(rows, text or "No services.")

    async def status(self) -> None:
        order_id = positive_int(self.args.order_id, "order_id")
        async with self.client() as client:
            status = await client.get_order_status(order_id)
            self.emit(status.summary(order_id), _status_text(order_id, status))
            await self._note_cost(client, order_id, status)
            while self.args.watch and not status.is_final:
                await asyncio.sleep(self.args.interval)
                status = await client.get_order_status(order_id)
                self.emit(status.summary(order_id), _status_text(order_id, status))
            if self.args.watch:
                await self._note_cost(client, order_id, status)  # a partial end refunds

    async def _note_cost(
        self, client: HappyFollowerClient, order_id: int, status: OrderStatus
    ) -> None:
        """Settle the order's reserved cost bound in the ledger with the cost the status
        gives (what the guard asks for when a cost was never learned). A read never creates
        a ledger, and a ledger problem does not stop it."""
        path = self.settings.ledger_path()
        if not path.exists():
            return
        guard = SpendGuard(client, Ledger(path), self.caps, source="cli")
        settled = await guard.settle_cost(order_id, status.cost)
        if settled.not_written is not None:
            self.warn(f"the order's cost could not be written to the ledger: {settled.not_written}")
        if settled.anomaly is not None:
            self.warn(f"order {order_id}: {settled.anomaly}")

    async def orders(self) -> None:
        async with self.client() as client:
            guard = await self.open_guard(client)
            usage, items = guard.usage(), await guard.history(self.args.limit)
            refusals = await self._refusals(guard) if self.args.refusals else None
        where = "sandbox" if client.sandbox else "live"
        simulator = is_simulator_root(client.base_url)
        data: dict[str, Any] = {
            "environment": where,
            "api_root": client.base_url,
            "simulator": simulator,
            "usage_24h": _usage_data(usage),
            "caps": _caps_data(self.caps),
            "orders": [item.summary() for item in items],
        }
        heading = f"{where} orders of the ledger"
        if simulator:
            heading += f"; the API in use is the SIMULATOR at {client.base_url}, not the vendor"
        lines = [f"Last 24 hours ({heading}): {_usage_text(usage)}; caps: {_caps_text(self.caps)}"]
        lines += [_ledger_order_text(item) for item in items] or ["No orders in the ledger."]
        if refusals is not None:
            data["refusals"] = [_refusal_data(record) for record in refusals]
            lines += ["Refused before sending (nothing was sent):"]
            lines += [_refusal_text(record) for record in refusals] or ["  No refusals."]
        self.emit(data, "\n".join(lines))

    async def _refusals(self, guard: SpendGuard) -> list[AuditRecord]:
        """The ledger's refusals in this environment, newest first, at most ``--limit``."""
        try:
            records = await asyncio.to_thread(guard.ledger.history)
        except HappyFollowerLedgerError as err:
            raise CliError(str(err), ExitCode.LEDGER) from None
        sandbox = guard.client.sandbox
        refused = [
            record
            for record in records
            if record.event is AuditEvent.REFUSED and record.sandbox == sandbox
        ]
        return refused[::-1][: self.args.limit]

    # --- orders ----------------------------------------------------------------------------

    async def order(self) -> None:
        async with self.client() as client:
            guard = await self.open_guard(client)
            try:
                quote = await guard.prepare_order(
                    self.args.service_id, self.args.link, self.args.count
                )
            except HappyFollowerInputError as err:
                if err.field != "count":
                    raise
                raise CliError(self._count_refused(), ExitCode.USAGE) from None
            except HappyFollowerSpendCapError as err:
                raise CliError(self._with_price_hint(guard, err), ExitCode.CANCELLED) from None
            confirmed_by = await self._confirmation(guard, quote, client)
            self._sending = True
            try:
                placed = await guard.place_order(
                    quote,
                    confirmed_by=confirmed_by,
                    duplicate_confirmed=quote.possible_duplicate is not None,
                )
            except HappyFollowerOrderOutcomeUnknownError as err:
                raise CliError(f"{err} {self._do_not_retry()}", ExitCode.OUTCOME_UNKNOWN) from None
            except HappyFollowerApiError as err:
                raise self._order_refused(err) from None
            self._sending = False  # Ctrl-C from here on does not leave the outcome unknown
        if placed.cost is not None:
            cost = f", cost {placed.cost:g}"
        elif placed.estimated_cost is not None:
            cost = f", cost about {placed.estimated_cost:g} (from the credit before and after)"
        else:
            cost = ""
        if placed.anomaly is not None:
            self.warn(f"order {placed.order_id}: {placed.anomaly}")
        what = f"{placed.count} × {placed.service_name or placed.service_id}"
        self.emit(
            {
                "order_id": placed.order_id,
                "service_id": placed.service_id,
                "service_name": placed.service_name,
                "link": placed.link,
                "count": placed.count,
                "cost": placed.cost,
                "estimated_cost": placed.estimated_cost,
            },
            f"Order {placed.order_id} placed ({what} for {target_text(placed.link)}){cost}. "
            f"Follow it with: {self.command_hint(f'status {placed.order_id} --watch')}",
        )

    def _count_refused(self) -> str:
        """A count that is not a whole number in range, with the range the cap in effect
        allows (the input policy alone knows only the API's largest number)."""
        cap = self.caps.max_count_per_order
        given = display_text(repr(self.args.count), 40)
        if cap is None:
            return (
                f"count must be a whole number from 1 to {MAX_WHOLE_NUMBER} (no cap on a "
                f"single order is set), written without separators; got {given}"
            )
        return (
            f"count must be a whole number from 1 to {cap} (the cap on a single order: "
            f"--max-count-per-order or ${MAX_COUNT_ENV}), written without separators; "
            f"got {given}"
        )

    def _with_price_hint(self, guard: SpendGuard, err: HappyFollowerSpendCapError) -> str:
        """A refusal for want of a price a person stands behind, with the command that
        confirms the price the service was seen to charge."""
        service_id = err.amounts.get("service_id")
        if err.cap not in (Refusal.COST_UNKNOWN, Refusal.PRICE_CHANGED) or not service_id:
            return str(err)
        offer = guard.price_offer(int(service_id))
        if offer is None:
            return str(err)
        command = self.command_hint(f"confirm-price {int(service_id)}", ledger=True)
        return f"{err}. It was seen to charge {offer[0]:g} per unit ({offer[1]}): `{command}`"

    async def confirm_price(self) -> None:
        """A person stands behind a service's price per unit: it bounds its orders under a
        spend cap (shared by the MCP server, through the ledger) and lifts a hold."""
        async with self.client() as client:
            guard = await self.open_guard(client)
            service_id = positive_int(self.args.service_id, "service_id")
            price: object = self.args.unit_price
            seen = ""
            if price is None:
                offer = guard.price_offer(service_id)
                if offer is None:
                    raise CliError(
                        f"no price was seen for service {service_id} in this environment: "
                        f"give the price per unit, e.g. "
                        f"`{self.command_hint(f'confirm-price {service_id} 2.5', ledger=True)}`",
                        ExitCode.USAGE,
                    )
                price, seen = offer[0], f" ({offer[1]})"
            question = (
                f"Bound the orders of service {service_id} at {price} per unit{seen}? An order "
                "then reserves its count times this price against the spend cap. [y/N] "
            )
            confirmed_by = CONFIRMED_BY_FLAG
            if not self.args.yes:
                if not sys.stdin.isatty():
                    raise CliError(
                        "refusing to confirm a price without a person: no terminal to ask; "
                        "pass --yes",
                        ExitCode.CANCELLED,
                    )
                if _ask(question, self.err if self.args.json else self.out).strip().lower() not in (
                    "y",
                    "yes",
                ):
                    raise CliError("price not confirmed", ExitCode.CANCELLED)
                confirmed_by = CONFIRMED_AT_PROMPT
            confirmed = await guard.confirm_price(service_id, price, confirmed_by=confirmed_by)
        self.emit(
            {"service_id": service_id, "unit_price": confirmed},
            f"Service {service_id}: orders are now bounded at {confirmed:g} per unit.",
        )

    def _do_not_retry(self) -> str:
        return (
            f"Do not retry: check with `{self.command_hint('credit')}` and "
            f"`{self.command_hint('orders', ledger=True)}` (then "
            f"`{self.command_hint('status ORDER_ID')}` once you know its id)."
        )

    def _order_refused(self, err: HappyFollowerApiError) -> CliError:
        """The service's refusal, with what is likely wrong when it names the parameters."""
        message = err.service_message.lower()
        if isinstance(err, HappyFollowerNotEnoughCreditError) or not any(
            marker in message for marker in _INVALID_PARAMETER_MARKERS
        ):
            return CliError(str(err), ExitCode.REFUSED)
        return CliError(
            f"{err}. Nothing was placed. Most likely the count is outside this service's "
            "minimum or maximum, or the link is not the kind the service expects (a post's "
            "link for likes and views, a profile's for followers; public, written in full "
            f"as https://www.instagram.com/...). The limits are on the service's page on "
            f"happy-follower.com; `{self.command_hint('services')}` lists the services.",
            ExitCode.REFUSED,
        )

    async def _confirmation(
        self, guard: SpendGuard, quote: OrderQuote, client: HappyFollowerClient
    ) -> str:
        """Who confirmed the order; a refusal to confirm is audited and raised."""
        try:
            return self._confirm(quote, client)
        except CliError as err:
            order = quote.order
            await guard.record_refusal(order.service_id, order.link, order.count, reason=str(err))
            raise

    def _confirm(self, quote: OrderQuote, client: HappyFollowerClient) -> str:
        duplicate = quote.possible_duplicate is not None
        if self.args.yes and not duplicate:
            return CONFIRMED_BY_FLAG
        if not sys.stdin.isatty():
            raise CliError(self._cannot_ask(duplicate), _no_terminal_code(duplicate))
        # With --json, standard output holds only the JSON (it may be piped): ask on stderr.
        screen = self.err if self.args.json else self.out
        for line in quote.confirmation_lines(environment_label(client), self.settings.credit_unit):
            print(line, file=screen)
        if duplicate:
            question = "It may be a duplicate. Place it anyway? [y/N] "
        elif client.sandbox:
            question = "This spends sandbox credit. [y/N] "
        else:
            question = "This spends credit. [y/N] "
        if _ask(question, screen).strip().lower() not in ("y", "yes"):
            raise CliError("order not placed: not confirmed", ExitCode.CANCELLED)
        return CONFIRMED_AT_PROMPT

    def _cannot_ask(self, duplicate: bool) -> str:
        if not duplicate:
            return "refusing to order without confirmation: no terminal to ask; pass --yes"
        return (
            "the same order was sent recently and its outcome is unknown: it may have been "
            f"placed. Check with `{self.command_hint('credit')}` and "
            f"`{self.command_hint('orders', ledger=True)}`; to place it again anyway, run this "
            "command on a terminal and confirm the duplicate warning (--yes alone does not)"
        )

    async def cancel(self) -> None:
        order_id = positive_int(self.args.order_id, "order_id")
        async with self.client() as client:
            await client.cancel_order(order_id)
        self.emit({"order_id": order_id, "canceled": True}, f"Order {order_id} canceled.")

    async def recheck(self) -> None:
        order_id = positive_int(self.args.order_id, "order_id")
        async with self.client() as client:
            await client.recheck_order(order_id)
        self.emit({"order_id": order_id, "rechecked": True}, f"Order {order_id} sent to recheck.")

    # --- probe, simulator, demo ------------------------------------------------------------

    async def probe(self) -> None:
        from .probe import run_probe  # noqa: PLC0415 - only this command needs it

        sandbox = self.settings.sandbox  # True unless --live
        async with self.client() as client:
            report = await run_probe(client, self.settings.require_api_key(), sandbox=sandbox)
        self.emit(report.as_data(), report.as_text())
        if report.blocked is not None:
            raise CliError(report.blocked_message(), exit_code(report.blocked))

    async def simulate(self) -> None:
        from ..simulator import DIALECTS, Simulator  # noqa: PLC0415 - only this command

        sim = Simulator(dialect=DIALECTS[self.args.dialect])
        await sim.start(host=self.args.host, port=self.args.port)
        try:
            api_key = sim.add_account(credit=self.args.credit, api_key=self.args.api_key)
            self.emit(
                {
                    "base_url": sim.base_url,
                    "sandbox_base_url": sim.sandbox_base_url,
                    "api_key": api_key,
                },
                "Happy Follower simulator running (Ctrl-C to stop)\n"
                f"  live root:    {sim.base_url}\n"
                f"  sandbox root: {sim.sandbox_base_url}\n"
                f"  API key:      {api_key}   (a simulated key, not a secret)\n\n"
                "Try it from another terminal:\n"
                f"  export {API_KEY_ENV}={api_key}\n"
                f"  {program_hint('--base-url', sim.base_url, 'credit')}",
            )
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    async def demo(self) -> None:
        full_stack = None if self.args.terminal_only else _full_stack_runner()
        if full_stack is not None:
            full_stack.check_ports(self.args.ha_port, self.args.mcp_port)
        from ..simulator import Simulator  # noqa: PLC0415 - only this command needs it

        async with Simulator() as sim:
            api_key = sim.add_account(credit=DEMO_CREDIT)
            await guided_tour(sim, api_key, self.out, tick=self.args.tick)
            if self.args.terminal_only:
                self.out.write(
                    f"Next: `{program_hint('simulate')}` runs the simulator for your experiments.\n"
                )
                return
            if full_stack is None:
                self.out.write(
                    "Home Assistant and the MCP server start only from a clone of the repository\n"
                    f"(git clone the project, then `uv run {PROGRAM} demo` in it); this\n"
                    "installation has the terminal part only.\n"
                )
                return
            await full_stack.run_full_stack(
                sim,
                api_key,
                self.out,
                ha_port=self.args.ha_port,
                mcp_port=self.args.mcp_port,
                ready_file=self.args.ready_file,
                language=self.args.language,
            )
        self.out.write("Stopped; nothing was left behind.\n")

    # --- Ctrl-C ------------------------------------------------------------------------------

    def interrupted(self) -> int:
        """What Ctrl-C means for the command that was running; returns the exit code."""
        command = self.args.command
        if command == "status" and self.args.watch:
            order_id = self.args.order_id
            print(
                f"\nStopped watching. Order {order_id} keeps running at Happy Follower; look "
                f"again with: {self.command_hint(f'status {order_id} --watch')}",
                file=self.out,
            )
            return ExitCode.OK
        if command in ("simulate", "status", "demo"):
            return ExitCode.OK
        if self._sending:
            print(
                f"error: interrupted while the order was being sent: it may have been placed. "
                f"{self._do_not_retry()}",
                file=self.err,
            )
            return ExitCode.OUTCOME_UNKNOWN
        if command == "order":
            print("error: interrupted: no order was sent", file=self.err)
        return ExitCode.CANCELLED


def is_simulator_root(base_url: str) -> bool:
    """Whether an API root is the embedded simulator's: plain http on a loopback address,
    at the path the simulator serves (``/api/v1`` or ``/api/sandbox/v1``)."""
    try:
        url = URL(base_url)
    except ValueError:
        return False
    return (
        url.scheme == "http"
        and url.host in ("127.0.0.1", "localhost", "::1")
        and url.path.rstrip("/") in ("/api/v1", "/api/sandbox/v1")
    )


def environment_label(client: HappyFollowerClient) -> str:
    """Where the orders go, for the person confirming and for ``orders``. The simulator is
    never called LIVE: it answers in the live (or sandbox) API's shape, and the ledger counts
    its orders with that environment's, but it is not the vendor."""
    if is_simulator_root(client.base_url):
        # Short enough for the confirmation's first line (80 characters).
        shape = "sandbox shape" if client.sandbox else "live API's shape"
        return f"SIMULATOR ({shape}, not the vendor), {client.base_url}"
    return f"{'SANDBOX' if client.sandbox else 'LIVE'}, {client.base_url}"


def _ask(question: str, screen: TextIO) -> str:
    """Ask on ``screen`` and read an answer; Ctrl-C or end of input is no. asyncio's own
    Ctrl-C handling would only cancel the command once the answer came, so Python's is
    back while asking."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        print(question, end="", file=screen, flush=True)
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    finally:
        signal.signal(signal.SIGINT, previous)
    if not answer.endswith("\n"):  # no answer: end the question's line
        print(file=screen)
    return answer


def _status_text(order_id: int, status: OrderStatus) -> str:
    """One line of ``status``: the progress and what the service says it costs."""
    return f"Order {order_id}: {progress_bar(status, with_cost=True)}"


def _no_terminal_code(duplicate: bool) -> ExitCode:
    return ExitCode.CANCELLED if duplicate else ExitCode.USAGE


def _usage_data(usage: Usage) -> dict[str, Any]:
    return {
        "orders": usage.orders,
        "spent": usage.spent,
        "reserved": usage.reserved,
        "unbounded": usage.unbounded,
    }


def _caps_data(caps: SpendCaps) -> dict[str, Any]:
    return {
        "max_count_per_order": caps.max_count_per_order,
        "max_orders_per_day": caps.max_orders_per_day,
        "max_spend_per_day": caps.max_spend_per_day,
        "unit_prices": {str(k): v for k, v in caps.unit_prices.items()},
    }


def _usage_text(usage: Usage) -> str:
    text = f"{usage.orders} order(s), spent {usage.spent:g}, reserved {usage.reserved:g}"
    if usage.unbounded:
        text += f", {usage.unbounded} of unknown cost"
    return text


def _caps_text(caps: SpendCaps) -> str:
    def cap(value: float | None, unit: str) -> str:
        return f"no cap on {unit}" if value is None else f"{value:g} {unit}"

    return ", ".join(
        (
            cap(caps.max_orders_per_day, "orders a day"),
            cap(caps.max_count_per_order, "per order"),
            cap(caps.max_spend_per_day, "spend a day"),
        )
    )


def _refusal_data(record: AuditRecord) -> dict[str, Any]:
    return {
        "at": record.at.isoformat(),
        "service_id": record.service_id,
        "link": record.link,
        "count": record.count,
        "reason": record.reason,
        "confirmed_by": record.confirmed_by,
        "source": record.source,
        "sandbox": record.sandbox,
    }


def _refusal_text(record: AuditRecord) -> str:
    service = f"service {record.service_id}" if record.service_id is not None else "no service"
    count = f"x{record.count}" if record.count is not None else "no count"
    link = display_text(target_text(record.link), 80) if record.link else "no link"
    return (
        f"  {record.at:%Y-%m-%d %H:%M} UTC  {service}  {count}  {link}  "
        f"({record.source}): {display_text(one_line(record.reason or 'no reason recorded'), 200)}"
    )


def _ledger_order_text(item: LedgerOrder) -> str:
    order = f"order {item.order_id}" if item.order_id is not None else "no order id"
    if item.cost is not None:
        cost = f"cost {item.cost:g}"
    elif item.cost_bound is not None:
        cost = f"cost at most {item.cost_bound:g}"
    else:
        cost = "cost unknown"
    who = display_text(item.confirmed_by or "not confirmed", 40)
    return (
        f"  {item.at:%Y-%m-%d %H:%M} UTC  {item.outcome:<15}  {order:<14}  service "
        f"{item.service_id}  x{item.count}  {target_text(item.link)}  {cost}  "
        f"(confirmed by {who}, {item.source})"
    )


def target_text(link: str | None) -> str:
    """What a link points at, short enough to tell orders apart: @handle, post CODE..."""
    target = link_target(link)
    return target.text if target.kind in ("profile", "link") else f"{target.kind} {target.text}"


def _full_stack_runner() -> ModuleType | None:
    """The development folder's demo of Home Assistant and the MCP server, if installed.

    It lives in no wheel: it exists in a clone's development environment only.
    """
    try:
        stack = importlib.import_module("demo.stack")
    except ImportError:
        return None
    return stack if stack.full_stack_available() else None


# Settings of the spend guard that ``order`` and ``orders`` also take as options.
_GUARD_FLAGS = (
    "ledger",
    "max_count_per_order",
    "max_orders_per_day",
    "max_spend_per_day",
    "unit_prices",
    "link_hosts",
)


def _add_guard_options(parser: argparse.ArgumentParser) -> None:
    """The guard's settings as options (over their HAPPY_FOLLOWER_* variables)."""
    fields = HappyFollowerSettings.model_fields
    for name in _GUARD_FLAGS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=Path if name == "ledger" else str,
            help=f"{fields[name].description} (${env_name(HappyFollowerSettings, name)})",
        )


def _add_order_commands(commands: Any) -> None:
    order = commands.add_parser("order", help="place an order (spends credit)")
    order.add_argument("service_id", help="service id (see `services`)")
    order.add_argument("link", help="the Instagram page or post, e.g. https://www.instagram.com/x")
    order.add_argument("count", help="how many (likes, followers, views...)")
    order.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _add_guard_options(order)
    orders = commands.add_parser(
        "orders", help="the ledger's order attempts and the last 24 hours against the caps"
    )
    orders.add_argument("--limit", type=int, default=20, help="how many attempts to list")
    orders.add_argument(
        "--refusals",
        action="store_true",
        help="also list the orders refused before sending (by the input checks, a cap or "
        "the person), newest first, with why",
    )
    _add_guard_options(orders)
    status = commands.add_parser("status", help="show an order's status")
    status.add_argument("order_id", help="the order's id, as `order` printed it")
    status.add_argument("--watch", action="store_true", help="follow until the order is final")
    status.add_argument("--interval", type=float, default=10.0, help="seconds between checks")
    price = commands.add_parser(
        "confirm-price",
        help="stand behind a service's price per unit: it bounds its orders under a spend cap",
    )
    price.add_argument("service_id", help="service id (see `services`)")
    price.add_argument(
        "unit_price",
        nargs="?",
        help="price per unit in the account's currency (default: the price the service was "
        "seen to charge, shown before you confirm)",
    )
    price.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _add_guard_options(price)
    for name, text in (("cancel", "cancel an order"), ("recheck", "ask to re-check an order")):
        commands.add_parser(name, help=f"{text} (not in the sandbox)").add_argument(
            "order_id", help="the order's id, as `order` printed it"
        )


def _add_tool_commands(commands: Any) -> None:
    from ..simulator import DIALECTS  # noqa: PLC0415 - a dict of names, cheap

    probe = commands.add_parser(
        "probe",
        help="test what the real service does where its documentation is silent (sandbox)",
    )
    probe.add_argument(
        "--live",
        action="store_true",
        help="probe the live API instead: reads and refusals only, never an order",
    )
    simulate = commands.add_parser("simulate", help="run the embedded API simulator")
    simulate.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    simulate.add_argument("--port", type=int, default=8787, help="port to listen on (default 8787)")
    simulate.add_argument(
        "--credit",
        type=float,
        default=500_000,
        help="credit of the simulated account, live and sandbox (default 500000)",
    )
    simulate.add_argument(
        "--api-key", help="the simulated account's API key (default: a random one)"
    )
    simulate.add_argument(
        "--dialect",
        choices=sorted(DIALECTS),
        default="assumed",
        help="answer as the real service might where its documentation is silent",
    )
    demo = commands.add_parser(
        "demo",
        help="a guided run on the embedded simulator, then Home Assistant and the MCP server",
    )
    demo.add_argument("--tick", type=float, default=0.3, help="seconds between status checks")
    demo.add_argument(
        "--terminal-only", action="store_true", help="only the guided run in the terminal"
    )
    demo.add_argument("--ha-port", type=int, default=8123, help="Home Assistant's port")
    demo.add_argument("--mcp-port", type=int, default=8765, help="the MCP server's port")
    demo.add_argument(
        "--ready-file", type=Path, help="write the URLs and logins there as JSON once ready"
    )
    demo.add_argument(
        "--language",
        choices=("en", "fa"),
        default="en",
        help="Home Assistant's language in the demo: its system language, entity names and "
        "dashboard (fa: Persian); default en",
    )


def _add_global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The options every command takes, before the command and after it.

    After the command they default to ``argparse.SUPPRESS``: a subcommand's parser copies
    only what it was given onto the namespace, so ``--json`` before the command is not
    overwritten by an absent ``--json`` after it.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if after_command else value

    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=default(False),
        help=f"use the vendor's sandbox (also when ${SANDBOX_ENV} is true)",
    )
    parser.add_argument(
        "--base-url",
        default=default(None),
        help=f"API root to use instead of the vendor's (a mirror, a proxy, the simulator; "
        f"also ${BASE_URL_ENV}); with --sandbox it stands for the sandbox's root "
        f"(default {protocol.LIVE_API_ROOT}, with --sandbox {protocol.SANDBOX_API_ROOT})",
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON instead of text"
    )
    parser.add_argument(
        "--timeout", type=float, default=default(20.0), help="seconds per request (default 20)"
    )


class _ParserError(Exception):
    """argparse refused the command line; raised instead of exiting, so that ``main`` can
    explain a setting given the wrong way without echoing what was typed."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _ParserError(self, message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``happy-follower``.

    The options of every command (``--json``, ``--sandbox``, ``--base-url``, ``--timeout``)
    may come before the command or after it.
    """
    parser = _Parser(
        prog=PROGRAM,
        description=f"Happy Follower from the command line (API key from ${API_KEY_ENV}).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, after_command=False)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="what to do (COMMAND --help)"
    )
    commands.add_parser("credit", help="show the account's credit")
    commands.add_parser("services", help="list the active services")
    _add_order_commands(commands)
    _add_tool_commands(commands)
    for command in commands.choices.values():
        _add_global_options(command, after_command=True)
    return parser


# Words people try for the API key; it is an environment variable only.
_API_KEY_WORDS = frozenset({"api_key", "apikey", "key", "token", "api_token"})


def _setting_name(word: str) -> str | None:
    """The setting a word names (``--max-count``, ``api_key=...``, ``HAPPY_FOLLOWER_X=...``),
    or None."""
    name = word.lstrip("-").partition("=")[0].lower().replace("-", "_")
    name = name.removeprefix(API_KEY_ENV.removesuffix("API_KEY").lower())
    if name in _API_KEY_WORDS:
        return "api_key"
    return name if name in HappyFollowerSettings.model_fields else None


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _setting_hint(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """What sets a setting that was given the wrong way (an option this command does not
    take, ``NAME=value`` as a word), for a command line argparse refused. It never repeats
    what was typed after the setting's name: that may be the API key."""
    commands = _subparsers(parser)
    accepted = _option_strings(parser)
    command = ""
    hints: list[str] = []
    for word in argv:
        if not command and word in commands:
            command, accepted = word, _option_strings(commands[word])
            continue
        setting = _setting_name(word)
        if setting is None or not (word.startswith("-") or "=" in word):
            continue
        if setting == "api_key":
            return (
                f"the API key is not an option or an argument: {PROGRAM} reads it from "
                f"${API_KEY_ENV} only, so that it stays out of your shell's history (`export "
                f"{API_KEY_ENV}=...` once, then run the command without it)"
            )
        option = "--" + setting.replace("_", "-")
        if word.startswith("-") and word.partition("=")[0] in accepted:
            continue  # given as it should be
        env = env_name(HappyFollowerSettings, setting)
        takers = [name for name, sub in commands.items() if option in _option_strings(sub)]
        if option in accepted:
            where = f"write it `{option}`"
        elif takers:
            where = f"`{option}` is an option of {', '.join(takers)} (after the command)"
        else:
            where = "it has no option"
        given = word.partition("=")[0] if word.startswith("-") else f"{word.partition('=')[0]}=..."
        kind = "an option" if word.startswith("-") else "an argument"
        hints.append(
            f"`{given}` is not {kind}{f' of {command}' if command else ''}: {where}; "
            f"the environment variable ${env} sets it for every command"
        )
    return "; ".join(hints) or None


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace | int:
    """The parsed command line, or the exit code after explaining why it was refused."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        return parser.parse_args(words)
    except _ParserError as err:
        hint = _setting_hint(parser, words)
        if hint is not None:
            print(f"error: {hint}", file=sys.stderr)
        else:
            err.parser.print_usage(sys.stderr)
            print(f"{err.parser.prog}: error: {err.message}", file=sys.stderr)
        return ExitCode.USAGE


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``happy-follower``; returns the exit code."""
    args = parse_arguments(argv)
    if isinstance(args, int):
        return args
    # What the library logs at WARNING (an order placed whose status could not be read...)
    # is for the person at the terminal, as one line like the CLI's own warnings.
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    cli = Cli(args, out or sys.stdout)
    command: Callable[[], Coroutine[Any, Any, None]] = getattr(cli, args.command.replace("-", "_"))
    try:
        asyncio.run(command())
    except KeyboardInterrupt:
        return cli.interrupted()
    except CliError as err:
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        return err.code
    except HappyFollowerError as err:
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        return exit_code(err)
    except (RuntimeError, OSError) as err:  # the demo's own processes and ports
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK
