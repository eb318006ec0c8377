"""The ``happy-follower`` command line: every endpoint, the ledger, a probe of the real
service, the simulator and a guided demo.

Exit codes scripts can rely on (see ``ExitCode``). The API key comes from the
``HAPPY_FOLLOWER_API_KEY`` environment variable only and is never echoed. Settings
(caps, ledger, base URL, sandbox) are the MCP server's too: ``shared_client.settings``.

Each command is a function in the table ``parser.COMMANDS`` (``table.Command``: its name,
help, options and what Ctrl-C means for it), run with a ``context.Context``: the parsed
arguments, the output, and the settings, client and spend guard opened from them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from ..errors import HappyFollowerError, with_outcome
from .context import (
    API_KEY_ENV,
    BASE_URL_ENV,
    LEDGER_ENV,
    LINK_HOSTS_ENV,
    MAX_COUNT_ENV,
    MAX_ORDERS_ENV,
    MAX_SPEND_ENV,
    PROGRAM,
    SANDBOX_ENV,
    UNIT_PRICES_ENV,
    CliError,
    Context,
    ExitCode,
    default_ledger_path,
    exit_code,
    one_line,
    program_hint,
    program_words,
)
from .parser import COMMANDS, build_parser, command_named, parse_arguments
from .render import environment_label, is_simulator_root, target_text

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "COMMANDS",
    "LEDGER_ENV",
    "LINK_HOSTS_ENV",
    "MAX_COUNT_ENV",
    "MAX_ORDERS_ENV",
    "MAX_SPEND_ENV",
    "PROGRAM",
    "SANDBOX_ENV",
    "UNIT_PRICES_ENV",
    "CliError",
    "Context",
    "ExitCode",
    "build_parser",
    "default_ledger_path",
    "environment_label",
    "exit_code",
    "is_simulator_root",
    "main",
    "parse_arguments",
    "program_hint",
    "program_words",
    "target_text",
]


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``happy-follower``; returns the exit code."""
    args = parse_arguments(argv)
    if isinstance(args, ExitCode):
        return args
    # What the library logs at WARNING (an order placed whose status could not be read...)
    # is for the person at the terminal, as one line like the CLI's own warnings.
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    command = command_named(args.command)
    ctx = Context(args, out or sys.stdout, sys.stderr, sandbox=command.sandbox(args))
    try:
        return asyncio.run(command.run(ctx, args))
    except KeyboardInterrupt:
        return command.interrupted(ctx, args)
    except CliError as err:
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        return err.code
    except HappyFollowerError as err:
        print(f"error: {one_line(with_outcome(err))}", file=sys.stderr)
        return exit_code(err)
    except (RuntimeError, OSError) as err:  # the demo's own processes and ports
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        return ExitCode.ERROR
