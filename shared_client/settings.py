"""Settings of the command line and the MCP server: names, defaults and parsing, once.

Both read the same environment variables (``HAPPY_FOLLOWER_*``) with the same rules,
so an operator's caps, ledger and API root mean the same thing to either. Home
Assistant keeps its settings in its config entries and the library never imports
this module. Settings are a plain pydantic model read from the environment here (no
``pydantic-settings``: the MCP server starts sooner without it).

``--base-url`` / ``HAPPY_FOLLOWER_BASE_URL`` replaces the API root of the chosen
environment: without ``--sandbox`` it stands for the live API (orders count as live,
against the live caps); with ``--sandbox`` it stands for the sandbox API (cancel and
recheck refused, orders count as sandbox). It is never silently the other one: the
vendor's own roots are recognised however they are spelled (``protocol.api_root_for``,
the rule the client applies), and a root on the vendor's host that is neither is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from .errors import HappyFollowerInputError
from .guard import DEFAULT_CAPS, SpendCaps
from .ledger import default_ledger_path
from .protocol import (
    LIVE_API_ROOT,
    SANDBOX_API_ROOT,
    ApiRootError,
    ApiRootRefusal,
    api_root_for,
    classify_api_root,
)
from .validation import (
    DEFAULT_CREDIT_UNIT,
    DEFAULT_LINK_HOSTS,
    MAX_AMOUNT,
    credit_unit,
    display_text,
    normalise_host,
    parse_unit_prices,
    policy_reason,
    positive_amount,
    switch,
)

ENV_PREFIX: Final = "HAPPY_FOLLOWER_"
# One ledger for the CLI and the MCP server, so that their orders share the caps.
DEFAULT_LEDGER_NAME: Final = "ledger.jsonl"
NO_CAP: Final = "none"
SECRET_FIELDS: Final = frozenset({"api_key", "http_token"})


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""


def _switch(value: object) -> object:
    """On/off words (1/0, true/false, yes/no, on/off, empty) as booleans."""
    if isinstance(value, str):
        try:
            return switch(value, "the value")
        except HappyFollowerInputError:
            raise ValueError("must be true or false (1/0, yes/no, on/off)") from None
    return value


def _cap(value: object, *, whole: bool) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == NO_CAP:
        return None
    try:
        # The one reader of amounts: Persian digits, "," grouping, at most MAX_AMOUNT.
        number = positive_amount(value, "the cap")
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ValueError(
            f"must be {kind} above 0, or '{NO_CAP}' for no cap (at most {MAX_AMOUNT:,})"
        ) from None
    if whole:
        if not number.is_integer():
            raise ValueError(f"must be a whole number above 0, or '{NO_CAP}' for no cap")
        return int(number)
    return number


def _whole_cap(value: object) -> object:
    return _cap(value, whole=True)


def _spend_cap(value: object) -> object:
    return _cap(value, whole=False)


def _unit_prices(value: object) -> object:
    """``"10=0.5,20=1.2"``: the operator's price per unit of service 10 and 20."""
    return parse_unit_prices(value) if isinstance(value, str) else value


def _credit_unit(value: object) -> object:
    try:
        return credit_unit(value)
    except HappyFollowerInputError as err:
        raise ValueError(str(err)) from None


def _hosts(value: object) -> object:
    """Comma-separated host names, compared as links are (lower case, IDNA)."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        return value
    try:
        return tuple(normalise_host(str(host)) for host in value)
    except HappyFollowerInputError as err:
        raise ValueError(str(err)) from None


def _base_url(value: object) -> object:
    """The root in canonical form; whether it suits --sandbox is checked with both known."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return classify_api_root(text).url
        except ApiRootError as err:
            if err.reason is ApiRootRefusal.CREDENTIALS:
                # Refused below, where the message does not echo what may be a password.
                return text
            raise ValueError(err.detail) from None
    return value


