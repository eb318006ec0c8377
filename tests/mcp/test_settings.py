"""Settings from environment variables and flags; anything wrong stops the start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_server import SettingsError, load_settings
from mcp_server.__main__ import main
from mcp_server.tools import enabled_tools
from shared_client.guard import DEFAULT_CAPS, SpendCaps
from shared_client.protocol import LIVE_API_ROOT, SANDBOX_API_ROOT

from ..client.test_api_root import LIVE_SPELLINGS, SANDBOX_SPELLINGS

KEY = {"HAPPY_FOLLOWER_API_KEY": "secret-api-key-123"}
TOKEN = "t" * 32


def test_defaults_are_safe_and_shared_with_the_guard() -> None:
    settings = load_settings([], KEY)
    assert settings.require_api_key() == "secret-api-key-123"
    assert settings.caps == DEFAULT_CAPS
    assert settings.transport == "stdio"
    assert settings.host == "127.0.0.1"
    assert not settings.allow_unconfirmed_orders
    assert not settings.read_only
    assert settings.base_url is None
    assert "secret-api-key-123" not in repr(settings)


def test_environment_and_flags() -> None:
    env = {
        **KEY,
        "HAPPY_FOLLOWER_SANDBOX": "yes",
        "HAPPY_FOLLOWER_MAX_SPEND_PER_DAY": "5000.5",
        "HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY": "none",
        "HAPPY_FOLLOWER_UNIT_PRICES": "10=0.5, ۲۰=1.2",
        "HAPPY_FOLLOWER_LINK_HOSTS": "Example.COM",
        "HAPPY_FOLLOWER_BASE_URL": "http://127.0.0.1:9/api/sandbox/v1/",
        "HAPPY_FOLLOWER_LEDGER": "/tmp/x/ledger.jsonl",
        "HAPPY_FOLLOWER_MCP_TOOLS": "get_credit, place_order",
        "HAPPY_FOLLOWER_MCP_HTTP_TOKEN": TOKEN,
        "HAPPY_FOLLOWER_MCP_READ_ONLY": "false",
        "HAPPY_FOLLOWER_MCP_ALLOWED_ORIGINS": "https://localhost",
    }
    argv = ["--max-count-per-order", "200", "--read-only", "--transport", "http", "--port", "0"]
    settings = load_settings(argv, env)
    assert settings.sandbox
    assert settings.environment == "sandbox"
    assert settings.base_url == "http://127.0.0.1:9/api/sandbox/v1"
    assert settings.read_only  # the flag wins over the environment
    assert settings.caps == SpendCaps(200, None, 5000.5, {10: 0.5, 20: 1.2})
    assert settings.allowed_link_hosts == ("instagram.com", "instagr.am", "example.com")
    assert settings.tools == frozenset({"get_credit", "place_order"})
    assert [spec.name for spec in enabled_tools(settings)] == ["get_credit"]
    assert settings.ledger_path() == Path("/tmp/x/ledger.jsonl")
    assert settings.transport == "http"
    assert settings.port == 0
    assert settings.allowed_origins == ("https://localhost",)
    assert TOKEN not in repr(settings)


def test_variables_are_read_whatever_their_case_and_as_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "happy_follower_api_key": "secret-api-key-123",
        "Happy_Follower_MCP_Exclude_Tools": "cancel_order,recheck_order",
        # Text, never JSON: a JSON list is one odd name, refused as unknown.
        "HAPPY_FOLLOWER_MCP_TOOLS": '["get_credit"]',
    }
    settings = load_settings([], env)
    assert settings.require_api_key() == "secret-api-key-123"
    assert settings.exclude_tools == frozenset({"cancel_order", "recheck_order"})
    with pytest.raises(SettingsError, match="unknown tool name"):
        enabled_tools(settings)
    # The programs read os.environ.
    for name in [name for name in os.environ if name.upper().startswith("HAPPY_FOLLOWER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HAPPY_FOLLOWER_API_KEY", "from-the-process-env")
    monkeypatch.setenv("HAPPY_FOLLOWER_MAX_COUNT_PER_ORDER", "۳۰۰")
    from_process = load_settings([])
    assert from_process.require_api_key() == "from-the-process-env"
    assert from_process.max_count_per_order == 300


def test_default_ledger_is_shared_with_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/state")
    assert load_settings([], KEY).ledger_path() == Path("/state/happy-follower/ledger.jsonl")


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {}, "no API key: set HAPPY_FOLLOWER_API_KEY"),
        ([], {**KEY, "HAPPY_FOLLOWER_MCP_READONLY": "1"}, "unknown setting.*MCP_READONLY"),
        (
            [],
            {**KEY, "HAPPY_FOLLOWER_MCP_MAX_ORDERS_PER_DAY": "3"},
            "MCP_MAX_ORDERS_PER_DAY is now HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY",
        ),
        (["--max-count-per-order", "-3"], KEY, "--max-count-per-order must be a whole number"),
        (["--max-count-per-order", "2.5"], KEY, "--max-count-per-order must be a whole number"),
        (["--max-spend-per-day", "lots"], KEY, "--max-spend-per-day must be a number above 0"),
        (["--max-spend-per-day", "nan"], KEY, r"--max-spend-per-day must be .* \(got 'nan'\)"),
        (["--max-spend-per-day", "inf"], KEY, "--max-spend-per-day must be a number above 0"),
        (["--max-spend-per-day", "0"], KEY, "--max-spend-per-day must be a number above 0"),
        (
            [],
            {**KEY, "HAPPY_FOLLOWER_MAX_SPEND_PER_DAY": "NaN"},
            "HAPPY_FOLLOWER_MAX_SPEND_PER_DAY must be a number above 0, or 'none'",
        ),
        (
            [],
            {**KEY, "HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY": "0"},
            "HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY must be a whole number above 0",
        ),
        (
            [],
            {**KEY, "HAPPY_FOLLOWER_UNIT_PRICES": "10=nan"},
            "HAPPY_FOLLOWER_UNIT_PRICES: the price of service 10 must be a finite number",
        ),
        (
            ["--unit-prices", "ten=1"],
            KEY,
            # The flag named once, the value shown once.
            r"^--unit-prices must be service=price pairs separated by commas or new lines "
            r"\(e\.g\. 10=0\.5, 20=1\.2\), got 'ten=1'$",
        ),
        (["--base-url", "ftp://x"], KEY, "--base-url must be an http"),
        (
            ["--sandbox", "--base-url", "https://www.happy-follower.com/api/v1/"],
            KEY,
            "--base-url is the vendor's live API root but --sandbox is set",
        ),
        (
            ["--base-url", "https://www.happy-follower.com/api/sandbox/v1"],
            KEY,
            "sandbox API root but --sandbox is not set",
        ),
        ([], {**KEY, "HAPPY_FOLLOWER_MCP_SIMULATE": "maybe"}, "SIMULATE must be true or false"),
        ([], {**KEY, "HAPPY_FOLLOWER_SANDBOX": "maybe"}, "HAPPY_FOLLOWER_SANDBOX must be true"),
        (["--transport", "sse"], KEY, "--transport"),
        (["--transport", "http"], KEY, "needs a bearer token"),
        (
            ["--transport", "http"],
            {**KEY, "HAPPY_FOLLOWER_MCP_HTTP_TOKEN": "short"},
            "needs a bearer token of at least 16",
        ),
        (["--port", "eighty"], KEY, "--port"),
        (["--port", "70000"], KEY, "--port must be less than or equal to 65535"),
        (["--log-level", "LOUD"], KEY, "--log-level"),
        (["--allowed-origins", "localhost"], KEY, "'localhost' is not an origin"),
        (
            ["--link-hosts", "example.org,instagram.com/"],
            KEY,
            r"^--link-hosts: 'instagram.com/' is not a host name "
            r"\(got 'example.org,instagram.com/'\)$",
        ),
    ],
)
def test_invalid_settings_are_refused(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings(argv, env)
    assert "pydantic" not in str(raised.value)
    assert "secret-api-key-123" not in str(raised.value)


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


def test_none_means_no_cap() -> None:
    env = {**KEY, "HAPPY_FOLLOWER_MAX_COUNT_PER_ORDER": "None"}
    settings = load_settings(["--max-orders-per-day", "none"], env)
    assert settings.caps == SpendCaps(None, None, None)


def test_simulate_needs_no_key() -> None:
    settings = load_settings(["--simulate"], {})
    assert settings.simulate


def test_main_stops_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HAPPY_FOLLOWER_API_KEY", "k")
    monkeypatch.setenv("HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY", "0")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "happy-follower-mcp: HAPPY_FOLLOWER_MAX_ORDERS_PER_DAY must be a whole number above 0"
    )
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
        "127.0.0.1",
        "127.0.0.1:*",
        "192.168.1.5",
        "192.168.1.5:*",
        "[::1]",
        "[::1]:*",
        "box:8765",
        "localhost",
        "localhost:*",
        "mcp.lan",
        "mcp.lan:*",
    ]
    assert "https://localhost" not in security.allowed_origins
    wildcard = transport_security(load_settings([*argv[:2], "--host", "0.0.0.0"], env))
    assert "0.0.0.0:*" not in wildcard.allowed_hosts
    behind_tls = load_settings([*argv[:2], "--allowed-origins", "https://localhost"], env)
    assert "https://localhost" in transport_security(behind_tls).allowed_origins


# --- live or sandbox, from the canonical API root (invariant I13) ---


@pytest.mark.parametrize("root", LIVE_SPELLINGS)
def test_the_live_root_however_spelled_is_refused_with_sandbox(root: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(["--sandbox", "--base-url", root], KEY)
    assert str(raised.value).startswith(
        "--base-url is the vendor's live API root but --sandbox is set"
    )
    # The same spelling from the environment, with the environment's switch.
    env = {**KEY, "HAPPY_FOLLOWER_BASE_URL": root, "HAPPY_FOLLOWER_SANDBOX": "1"}
    with pytest.raises(SettingsError, match="vendor's live API root but --sandbox is set"):
        load_settings([], env)
    # Without --sandbox it is the live root, in its documented form.
    assert load_settings(["--base-url", root], KEY).base_url == LIVE_API_ROOT


@pytest.mark.parametrize("root", SANDBOX_SPELLINGS)
def test_the_sandbox_root_however_spelled_is_refused_without_sandbox(root: str) -> None:
    with pytest.raises(SettingsError, match="vendor's sandbox API root but --sandbox is not set"):
        load_settings(["--base-url", root], KEY)
    settings = load_settings(["--sandbox", "--base-url", root], KEY)
    assert (settings.base_url, settings.environment) == (SANDBOX_API_ROOT, "sandbox")


@pytest.mark.parametrize("sandbox", [[], ["--sandbox"]])
@pytest.mark.parametrize(
    ("root", "says"),
    [
        ("https://www.happy-follower.com/api/v2", "is on Happy Follower's host but is neither"),
        ("https://api.happy-follower.com/api/v1", "is on Happy Follower's host but is neither"),
        ("http://www.happy-follower.com/api/v1", "must be https:// on Happy Follower's host"),
        ("http://[::1", "must be an http(s) address"),
        ("http://127.0.0.1:99999/api/v1", "must be an http(s) address"),
        ("http://127.0.0.1:9/api/v1#x", "must not have a query"),
    ],
)
def test_roots_that_cannot_be_used_are_refused(root: str, says: str, sandbox: list[str]) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings([*sandbox, "--base-url", root], KEY)
    assert str(raised.value).startswith(f"--base-url {says}")
    if "neither" in says:
        assert f"write {LIVE_API_ROOT} for the live API or {SANDBOX_API_ROOT}" in str(raised.value)


def test_a_password_in_the_root_is_refused_and_never_shown() -> None:
    env = {**KEY, "HAPPY_FOLLOWER_BASE_URL": "https://user:hunter2@mirror.example/api/v1"}
    with pytest.raises(SettingsError, match="must not contain a user name or password") as raised:
        load_settings([], env)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("sandbox", [[], ["--sandbox"]])
@pytest.mark.parametrize("path", ["/api/v1", "/api/sandbox/v1"])
def test_the_simulators_roots_are_accepted_with_either_flag(sandbox: list[str], path: str) -> None:
    settings = load_settings([*sandbox, "--base-url", f"HTTP://127.0.0.1:8787/{path}//"], KEY)
    assert settings.base_url == f"http://127.0.0.1:8787{path}"
    assert settings.sandbox is bool(sandbox)
