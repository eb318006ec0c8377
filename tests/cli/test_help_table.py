"""The CLI's table of commands: every command and every option is described, every command
of the table is reachable from the command line, and the CLI starts the demo without a
string import (issue 16)."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

import shared_client
from shared_client.cli import COMMANDS, build_parser
from shared_client.cli.parser import command_named
from shared_client.cli.table import Command

CLI_DIR = Path(shared_client.__file__).parent / "cli"


def _subcommands(
    parser: argparse.ArgumentParser,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise AssertionError("the CLI has no subcommands")


def _undescribed(parser: argparse.ArgumentParser, path: str) -> list[str]:
    """The options, arguments and commands under ``parser`` that have no help text."""
    missing = []
    for action in parser._actions:
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
            missing.append(f"{path}: {action.option_strings or action.dest}")
        if isinstance(action, argparse._SubParsersAction):
            # What `--help` lists for each command: only those given a help text.
            listed = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if not listed.get(name, "").strip():
                    missing.append(f"{path} {name}: the command itself")
                missing += _undescribed(sub, f"{path} {name}")
    return missing


def test_every_command_and_option_is_described() -> None:
    assert _undescribed(build_parser(), "happy-follower") == []


def test_the_walk_finds_a_missing_help() -> None:
    """The check above can fail: an option without help is found."""
    parser = build_parser()
    _subcommands(parser).choices["credit"].add_argument("--undescribed")
    _subcommands(parser).add_parser("bare")
    assert _undescribed(parser, "happy-follower") == [
        "happy-follower credit: ['--undescribed']",
        "happy-follower bare: the command itself",
    ]


def _required_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """Words for the arguments a command cannot run without."""
    return ["1" for action in parser._actions if not action.option_strings and action.nargs is None]


@pytest.mark.parametrize("command", COMMANDS, ids=[command.name for command in COMMANDS])
def test_each_command_of_the_table_is_reachable(command: Command) -> None:
    parser = build_parser()
    sub = _subcommands(parser).choices[command.name]
    args = parser.parse_args([command.name, *_required_arguments(sub)])
    assert args.command == command.name
    assert command_named(args.command) is command
    # Its options as the table declares them, each once.
    flags = {flag for action in sub._actions for flag in action.option_strings}
    for option in command.options:
        names = (option.names,) if isinstance(option.names, str) else option.names
        if names[0].startswith("-"):
            assert set(names) <= flags, names
        else:
            assert any(action.dest == names[0] for action in sub._actions), names


def test_the_parser_lists_the_table_in_order() -> None:
    assert list(_subcommands(build_parser()).choices) == [command.name for command in COMMANDS]
    assert len({command.run for command in COMMANDS}) == len(COMMANDS)


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    found: list[tuple[str, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node))
    return found


def test_the_demo_is_imported_by_name_and_only_by_the_demo_command() -> None:
    demo_imports = []
    for path in sorted(CLI_DIR.glob("*.py")):
        source = path.read_text("utf-8")
        assert "import_module" not in source, path.name
        assert "__import__" not in source, path.name
        tree = ast.parse(source)
        functions = {
            inner: outer.name
            for outer in ast.walk(tree)
            if isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef)
            for inner in ast.walk(outer)
        }
        for module, node in _imports(tree):
            if module == "demo" or module.startswith("demo."):
                demo_imports.append((path.name, functions.get(node)))
    # One import, inside the function that only the `demo` command calls.
    assert demo_imports == [("tools.py", "_full_stack_runner")]


def test_nothing_else_in_the_package_imports_the_cli() -> None:
    package = CLI_DIR.parent
    for path in sorted(package.rglob("*.py")):
        if path.is_relative_to(CLI_DIR):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        absolute = [module for module, _ in _imports(tree)]
        relative = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = "." * node.level + (node.module or "")
                joint = "." if node.module else ""
                relative += [base] + [base + joint + alias.name for alias in node.names]
        for module in absolute:
            assert not module.startswith("shared_client.cli"), (path, module)
        depth = len(path.relative_to(package).parts)  # 1: a module of the package itself
        cli_relative = "." * depth + "cli"
        for module in relative:
            assert module != cli_relative, (path, module)
            assert not module.startswith(cli_relative + "."), (path, module)
