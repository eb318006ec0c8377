"""The table of commands and the argument parser built from it; a command line argparse
refuses is explained without echoing what was typed (it may hold the API key)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .. import __version__, protocol
from ..settings import HappyFollowerSettings, env_name
from .context import (
    API_KEY_ENV,
    BASE_URL_ENV,
    GUARD_SETTINGS,
    PROGRAM,
    SANDBOX_ENV,
    ExitCode,
)
from .ordering import CANCEL, CONFIRM_PRICE, ORDER, RECHECK
from .reads import CREDIT, ORDERS, SERVICES, STATUS
from .table import Command
from .tools import DEMO, PROBE, SIMULATE

# Every command, in the order ``--help`` lists them.
COMMANDS: tuple[Command, ...] = (
    CREDIT,
    SERVICES,
    ORDER,
    ORDERS,
    STATUS,
    CONFIRM_PRICE,
    CANCEL,
    RECHECK,
    PROBE,
    SIMULATE,
    DEMO,
)
_BY_NAME = {command.name: command for command in COMMANDS}


def command_named(name: str) -> Command:
    """The command of the table that the parser's ``command`` names."""
    return _BY_NAME[name]


def _add_guard_options(parser: argparse.ArgumentParser) -> None:
    """The guard's settings as options (over their HAPPY_FOLLOWER_* variables)."""
    fields = HappyFollowerSettings.model_fields
    for name in GUARD_SETTINGS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=Path if name == "ledger" else str,
            help=f"{fields[name].description} (${env_name(HappyFollowerSettings, name)})",
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
    """The argument parser of ``happy-follower``, from the table of commands.

    The options of every command (``--json``, ``--sandbox``, ``--base-url``, ``--timeout``)
    may come before the command or after it.
    """
    parser = _Parser(
        prog=PROGRAM,
        description=f"Happy Follower from the command line (API key from ${API_KEY_ENV}).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, after_command=False)
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="what to do (COMMAND --help)"
    )
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help)
        for option in command.options:
            option.add_to(sub)
        if command.guard_options:
            _add_guard_options(sub)
        _add_global_options(sub, after_command=True)
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


_API_KEY_HINT = (
    f"the API key is not an option or an argument: {PROGRAM} reads it from "
    f"${API_KEY_ENV} only, so that it stays out of your shell's history (`export "
    f"{API_KEY_ENV}=...` once, then run the command without it)"
)


def _misplaced_setting(
    word: str,
    setting: str,
    command: str,
    accepted: set[str],
    commands: dict[str, argparse.ArgumentParser],
) -> str:
    """Where a setting that ``word`` gave the wrong way goes instead; ``accepted`` are the
    options of ``command`` (of the program before it)."""
    option = "--" + setting.replace("_", "-")
    takers = [name for name, sub in commands.items() if option in _option_strings(sub)]
    if option in accepted:
        where = f"write it `{option}`"
    elif takers:
        where = f"`{option}` is an option of {', '.join(takers)} (after the command)"
    else:
        where = "it has no option"
    given = word.partition("=")[0] if word.startswith("-") else f"{word.partition('=')[0]}=..."
    kind = "an option" if word.startswith("-") else "an argument"
    env = env_name(HappyFollowerSettings, setting)
    return (
        f"`{given}` is not {kind}{f' of {command}' if command else ''}: {where}; "
        f"the environment variable ${env} sets it for every command"
    )


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
            return _API_KEY_HINT
        if word.startswith("-") and word.partition("=")[0] in accepted:
            continue  # given as it should be
        hints.append(_misplaced_setting(word, setting, command, accepted, commands))
    return "; ".join(hints) or None


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace | ExitCode:
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
