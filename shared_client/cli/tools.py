"""The commands beside the API: ``probe`` (the real service where its documentation is
silent), ``simulate`` (the embedded simulator) and ``demo`` (a guided run)."""

from __future__ import annotations

import asyncio
from argparse import Namespace
from pathlib import Path
from types import ModuleType

from ..simulator import DIALECTS, Simulator
from .context import API_KEY_ENV, PROGRAM, CliError, Context, ExitCode, exit_code, program_hint
from .table import Command, Option, stopped
from .tour import DEMO_CREDIT, DEMO_SERVICES, TOUR_TEXTS, guided_tour


async def probe(ctx: Context, args: Namespace) -> ExitCode:
    from .probe import run_probe  # noqa: PLC0415 - only this command needs it

    sandbox = ctx.settings.sandbox  # True unless --live
    async with ctx.client() as client:
        report = await run_probe(client, ctx.settings.require_api_key(), sandbox=sandbox)
    ctx.emit(report.as_data(), report.as_text())
    if report.blocked is not None:
        raise CliError(report.blocked_message(), exit_code(report.blocked))
    return ExitCode.OK


def probe_sandbox(args: Namespace) -> bool:
    """The probe's own default is the sandbox: the live API only with ``--live``."""
    return not args.live


async def simulate(ctx: Context, args: Namespace) -> ExitCode:
    sim = Simulator(dialect=DIALECTS[args.dialect])
    await sim.start(host=args.host, port=args.port)
    try:
        api_key = sim.add_account(credit=args.credit, api_key=args.api_key)
        ctx.emit(
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
    return ExitCode.OK


def _full_stack_runner() -> ModuleType | None:
    """The development folder's demo of Home Assistant and the MCP server, if installed.

    It lives in no wheel: it exists in a clone's development environment only.
    """
    try:
        from demo import stack  # noqa: PLC0415 - a clone's only, and only for `demo`
    except ImportError:
        return None
    return stack if stack.full_stack_available() else None


async def demo(ctx: Context, args: Namespace) -> ExitCode:
    full_stack = None if args.terminal_only else _full_stack_runner()
    if full_stack is not None:
        full_stack.check_ports(args.ha_port, args.mcp_port)
    texts = TOUR_TEXTS[args.language]
    async with Simulator(services=list(DEMO_SERVICES)) as sim:
        api_key = sim.add_account(credit=DEMO_CREDIT)
        await guided_tour(sim, api_key, ctx.out, tick=args.tick, language=args.language)
        if args.terminal_only:
            ctx.out.write(texts.next_step.format(command=program_hint("simulate")))
            return ExitCode.OK
        if full_stack is None:
            ctx.out.write(texts.clone_only.format(program=PROGRAM))
            return ExitCode.OK
        await full_stack.run_full_stack(
            sim,
            api_key,
            ctx.out,
            ha_port=args.ha_port,
            mcp_port=args.mcp_port,
            ready_file=args.ready_file,
            language=args.language,
        )
    ctx.out.write(texts.stopped)
    return ExitCode.OK


PROBE = Command(
    "probe",
    "test what the real service does where its documentation is silent (sandbox)",
    probe,
    options=(
        Option(
            "--live",
            "probe the live API instead: reads and refusals only, never an order",
            flag=True,
        ),
    ),
    sandbox=probe_sandbox,
)
SIMULATE = Command(
    "simulate",
    "run the embedded API simulator",
    simulate,
    options=(
        Option("--host", "address to listen on (default 127.0.0.1)", default="127.0.0.1"),
        Option("--port", "port to listen on (default 8787)", parse=int, default=8787),
        Option(
            "--credit",
            "credit of the simulated account, live and sandbox (default 500000)",
            parse=float,
            default=500_000,
        ),
        Option("--api-key", "the simulated account's API key (default: a random one)"),
        Option(
            "--dialect",
            "answer as the real service might where its documentation is silent",
            default="assumed",
            choices=tuple(sorted(DIALECTS)),
        ),
    ),
    interrupted=stopped,
)
DEMO = Command(
    "demo",
    "a guided run on the embedded simulator, then Home Assistant and the MCP server",
    demo,
    options=(
        Option("--tick", "seconds between status checks", parse=float, default=0.3),
        Option("--terminal-only", "only the guided run in the terminal", flag=True),
        Option("--ha-port", "Home Assistant's port", parse=int, default=8123),
        Option("--mcp-port", "the MCP server's port", parse=int, default=8765),
        Option("--ready-file", "write the URLs and logins there as JSON once ready", parse=Path),
        Option(
            "--language",
            "Home Assistant's language in the demo: its system language, entity names and "
            "dashboard (fa: Persian); default en",
            default="en",
            choices=("en", "fa"),
        ),
    ),
    interrupted=stopped,
)
