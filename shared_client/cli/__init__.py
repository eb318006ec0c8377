"""The ``happy-follower`` command line: every endpoint, the simulator and a guided demo.

Exit codes scripts can rely on (see ``ExitCode``). The API key comes from the
``HAPPY_FOLLOWER_API_KEY`` environment variable only and is never echoed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from enum import IntEnum
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from .. import __version__
from ..client import HappyFollowerClient
from ..errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerConnectionError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerSandboxUnsupportedError,
    HappyFollowerSpendCapError,
)
from ..guard import JsonlAuditLedger, SpendCaps, SpendGuard
from ..validation import positive_int, switch, validate_order
from .tour import DEMO_CREDIT, guided_tour, progress_bar

API_KEY_ENV = "HAPPY_FOLLOWER_API_KEY"
SANDBOX_ENV = "HAPPY_FOLLOWER_SANDBOX"  # shared with the MCP server
LEDGER_ENV = "HAPPY_FOLLOWER_LEDGER"
MAX_COUNT_ENV = "HAPPY_FOLLOWER_MAX_COUNT_PER_ORDER"
MAX_ORDERS_ENV = "HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY"
MAX_SPEND_ENV = "HAPPY_FOLLOWER_MAX_SPEND_PER_DAY"


class ExitCode(IntEnum):
    """Process exit codes of the CLI."""

    OK = 0
    ERROR = 1  # anything else, e.g. an unexpected answer from the service
    USAGE = 2  # bad arguments or input: nothing was sent
    AUTH = 3  # the API key was refused
    UNAVAILABLE = 4  # connection failure, timeout or rate limit: try again later
    REFUSED = 5  # the service refused the request (e.g. not enough credit)
    OUTCOME_UNKNOWN = 6  # an order was sent and no answer came: check before retrying
    CANCELLED = 7  # the user declined the confirmation, or a spending cap refused the order


class CliError(Exception):
    """An error with its exit code, reported as one line."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def default_ledger_path() -> Path:
    """Where the CLI keeps its audit trail of orders (XDG state directory)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "happy-follower" / "audit.jsonl"


def _exit_code(err: HappyFollowerError) -> ExitCode:
    match err:
        case HappyFollowerInputError():
            return ExitCode.USAGE
        case HappyFollowerAuthenticationError():
            return ExitCode.AUTH
        case HappyFollowerConnectionError() | HappyFollowerRateLimitError():
            return ExitCode.UNAVAILABLE
        case HappyFollowerApiError():
            return ExitCode.REFUSED
        case HappyFollowerOrderOutcomeUnknownError():
            return ExitCode.OUTCOME_UNKNOWN
        case HappyFollowerSandboxUnsupportedError():
            return ExitCode.USAGE  # nothing was sent
        case HappyFollowerSpendCapError():
            return ExitCode.CANCELLED
    return ExitCode.ERROR


class Cli:
    """Runs one parsed command; output goes to ``out``."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out

    @property
    def sandbox(self) -> bool:
        """--sandbox, or the environment variable the MCP server reads too."""
        return bool(self.args.sandbox) or switch(os.environ.get(SANDBOX_ENV, ""), SANDBOX_ENV)

    def emit(self, data: Any, text: str) -> None:
        """Print data as JSON with --json, else the human text."""
        if self.args.json:
            print(json.dumps(data, ensure_ascii=False), file=self.out)
        else:
            print(text, file=self.out)

    def client(self) -> HappyFollowerClient:
        api_key = os.environ.get(API_KEY_ENV, "").strip()
        if not api_key:
            raise CliError(
                f"set {API_KEY_ENV} to your API key (shown on happy-follower.com after login), "
                "or run `happy-follower simulate` for a test key",
                ExitCode.USAGE,
            )
        return HappyFollowerClient(
            api_key,
            sandbox=self.sandbox,
            base_url=self.args.base_url,
            request_timeout=self.args.timeout,
        )

    async def credit(self) -> None:
        async with self.client() as client:
            credit = await client.get_credit()
        self.emit({"credit": credit}, f"Credit: {credit:,}")

    async def services(self) -> None:
        async with self.client() as client:
            services = await client.get_services()
        rows = [service.model_dump() for service in services]
        text = "\n".join(f"{s.service_id:>6}  {s.name}" for s in services) or "No services."
        self.emit(rows, text)

    async def order(self) -> None:
        order = validate_order(self.args.service_id, self.args.link, self.args.count)
        ledger = JsonlAuditLedger(self.args.ledger)
        guard = SpendGuard(
            _caps_from_env(),
            source="cli",
            history=ledger.load(),
            record=ledger.append_async,
        )
        async with self.client() as client:
            try:
                guard.check(order)  # before asking: a cap refuses at once
                if not self.args.yes:
                    where = "SANDBOX" if client.sandbox else client.base_url
                    _confirm(
                        f"Place an order of {order.count} from service {order.service_id} for "
                        f"{order.link} on {where}? This spends credit. [y/N] "
                    )
            except (HappyFollowerSpendCapError, CliError) as err:
                await guard.record_refusal(order, str(err), sandbox=client.sandbox)
                raise
            placed = await guard.place_order(
                client, service_id=order.service_id, link=order.link, count=order.count
            )
        cost = "" if placed.cost is None else f", cost {placed.cost:g}"
        self.emit(
            {"order_id": placed.order_id, "cost": placed.cost},
            f"Order {placed.order_id} placed{cost}. Follow it with: "
            f"happy-follower status {placed.order_id} --watch",
        )

    async def status(self) -> None:
        order_id = positive_int(self.args.order_id, "order_id")
        async with self.client() as client:
            status = await client.get_order_status(order_id)
            self.emit(status.model_dump(), f"Order {order_id}: {progress_bar(status)}")
            while self.args.watch and not status.is_final:
                await asyncio.sleep(self.args.interval)
                status = await client.get_order_status(order_id)
                self.emit(status.model_dump(), f"Order {order_id}: {progress_bar(status)}")

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

    async def simulate(self) -> None:
        from ..simulator import Simulator  # noqa: PLC0415 - only this command needs it

        sim = Simulator()
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
                f"  happy-follower --base-url {sim.base_url} credit",
            )
            self.out.flush()
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
                    "Next: `happy-follower simulate` runs the simulator for your experiments.\n"
                )
                return
            if full_stack is None:
                self.out.write(
                    "Home Assistant and the MCP server start only from a clone of the repository\n"
                    "(git clone the project, then `uv run happy-follower demo` in it); this\n"
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
            )
        self.out.write("Stopped; nothing was left behind.\n")


