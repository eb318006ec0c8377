"""Settings of the MCP server, from environment variables and command-line flags.

Every setting has an environment variable; all but the secrets also have a flag
(a secret on the command line would show in process listings). Flags win over the
environment. Anything invalid or unknown stops the server with a clear message.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from shared_client.errors import HappyFollowerInputError
from shared_client.guard import SpendCaps
from shared_client.validation import switch

ENV_PREFIX: Final = "HAPPY_FOLLOWER_MCP_"
ENV_API_KEY: Final = "HAPPY_FOLLOWER_API_KEY"  # shared with the CLI
ENV_SANDBOX: Final = "HAPPY_FOLLOWER_SANDBOX"  # shared with the CLI

DEFAULT_MAX_COUNT_PER_ORDER: Final = 1000
DEFAULT_MAX_ORDERS_PER_DAY: Final = 10
DEFAULT_CAPS: Final = SpendCaps(DEFAULT_MAX_COUNT_PER_ORDER, DEFAULT_MAX_ORDERS_PER_DAY, None)
DEFAULT_HTTP_PORT: Final = 8765
MIN_TOKEN_LENGTH: Final = 16
LOOPBACK_NAMES: Final = frozenset({"localhost"})

Transport = Literal["stdio", "http"]


class SettingsError(Exception):
    """A setting is missing, invalid or unknown; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs to start. ``repr`` never shows the secrets."""

    api_key: str | None = field(default=None, repr=False)
    sandbox: bool = False
    simulate: bool = False
    read_only: bool = False
    tools: frozenset[str] | None = None  # allow list; None: every tool
    exclude_tools: frozenset[str] = frozenset()
    caps: SpendCaps = DEFAULT_CAPS
    allow_unconfirmed_orders: bool = False
    ledger: Path | None = None  # None: the default path (a fresh temporary file when simulating)
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = DEFAULT_HTTP_PORT
    http_token: str | None = field(default=None, repr=False)
    allowed_hosts: tuple[str, ...] = ()
    log_level: str = "WARNING"

    def __post_init__(self) -> None:
        if not self.simulate and not self.api_key:
            raise SettingsError(
                f"no API key: set {ENV_API_KEY} (see your account on happy-follower.com), "
                "or run with --simulate to try the server against the embedded simulator"
            )
        if self.transport == "http":
            if self.http_token is None or len(self.http_token) < MIN_TOKEN_LENGTH:
                raise SettingsError(
                    f"the HTTP transport needs a bearer token of at least {MIN_TOKEN_LENGTH} "
                    f"characters in {ENV_PREFIX}HTTP_TOKEN (for example the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
                )
            if not 0 <= self.port <= 65535:
                raise SettingsError(f"port must be between 0 and 65535, got {self.port}")

    @property
    def environment(self) -> Literal["live", "sandbox", "simulated"]:
        return "simulated" if self.simulate else "sandbox" if self.sandbox else "live"


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# Setting name -> (environment variable suffix, flag, help). Secrets have no flag.
OPTIONS: Final = {
    "sandbox": ("SANDBOX", "--sandbox", "use the vendor's sandbox (no cancel or recheck there)"),
    "simulate": ("SIMULATE", "--simulate", "run against an embedded simulator: nothing is real"),
    "read_only": ("READ_ONLY", "--read-only", "only the read tools; wins over every other setting"),
    "tools": ("TOOLS", "--tools", "comma-separated allow list of tool names"),
    "exclude_tools": ("EXCLUDE_TOOLS", "--exclude-tools", "comma-separated deny list"),
    "max_count_per_order": (
        "MAX_COUNT_PER_ORDER",
        "--max-count-per-order",
        f"largest count one order may ask for (default {DEFAULT_MAX_COUNT_PER_ORDER}; 'none')",
    ),
    "max_orders_per_day": (
        "MAX_ORDERS_PER_DAY",
        "--max-orders-per-day",
        f"most orders in any 24 hours (default {DEFAULT_MAX_ORDERS_PER_DAY}; 'none')",
    ),
    "max_spend_per_day": (
        "MAX_SPEND_PER_DAY",
        "--max-spend-per-day",
        "most credit spent in any 24 hours, from the costs the API reports (default none)",
    ),
    "allow_unconfirmed_orders": (
        "ALLOW_UNCONFIRMED_ORDERS",
        "--allow-unconfirmed-orders",
        "place orders from clients that cannot ask the user (no elicitation support)",
    ),
    "ledger": ("LEDGER", "--ledger", "path of the JSON-lines audit ledger"),
    "transport": ("TRANSPORT", "--transport", "stdio (default) or http"),
    "host": ("HOST", "--host", "HTTP bind address (default 127.0.0.1)"),
    "port": ("PORT", "--port", f"HTTP port (default {DEFAULT_HTTP_PORT})"),
    "allowed_hosts": (
        "ALLOWED_HOSTS",
        "--allowed-hosts",
        "extra Host header values accepted over HTTP, comma-separated (host or host:port)",
    ),
    "log_level": ("LOG_LEVEL", "--log-level", "DEBUG, INFO, WARNING (default) or ERROR"),
}
_FLAGS: Final = frozenset(
    {"sandbox", "simulate", "read_only", "allow_unconfirmed_orders"}
)  # boolean switches
_SECRETS: Final = {"HTTP_TOKEN": "http_token"}
_NONE: Final = frozenset({"none", "off", "unlimited"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="happy-follower-mcp",
        description="MCP server for Happy Follower: credit, services and orders as tools, "
        "with spend caps, confirmation and an audit ledger. "
        f"Every flag has an environment variable {ENV_PREFIX}<NAME>; "
        f"the API key is read from {ENV_API_KEY} only.",
    )
    for name, (suffix, flag, help_text) in OPTIONS.items():
        env_help = f"{help_text} [env {ENV_PREFIX}{suffix}]"
        if name in _FLAGS:
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=env_help)
        else:
            parser.add_argument(flag, dest=name, default=None, help=env_help)
    return parser


def _boolean(name: str, value: str) -> bool:
    try:
        return switch(value, name)
    except HappyFollowerInputError as err:
        raise SettingsError(str(err)) from None


def _limit(name: str, value: str | None, default: int | None, *, number: type) -> float | None:
    if value is None:
        return default
    text = value.strip().lower()
    if text in _NONE:
        return None
    try:
        limit = number(text)
    except ValueError:
        raise SettingsError(f"{name} must be a positive number or 'none', got {value!r}") from None
    if limit <= 0:
        raise SettingsError(f"{name} must be a positive number or 'none', got {value!r}")
    return float(limit) if number is float else limit


def _names(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def load_settings(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from flags and environment; raise SettingsError on anything wrong."""
    env = os.environ if env is None else env
    parser = _parser()
    # Unknown flags end the program through argparse's own usage message.
    args = vars(parser.parse_args(argv))

    known = {f"{ENV_PREFIX}{suffix}" for suffix, _, _ in OPTIONS.values()}
    known |= {f"{ENV_PREFIX}{suffix}" for suffix in _SECRETS}
    unknown = sorted(key for key in env if key.startswith(ENV_PREFIX) and key not in known)
    if unknown:
        raise SettingsError(
            f"unknown setting(s) {', '.join(unknown)}; see `happy-follower-mcp --help`"
        )

    raw: dict[str, str | None] = {}
    for name, (suffix, _, _) in OPTIONS.items():
        value = args[name]
        if value is None:
            value = env.get(f"{ENV_PREFIX}{suffix}")
        elif name in _FLAGS:
            value = "true"
        raw[name] = value
    if raw["sandbox"] is None:
        raw["sandbox"] = env.get(ENV_SANDBOX)

    def flag(name: str) -> bool:
        value = raw[name]
        return False if value is None else _boolean(OPTIONS[name][1], value)

    transport = (raw["transport"] or "stdio").strip().lower()
    if transport not in ("stdio", "http"):
        raise SettingsError(f"--transport must be stdio or http, got {raw['transport']!r}")
    port_text = raw["port"]
    try:
        port = DEFAULT_HTTP_PORT if port_text is None else int(port_text)
    except ValueError:
        raise SettingsError(f"--port must be a whole number, got {port_text!r}") from None
    log_level = (raw["log_level"] or "WARNING").strip().upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"--log-level must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    caps = SpendCaps(
        max_count_per_order=_int_limit(
            "--max-count-per-order", raw["max_count_per_order"], DEFAULT_MAX_COUNT_PER_ORDER
        ),
        max_orders_per_day=_int_limit(
            "--max-orders-per-day", raw["max_orders_per_day"], DEFAULT_MAX_ORDERS_PER_DAY
        ),
        max_spend_per_day=_limit(
            "--max-spend-per-day", raw["max_spend_per_day"], None, number=float
        ),
    )
    api_key = (env.get(ENV_API_KEY) or "").strip() or None
    return Settings(
        api_key=api_key,
        sandbox=flag("sandbox"),
        simulate=flag("simulate"),
        read_only=flag("read_only"),
        tools=_names(raw["tools"]),
        exclude_tools=_names(raw["exclude_tools"]) or frozenset(),
        caps=caps,
        allow_unconfirmed_orders=flag("allow_unconfirmed_orders"),
        ledger=Path(raw["ledger"]).expanduser() if raw["ledger"] else None,
        transport="http" if transport == "http" else "stdio",
        host=(raw["host"] or "127.0.0.1").strip(),
        port=port,
        http_token=(env.get(f"{ENV_PREFIX}HTTP_TOKEN") or "").strip() or None,
        allowed_hosts=tuple(sorted(_names(raw["allowed_hosts"]) or ())),
        log_level=log_level,
    )


def _int_limit(name: str, value: str | None, default: int) -> int | None:
    limit = _limit(name, value, default, number=int)
    return None if limit is None else int(limit)
