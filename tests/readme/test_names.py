"""Every name, file, link and number the README states exists in the code as stated."""

from __future__ import annotations

import argparse
import re
import shlex
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from homeassistant.util.yaml import load_yaml_dict

from custom_components.happy_follower import const
from mcp_server.settings import OPTIONS, load_settings
from mcp_server.tools import TOOL_NAMES
from shared_client.cli import (
    API_KEY_ENV,
    LEDGER_ENV,
    MAX_COUNT_ENV,
    MAX_ORDERS_ENV,
    MAX_SPEND_ENV,
    ExitCode,
    build_parser,
    default_ledger_path,
)

from .readme import (
    README,
    READMES,
    REPO,
    code_blocks,
    inline_code,
    links,
    only_block,
    prose,
    section,
    text,
)

SERVICES_YAML = REPO / "custom_components" / "happy_follower" / "services.yaml"


def _sentence(haystack: str, start: str, end: str) -> str:
    match = re.search(re.escape(start) + r"(.*?)" + re.escape(end), haystack)
    assert match is not None, f"README has no text between {start!r} and {end!r}"
    return match.group(1)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the CLI has no subcommands")


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


def readme_exit_codes() -> dict[int, str]:
    """``Exit codes: `0` done, `1` ...`` as {code: what the README says it means}."""
    cli = prose(section("The command line"))
    sentence = cli[cli.index("Exit codes:") + len("Exit codes:") :]
    sentence = sentence[: sentence.index("\n")] if "\n" in sentence else sentence
    parts = re.split(r"`(\d+)`", sentence)
    codes: dict[int, str] = {}
    for number, meaning in zip(parts[1::2], parts[2::2], strict=True):
        assert int(number) not in codes, f"exit code {number} is described twice"
        codes[int(number)] = meaning.strip().removesuffix(".").removesuffix(",").strip()
    return codes


# --- Home Assistant ---------------------------------------------------------------


def readme_actions() -> list[str]:
    sentence = _sentence(prose(section("Home Assistant")), "Actions (", "Events:")
    names = [name for name in inline_code(sentence) if name != "config_entry_id"]
    return [name.removeprefix(f"{const.DOMAIN}.") for name in names]


def readme_events() -> list[str]:
    sentence = _sentence(prose(section("Home Assistant")), "Events:", ".")
    return inline_code(sentence)


def test_actions_are_those_of_services_yaml() -> None:
    services = load_yaml_dict(str(SERVICES_YAML))
    actions = readme_actions()
    assert len(actions) == len(set(actions)) == 8
    assert set(actions) == set(services)
    # "all take the `config_entry_id` of your account"
    assert "config_entry_id" in _sentence(prose(section("Home Assistant")), "Actions (", ")")
    for name, spec in services.items():
        assert spec["fields"]["config_entry_id"]["required"] is True, name


def test_events_are_constants() -> None:
    events = readme_events()
    constants = {value for name, value in vars(const).items() if name.startswith("EVENT_")}
    assert len(events) == 3
    assert set(events) == constants


def test_update_intervals() -> None:
    ha = prose(section("Home Assistant"))
    match = re.search(r"Credit is read every (\d+) minutes and active orders every (\d+)", ha)
    assert match is not None
    assert timedelta(minutes=int(match.group(1))) == const.CREDIT_UPDATE_INTERVAL
    assert timedelta(minutes=int(match.group(2))) == const.ORDERS_UPDATE_INTERVAL


def test_credit_units() -> None:
    ha = prose(section("Home Assistant"))
    assert "(Toman, or Rial as `IRR`)" in ha
    assert const.DEFAULT_CREDIT_UNIT == "Toman"
    assert "IRR" in const.CREDIT_UNIT_SUGGESTIONS


def test_blueprints() -> None:
    ha = prose(section("Home Assistant"))
    match = re.search(r"(\w+) blueprints are ready to import from `([^`]+)`", ha)
    assert match is not None
    folder = REPO / match.group(2)
    blueprints = sorted(folder.glob("*.yaml"))
    numbers = {"One": 1, "Two": 2, "Three": 3, "Four": 4}
    assert len(blueprints) == numbers[match.group(1)]
    events = set()
    for path in blueprints:
        source = path.read_text(encoding="utf-8")
        blueprint = load_yaml_dict(str(path))
        assert blueprint["blueprint"]["domain"] == "automation", path
        events |= {e for e in readme_events() if e in source}
    # "notify me when an order finishes" and "warn me when credit is low"
    assert events == {const.EVENT_ORDER_FINISHED, const.EVENT_CREDIT_LOW}


# --- MCP ----------------------------------------------------------------------


def test_mcp_tool_names() -> None:
    sentence = _sentence(prose(section("AI assistants (MCP)")), "every endpoint as a tool:", ".")
    assert inline_code(sentence) == list(TOOL_NAMES)


def test_mcp_command_and_flags() -> None:
    (line,) = only_block("AI assistants (MCP)", "sh").strip().splitlines()
    words = shlex.split(line)
    script = words[words.index("run") + 1]
    # The MCP server's own distribution (mcp_server/pyproject.toml) provides the command.
    project = REPO / "mcp_server" / "pyproject.toml"
    scripts = tomllib.loads(project.read_text(encoding="utf-8"))["project"]["scripts"]
    assert script == "happy-follower-mcp"
    assert script in scripts
    settings = load_settings(words[words.index(script) + 1 :], env={})
    assert settings.simulate
    flags = {flag for _, flag, _ in OPTIONS.values()}
    mcp = prose(section("AI assistants (MCP)"))
    for flag in ("--simulate", "--read-only"):
        assert f"`{flag}`" in mcp
        assert flag in flags
    assert load_settings(["--simulate", "--read-only"], env={}).read_only