def _secret(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    return value


Switch = Annotated[bool, BeforeValidator(_switch)]
WholeCap = Annotated[int | None, BeforeValidator(_whole_cap)]
SpendCap = Annotated[float | None, BeforeValidator(_spend_cap)]


class HappyFollowerSettings(BaseModel):
    """What the CLI and the MCP server share. ``repr`` never shows the API key.

    Each field is read from its environment variable (``env_name``: ``HAPPY_FOLLOWER_``
    and the field's name, or its ``validation_alias``), as text: lists and pairs are
    comma-separated, never JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    api_key: Annotated[SecretStr | None, BeforeValidator(_secret)] = Field(
        default=None, description="API key from your account page on happy-follower.com"
    )
    sandbox: Switch = Field(default=False, description="use the vendor's sandbox API")
    base_url: Annotated[str | None, BeforeValidator(_base_url)] = Field(
        default=None,
        description="API root replacing the chosen environment's (a mirror, a proxy, the "
        "simulator); with --sandbox it stands for the sandbox API",
    )
    ledger: Path | None = Field(
        default=None,
        description=f"the audit ledger file (default $XDG_STATE_HOME/happy-follower/"
        f"{DEFAULT_LEDGER_NAME}, shared by the CLI and the MCP server)",
    )
    max_count_per_order: WholeCap = Field(
        default=DEFAULT_CAPS.max_count_per_order,
        description=f"largest count of one order ('{NO_CAP}': no cap)",
    )
    max_orders_per_day: WholeCap = Field(
        default=DEFAULT_CAPS.max_orders_per_day,
        description=f"most orders in any 24 hours ('{NO_CAP}': no cap)",
    )
    max_spend_per_day: SpendCap = Field(
        default=DEFAULT_CAPS.max_spend_per_day,
        description=f"most credit spent in any 24 hours, counting each order at its cost "
        f"bound until its cost is known ('{NO_CAP}': no cap)",
    )
    unit_prices: Annotated[dict[int, float], BeforeValidator(_unit_prices)] = Field(
        default_factory=dict,
        description="your price per unit of a service, as service=price pairs "
        "(e.g. 10=0.5,20=1.2): the cost bound of its orders under a spend cap",
    )
    credit_unit: Annotated[str, BeforeValidator(_credit_unit)] = Field(
        default=DEFAULT_CREDIT_UNIT,
        description="the unit the account's credit and costs are in, shown beside every "
        "amount (Toman, or Rial as IRR)",
    )
    link_hosts: Annotated[tuple[str, ...], BeforeValidator(_hosts)] = Field(
        default=(),
        description="more hosts allowed in order links, comma-separated "
        f"(always allowed: {', '.join(DEFAULT_LINK_HOSTS)})",
    )

    @model_validator(mode="after")
    def _environment_and_root_agree(self) -> Self:
        """--base-url naming the vendor's root of the other environment is a mistake,
        however it is spelled: the client's own rule (``protocol.api_root_for``) decides."""
        try:
            api_root_for(self.base_url, sandbox=self.sandbox)
        except ApiRootError as err:
            if err.reason is ApiRootRefusal.LIVE_ROOT_IN_SANDBOX:
                raise ValueError(
                    "--base-url is the vendor's live API root but --sandbox is set: drop one "
                    f"(for the sandbox, leave --base-url unset or write {SANDBOX_API_ROOT})"
                ) from None
            if err.reason is ApiRootRefusal.SANDBOX_ROOT_IN_LIVE:
                raise ValueError(
                    "--base-url is the vendor's sandbox API root but --sandbox is not set: add "
                    f"--sandbox (or {ENV_PREFIX}SANDBOX=true), or leave --base-url unset "
                    f"(or write {LIVE_API_ROOT}) for the live API"
                ) from None
            raise ValueError(f"--base-url ({ENV_PREFIX}BASE_URL) {err.detail}") from None
        return self

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, /, **flags: Any) -> Self:
        """Settings from ``flags`` (the command line's, None for not given) over the
        environment (``env``, or os.environ). Raises SettingsError naming what is wrong."""
        given = {name: value for name, value in flags.items() if value is not None}
        try:
            return cls.model_validate({**cls.from_environment(env), **given})
        except ValidationError as err:
            raise SettingsError(describe(err, cls, given)) from None

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The settings that ``env`` (or os.environ) sets, by field name. Variable names
        are matched whatever their case, as a shell user may write them."""
        source = os.environ if env is None else env
        environ = {key.upper(): value for key, value in source.items()}
        return {
            name: environ[variable]
            for name in cls.model_fields
            if (variable := env_name(cls, name)) in environ
        }

    @property
    def environment(self) -> Literal["live", "sandbox"]:
        return "sandbox" if self.sandbox else "live"

    @property
    def caps(self) -> SpendCaps:
        try:
            return SpendCaps(
                max_count_per_order=self.max_count_per_order,
                max_orders_per_day=self.max_orders_per_day,
                max_spend_per_day=self.max_spend_per_day,
                unit_prices=self.unit_prices,
            )
        except HappyFollowerInputError as err:
            raise SettingsError(str(err)) from None

    @property
    def allowed_link_hosts(self) -> tuple[str, ...]:
        """The hosts order links may go to: Instagram's and the operator's."""
        return tuple(dict.fromkeys((*DEFAULT_LINK_HOSTS, *self.link_hosts)))

    def ledger_path(self) -> Path:
        return (self.ledger or default_ledger_path(DEFAULT_LEDGER_NAME)).expanduser()

    def require_api_key(self) -> str:
        """The API key, or SettingsError saying where to set it."""
        if self.api_key is None:
            raise SettingsError(
                f"no API key: set {ENV_PREFIX}API_KEY to the key shown on your account page "
                "on happy-follower.com"
            )
        return self.api_key.get_secret_value()


def env_name(settings_cls: type[BaseModel], field: str) -> str:
    """The environment variable of a field."""
    alias = settings_cls.model_fields[field].validation_alias
    return alias.upper() if isinstance(alias, str) else f"{ENV_PREFIX}{field.upper()}"


def describe(err: ValidationError, settings_cls: type[BaseModel], flags: Mapping[str, Any]) -> str:
    """One line per problem, naming the flag or environment variable it came from."""
    problems = []
    for error in err.errors(include_url=False):
        field = _field_of(settings_cls, error["loc"])
        # Shared rules name their subject ("unit prices must be ..."); the flag names it here.
        reason = policy_reason(error["msg"], field)
        if field is None:  # the settings as a whole
            problems.append(reason)
            continue
        if error["type"] == "extra_forbidden":
            reason = "is not a setting"
        elif field not in SECRET_FIELDS and isinstance(error["input"], str | int | float):
            shown = display_text(repr(error["input"]), 60)
            if shown not in reason:  # a shared rule's message may show it already
                reason += f" (got {shown})"
        where = f"--{field.replace('_', '-')}" if field in flags else env_name(settings_cls, field)
        joint = " " if reason.startswith(("must ", "is ")) else ": "
        problems.append(f"{where}{joint}{reason}")
    return "; ".join(problems)


def _field_of(settings_cls: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The field an error is about (its location may be the field's name or its alias)."""
    if not loc:
        return None
    first = str(loc[0])
    for name, info in settings_cls.model_fields.items():
        if first in (name, info.validation_alias):
            return name
    return first


__all__ = [
    "DEFAULT_LEDGER_NAME",
    "ENV_PREFIX",
    "HappyFollowerSettings",
    "SettingsError",
    "env_name",
]
