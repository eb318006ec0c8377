"""How a command of the CLI is declared: its name, its help, its options (each with its
help) and the function that runs it. The table of commands is ``parser.COMMANDS``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from .context import Context, ExitCode

type Run = Callable[[Context, argparse.Namespace], Coroutine[Any, Any, ExitCode]]
type OnInterrupt = Callable[[Context, argparse.Namespace], ExitCode]


@dataclass(frozen=True, slots=True)
class Option:
    """One argument or option of a command; ``help`` is required, so none goes undescribed."""

    names: str | tuple[str, ...]  # "service_id" (an argument) or ("--yes", "-y")
    help: str
    parse: Callable[[str], object] | None = None  # argparse's ``type``
    default: object = None
    flag: bool = False  # an on/off switch (``store_true``)
    optional: bool = False  # an argument that may be left out (``nargs="?"``)
    choices: tuple[str, ...] | None = None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        names = (self.names,) if isinstance(self.names, str) else self.names
        if self.flag:
            parser.add_argument(*names, action="store_true", help=self.help)
            return
        extra: dict[str, Any] = {}
        if self.parse is not None:
            extra["type"] = self.parse
        if self.optional:
            extra["nargs"] = "?"
        if self.choices is not None:
            extra["choices"] = self.choices
        parser.add_argument(*names, default=self.default, help=self.help, **extra)


def sandbox_flag(args: argparse.Namespace) -> bool | None:
    """``--sandbox`` sets the sandbox; without it, the settings decide."""
    return True if args.sandbox else None


def cancelled(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """Ctrl-C stopped a command that was not done: nothing more to say."""
    return ExitCode.CANCELLED


def stopped(ctx: Context, args: argparse.Namespace) -> ExitCode:
    """Ctrl-C is how a command that runs until stopped ends."""
    return ExitCode.OK


@dataclass(frozen=True, slots=True)
class Command:
    """A command: run with its context and arguments, returns its exit code. Errors are
    raised (``CliError`` or the library's) and reported by ``main`` as one line."""

    name: str
    help: str
    run: Run
    options: tuple[Option, ...] = ()
    # Takes the spend guard's settings as options (``--ledger``, the caps...).
    guard_options: bool = False
    # The sandbox setting from the parsed arguments (True, or None to leave it to settings).
    sandbox: Callable[[argparse.Namespace], bool | None] = sandbox_flag
    # The exit code (and what to say) when Ctrl-C stops the command.
    interrupted: OnInterrupt = cancelled