# --- command line -----------------------------------------------------------------


def test_exit_codes_sentence_matches_exit_code() -> None:
    codes = readme_exit_codes()
    assert list(codes) == sorted(codes)
    assert set(codes) == {code.value for code in ExitCode}
    # What each code means, as the README words it and as ExitCode names it.
    meaning = {
        ExitCode.OK: "done",
        ExitCode.ERROR: "unexpected error",
        ExitCode.USAGE: "bad input (nothing sent)",
        ExitCode.AUTH: "API key refused",
        ExitCode.UNAVAILABLE: "service unreachable, timed out or rate limited",
        ExitCode.REFUSED: "the service refused the request",
        ExitCode.OUTCOME_UNKNOWN: "an order was sent but no answer came back",
        ExitCode.CANCELLED: "not confirmed or refused by a cap",
    }
    for code, words in meaning.items():
        assert codes[code.value].startswith(words), (code, codes[code.value])


def readme_cli_lines() -> list[list[str]]:
    """The arguments of every ``uv run happy-follower ...`` line of the CLI block."""
    lines = []
    for line in only_block("The command line", "sh").splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] == ["uv", "run", "happy-follower"]:
            lines.append(words[3:])
    return lines


def test_cli_block_uses_existing_commands_and_options() -> None:
    parser = build_parser()
    commands = _subcommands(parser)
    lines = readme_cli_lines()
    used = set()
    for args in lines:
        command = next(word for word in args if not word.startswith("-"))
        used.add(command)
        assert command in commands, args
        known = _options(parser) | _options(commands[command])
        assert all(word in known for word in args if word.startswith("-")), args
    assert used == {"credit", "services", "order", "status", "cancel", "recheck", "confirm-price"}
    # The prose's commands and options too.
    cli = prose(section("The command line"))
    assert "`happy-follower simulate`" in cli
    assert "simulate" in commands
    assert "`--yes`" in cli
    assert "--yes" in _options(commands["order"])
    assert "`--base-url`" in cli
    assert "--base-url" in _options(parser)
    try_it = prose(section("Try it, test it"))
    assert "demo" in commands
    for flag in re.findall(r"`(--[\w-]+)`", try_it):
        assert flag in _options(commands["demo"]), flag


def test_cli_api_key_variable() -> None:
    block = only_block("The command line", "sh")
    assert f"export {API_KEY_ENV}=" in block
    assert f"`{API_KEY_ENV}`" in prose(section("The command line"))


def test_demo_ports() -> None:
    demo = _options(_subcommands(build_parser())["demo"])
    ports = dict(re.findall(r"`(--[\w-]+-port)` \((\d+)\)", prose(section("Try it, test it"))))
    assert ports.keys() == {"--ha-port", "--mcp-port"}
    for flag, port in ports.items():
        assert demo[flag].default == int(port)


def test_simulate_address() -> None:
    match = re.search(r"runs the simulator on `([\d.]+):(\d+)`", prose(section("The command line")))
    assert match is not None
    simulate = _options(_subcommands(build_parser())["simulate"])
    assert simulate["--host"].default == match.group(1)
    assert simulate["--port"].default == int(match.group(2))


def test_cap_and_ledger_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    cli = prose(section("The command line"))
    for name in (MAX_COUNT_ENV, MAX_ORDERS_ENV, MAX_SPEND_ENV, LEDGER_ENV):
        assert f"`{name}`" in cli
    match = re.search(r"by default `~/([^`]+)`", cli)
    assert match is not None
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert default_ledger_path() == Path.home() / match.group(1)


# --- files and links ------------------------------------------------------------------


def test_development_layout() -> None:
    """Every folder and file of the layout block exists, with what the block lists in it."""
    layout = code_blocks(section("Development"), "")
    assert len(layout) == 1
    for line in layout[0].body.splitlines():
        if not line.strip() or line[0].isspace():
            continue
        path, _, described = line.partition(" ")
        assert (REPO / path).exists(), path
        described = described.split("(")[0]
        if path == "tests/":
            for folder in described.split():
                assert (REPO / "tests" / folder).is_dir(), f"tests/{folder}"
        elif path == "bench/":
            for name in described.replace(",", " ").split():
                assert (REPO / "bench" / name).is_file(), f"bench/{name}"
        elif path == "shared_client/":
            for item in described.split("(")[0].split(","):
                module = item.split()[0].lower()
                assert (REPO / "shared_client" / f"{module}.py").is_file(), module


def test_paths_in_inline_code_exist() -> None:
    paths = [
        code
        for code in inline_code(text(README))
        if re.fullmatch(r"[\w.-]+(/[\w.-]*)+", code) and not code.startswith("config/")
    ]
    assert "shared_client/protocol.py" in paths
    assert "shared_client/guard.py" in paths
    for path in paths:
        assert (REPO / path).exists(), path


def test_docs_named_exist() -> None:
    docs = [link.split("#")[0] for link in links(README) if link.startswith("docs/")]
    assert {"docs/home-assistant.md", "docs/mcp.md", "docs/dashboard.png"} <= set(docs)
    for doc in docs:
        assert (REPO / doc).is_file(), doc


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_relative_links_exist(readme: Path) -> None:
    if not readme.exists():
        pytest.skip(f"{readme.name} does not exist")
    relative = [link for link in links(readme) if not re.match(r"[a-z][a-z0-9+.-]*:|#", link)]
    assert relative
    missing = [link for link in relative if not (readme.parent / link.split("#")[0]).exists()]
    assert not missing, f"{readme.name} links to missing files: {missing}"
