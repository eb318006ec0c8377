"""Settings of the MCP server: the shared ones (``shared_client.settings``) and its own.

Shared settings keep their ``HAPPY_FOLLOWER_*`` names (the CLI reads the same ones);
the server's own are ``HAPPY_FOLLOWER_MCP_*``. Every setting but the secrets also has
a flag (a secret on the command line would show in process listings); flags win over
the environment. Anything invalid or unknown stops the server with a clear message.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, Literal, Self

from pydantic import BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from shared_client.settings import (
    ENV_PREFIX as SHARED_PREFIX,
)
from shared_client.settings import (
    SECRET_FIELDS,
    HappyFollowerSettings,
    SettingsError,
    Switch,
    env_name,
)

ENV_PREFIX: Final = "HAPPY_FOLLOWER_MCP_"
ENV_API_KEY: Final = f"{SHARED_PREFIX}API_KEY"
DEFAULT_HTTP_PORT: Final = 8765
MIN_TOKEN_LENGTH: Final = 16
LOOPBACK_NAMES: Final = frozenset({"localhost"})

Transport = Literal["stdio", "http"]


def _names(value: object) -> object:
    """Comma-separated names as a set (tool lists)."""
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    return value


def _list(value: object) -> object:
    """Comma-separated values as a sorted tuple (hosts, origins)."""
    if isinstance(value, str):
        return tuple(sorted({part.strip() for part in value.split(",") if part.strip()}))
    return value


def _word(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _blank_is_none(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    return value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _own(name: str) -> Any:
    """The environment variable of one of the server's own settings."""
    return f"{ENV_PREFIX}{name}".lower()


# Comma-separated text.
Names = Annotated[frozenset[str], BeforeValidator(_names)]
Values = Annotated[tuple[str, ...], BeforeValidator(_list)]


class Settings(HappyFollowerSettings):
    """Everything the server needs to start. ``repr`` never shows the secrets."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    simulate: Switch = Field(
        default=False,
        validation_alias=_own("SIMULATE"),
        description="run against an embedded simulator: nothing is real",
    )
    read_only: Switch = Field(
        default=False,
        validation_alias=_own("READ_ONLY"),
        description="only the read tools; wins over every other setting",
    )
    tools: Names | None = Field(
        default=None,
        validation_alias=_own("TOOLS"),
        description="comma-separated allow list of tool names",
    )
    exclude_tools: Names = Field(
        default=frozenset(),
        validation_alias=_own("EXCLUDE_TOOLS"),
        description="comma-separated deny list of tool names",
    )
    allow_unconfirmed_orders: Switch = Field(
        default=False,
        validation_alias=_own("ALLOW_UNCONFIRMED_ORDERS"),
        description="place orders from clients that cannot ask the user (no elicitation)",
    )
    transport: Annotated[Transport, BeforeValidator(_word)] = Field(
        default="stdio", validation_alias=_own("TRANSPORT"), description="stdio or http"
    )
    host: str = Field(
        default="127.0.0.1", validation_alias=_own("HOST"), description="HTTP bind address"
    )
    port: int = Field(
        default=DEFAULT_HTTP_PORT,
        ge=0,
        le=65535,
        validation_alias=_own("PORT"),
        description=f"HTTP port (0: any free port; default {DEFAULT_HTTP_PORT})",
    )
    http_token: Annotated[SecretStr | None, BeforeValidator(_blank_is_none)] = Field(
        default=None,
        validation_alias=_own("HTTP_TOKEN"),
        description="bearer token HTTP clients must send",
    )
    allowed_hosts: Values = Field(
        default=(),
        validation_alias=_own("ALLOWED_HOSTS"),
        description="extra Host header values accepted over HTTP (host or host:port)",
    )
    allowed_origins: Values = Field(
        default=(),
        validation_alias=_own("ALLOWED_ORIGINS"),
        description="extra browser origins accepted over HTTP, e.g. https://localhost "
        "behind a TLS front",
    )
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        BeforeValidator(_upper),
    ] = Field(
        default="WARNING",
        validation_alias=_own("LOG_LEVEL"),
        description="DEBUG, INFO, WARNING (default) or ERROR; logs go to stderr",
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.simulate and self.api_key is None:
            raise ValueError(
                f"no API key: set {ENV_API_KEY} (see your account on happy-follower.com), "
                "or run with --simulate to try the server against the embedded simulator"
            )
        if self.transport == "http":
            token = self.http_token.get_secret_value() if self.http_token else ""
            if len(token) < MIN_TOKEN_LENGTH:
                raise ValueError(
                    f"the HTTP transport needs a bearer token of at least {MIN_TOKEN_LENGTH} "
                    f"characters in {ENV_PREFIX}HTTP_TOKEN (for example the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
                )
        for origin in self.allowed_origins:
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ValueError(
                    f"{ENV_PREFIX}ALLOWED_ORIGINS: {origin!r} is not an origin "
                    "(scheme://host[:port], e.g. https://localhost)"
                )
        return self

    def http_token_value(self) -> str | None:
        return self.http_token.get_secret_value() if self.http_token else None


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _flag(field: str) -> str:
    return f"--{field.replace('_', '-')}"


# Setting name -> (environment variable, flag or None, help), from the model: one place.
OPTIONS: Final = {
    name: (
        env_name(Settings, name),
        None if name in SECRET_FIELDS else _flag(name),  # never a flag: process lists show them
        info.description or "",
    )
    for name, info in Settings.model_fields.items()
}
_SWITCHES: Final = frozenset(
    name for name, info in Settings.model_fields.items() if info.annotation is bool
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="happy-follower-mcp",
        description="MCP server for Happy Follower: credit, services and orders as tools, "
        "with spend caps, confirmation and an audit ledger. Every flag has an environment "
        "variable; the API key and the HTTP token are read from the environment only.",
    )
    for name, (variable, flag, help_text) in OPTIONS.items():
        if flag is None:
            continue
        text = f"{help_text} [env {variable}]"
        if name in _SWITCHES:
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=text)
        else:
            parser.add_argument(flag, dest=name, default=None, help=text)
    return parser


def _check_own_variables(env: Mapping[str, str]) -> None:
    """Unknown HAPPY_FOLLOWER_MCP_* variables stop the start: a typo must not drop a cap."""
    known = {variable for variable, _, _ in OPTIONS.values()}
    unknown = sorted(key for key in env if key.startswith(ENV_PREFIX) and key not in known)
    if not unknown:
        return
    hints = [
        f"{key} is now {SHARED_PREFIX}{key.removeprefix(ENV_PREFIX)} (shared with the CLI)"
        for key in unknown
        if f"{SHARED_PREFIX}{key.removeprefix(ENV_PREFIX)}" in known
    ]
    raise SettingsError(
        f"unknown setting(s) {', '.join(unknown)}; see `happy-follower-mcp --help`"
        + ("".join(f"; {hint}" for hint in hints))
    )


def load_settings(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Settings from flags over the environment; raise SettingsError on anything wrong.
    Unknown flags end the program through argparse's own usage message."""
    _check_own_variables(os.environ if env is None else env)
    flags: dict[str, Any] = vars(_parser().parse_args(argv))
    return Settings.load(env, **flags)


__all__ = [
    "DEFAULT_HTTP_PORT",
    "ENV_API_KEY",
    "ENV_PREFIX",
    "OPTIONS",
    "Settings",
    "SettingsError",
    "is_loopback",
    "load_settings",
]