def _full_stack_runner() -> ModuleType | None:
    """The development folder's demo of Home Assistant and the MCP server, if installed.

    It lives in no wheel: it exists in a clone's development environment only.
    """
    try:
        stack = importlib.import_module("demo.stack")
    except ImportError:
        return None
    return stack if stack.full_stack_available() else None


def _confirm(question: str) -> None:
    """Ask on the terminal; raise CliError unless the answer is yes."""
    if not sys.stdin.isatty():
        raise CliError(
            "refusing to order without confirmation: no terminal to ask; pass --yes", ExitCode.USAGE
        )
    if input(question).strip().lower() not in ("y", "yes"):
        raise CliError("order not placed: not confirmed", ExitCode.CANCELLED)


def _caps_from_env() -> SpendCaps:
    def read(name: str) -> int | None:
        value = os.environ.get(name, "").strip()
        return positive_int(value, name) if value else None

    return SpendCaps(
        max_count_per_order=read(MAX_COUNT_ENV),
        max_orders_per_day=read(MAX_ORDERS_ENV),
        max_spend_per_day=read(MAX_SPEND_ENV),
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``happy-follower``."""
    parser = argparse.ArgumentParser(
        prog="happy-follower",
        description=f"Happy Follower from the command line (API key from ${API_KEY_ENV}).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help=f"use the vendor's sandbox (also when ${SANDBOX_ENV} is true)",
    )
    parser.add_argument("--base-url", help="API root to use instead (e.g. the simulator's)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per request")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("credit", help="show the account's credit")
    commands.add_parser("services", help="list the active services")
    order = commands.add_parser("order", help="place an order (spends credit)")
    order.add_argument("service_id", help="service id (see `services`)")
    order.add_argument("link", help="the Instagram page or post, e.g. https://www.instagram.com/x")
    order.add_argument("count", help="how many (likes, followers, views...)")
    order.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    order.add_argument(
        "--ledger",
        type=Path,
        default=Path(os.environ.get(LEDGER_ENV) or default_ledger_path()),
        help=f"audit trail file (default: ${LEDGER_ENV} or {default_ledger_path()})",
    )
    status = commands.add_parser("status", help="show an order's status")
    status.add_argument("order_id")
    status.add_argument("--watch", action="store_true", help="follow until the order is final")
    status.add_argument("--interval", type=float, default=10.0, help="seconds between checks")
    for name, text in (("cancel", "cancel an order"), ("recheck", "ask to re-check an order")):
        commands.add_parser(name, help=f"{text} (not in the sandbox)").add_argument("order_id")

    simulate = commands.add_parser("simulate", help="run the embedded API simulator")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8787)
    simulate.add_argument("--credit", type=float, default=500_000)
    simulate.add_argument("--api-key", help="API key to create (default: a random one)")
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
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``happy-follower``; returns the exit code."""
    args = build_parser().parse_args(argv)
    stream = out or sys.stdout
    cli = Cli(args, stream)
    command: Callable[[], Coroutine[Any, Any, None]] = getattr(cli, args.command)
    try:
        asyncio.run(command())
    except KeyboardInterrupt:
        return ExitCode.OK if args.command in ("simulate", "status", "demo") else ExitCode.CANCELLED
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except HappyFollowerError as err:
        print(f"error: {err}", file=sys.stderr)
        return _exit_code(err)
    except (RuntimeError, OSError) as err:  # the demo's own processes and ports
        print(f"error: {err}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK
