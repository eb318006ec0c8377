"""Settings from environment variables and flags; anything wrong stops the start."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server import SettingsError, load_settings
from mcp_server.__main__ import main
from mcp_server.settings import DEFAULT_CAPS
from mcp_server.tools import enabled_tools
from shared_client.guard import SpendCaps

KEY = {"HAPPY_FOLLOWER_API_KEY": "secret-api-key-123"}
TOKEN = "t" * 32


def test_defaults_are_safe() -> None:
    settings = load_settings([], KEY)
    assert settings.api_key == "secret-api-key-123"
    assert settings.caps == DEFAULT_CAPS == SpendCaps(1000, 10, None)
    assert settings.transport == "stdio"
    assert settings.host == "127.0.0.1"
    assert not settings.allow_unconfirmed_orders
    assert not settings.read_only
    assert "secret-api-key-123" not in repr(settings)


def test_environment_and_flags() -> None:
    env = {
        **KEY,
        "HAPPY_FOLLOWER_SANDBOX": "yes",
        "HAPPY_FOLLOWER_MCP_MAX_SPEND_PER_DAY": "5000.5",
        "HAPPY_FOLLOWER_MCP_MAX_ORDERS_PER_DAY": "none",
        "HAPPY_FOLLOWER_MCP_TOOLS": "get_credit, place_order",
        "HAPPY_FOLLOWER_MCP_LEDGER": "/tmp/x/ledger.jsonl",
        "HAPPY_FOLLOWER_MCP_HTTP_TOKEN": TOKEN,
        "HAPPY_FOLLOWER_MCP_READ_ONLY": "false",
    }
    argv = ["--max-count-per-order", "200", "--read-only", "--transport", "http", "--port", "0"]
    settings = load_settings(argv, env)
    assert settings.sandbox
    assert settings.read_only  # the flag wins over the environment
    assert settings.caps == SpendCaps(200, None, 5000.5)
    assert settings.tools == frozenset({"get_credit", "place_order"})
    assert [spec.name for spec in enabled_tools(settings)] == ["get_credit"]
    assert settings.ledger == Path("/tmp/x/ledger.jsonl")
    assert settings.transport == "http"
    assert settings.port == 0
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {}, "no API key: set HAPPY_FOLLOWER_API_KEY"),
        ([], {**KEY, "HAPPY_FOLLOWER_MCP_READONLY": "1"}, "unknown setting.*MCP_READONLY"),
        (["--max-count-per-order", "-3"], KEY, "max-count-per-order must be a positive"),
        (["--max-spend-per-day", "lots"], KEY, "max-spend-per-day must be a positive"),
        ([], {**KEY, "HAPPY_FOLLOWER_MCP_SIMULATE": "maybe"}, "--simulate must be true or false"),
        (["--transport", "sse"], KEY, "transport must be stdio or http"),
        (["--transport", "http"], KEY, "needs a bearer token"),
        (
            ["--transport", "http"],
            {**KEY, "HAPPY_FOLLOWER_MCP_HTTP_TOKEN": "short"},
            "needs a bearer token of at least 16",
        ),
        (["--port", "eighty"], KEY, "port must be a whole number"),
        (["--log-level", "LOUD"], KEY, "log-level must be"),
    ],
)
def test_invalid_settings_are_refused(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(argv, env)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tools", "get_credit,teleport"], "unknown tool name.*teleport"),
        (["--exclude-tools", "delete_account"], "unknown tool name.*delete_account"),
    ],
)
def test_unknown_tool_names_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        enabled_tools(load_settings(argv, KEY))


def test_simulate_needs_no_key() -> None:
    settings = load_settings(["--simulate"], {})
    assert settings.simulate
    assert settings.environment == "simulated"


def test_main_stops_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HAPPY_FOLLOWER_API_KEY", raising=False)
    monkeypatch.setenv("HAPPY_FOLLOWER_MCP_MAX_ORDERS_PER_DAY", "0")
    monkeypatch.setenv("HAPPY_FOLLOWER_API_KEY", "k")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("happy-follower-mcp: --max-orders-per-day must be a positive number")
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-such-flag"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_http_host_checking_covers_the_bound_address() -> None:
    from mcp_server.http import transport_security

    env = {**KEY, "HAPPY_FOLLOWER_MCP_HTTP_TOKEN": TOKEN}
    argv = ["--transport", "http", "--host", "192.168.1.5", "--allowed-hosts", "mcp.lan,box:8765"]
    security = transport_security(load_settings(argv, env))
    assert security.enable_dns_rebinding_protection
    assert sorted(security.allowed_hosts) == [
        "127.0.0.1:*",
        "192.168.1.5:*",
        "[::1]:*",
        "box:8765",
        "localhost:*",
        "mcp.lan:*",
    ]
    wildcard = transport_security(load_settings([*argv[:2], "--host", "0.0.0.0"], env))
    assert "0.0.0.0:*" not in wildcard.allowed_hosts
