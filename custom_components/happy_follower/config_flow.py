"""Config, reauthentication, reconfiguration and options flows of Happy Follower."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from shared_client.client import HappyFollowerClient
from shared_client.errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerConnectionError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerRateLimitError,
    HappyFollowerResponseError,
)
from shared_client.guard import DEFAULT_CAPS
from shared_client.protocol import (
    LIVE_API_ROOT,
    SANDBOX_API_ROOT,
    ApiRootError,
    ApiRootRefusal,
    classify_api_root,
)
from shared_client.validation import (
    MAX_AMOUNT,
    credit_unit,
    parse_unit_prices,
    positive_amount,
    positive_int,
    to_ascii_digits,
    to_number,
)

from . import create_client
from .const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_ASSISTANTS_MAY_ORDER,
    CONF_CREDIT_UNIT,
    CONF_ENVIRONMENT,
    CONF_FINAL_RETENTION_HOURS,
    CONF_LOW_CREDIT_THRESHOLD,
    CONF_MAX_COUNT_PER_ORDER,
    CONF_MAX_ORDERS_PER_DAY,
    CONF_MAX_SPEND_PER_DAY,
    CONF_UNIT_PRICES,
    CREDIT_UNIT_SUGGESTIONS,
    DEFAULT_CREDIT_UNIT,
    DEFAULT_FINAL_RETENTION_HOURS,
    DEFAULT_LOW_CREDIT_THRESHOLD,
    DOMAIN,
    ENVIRONMENT_LIVE,
    ENVIRONMENT_SANDBOX,
    LOGGER,
    SIGNUP_URL,
)
from .spending import spend_caps
from .texts import FSI, Language, identifier, localized, system_language, unit_name

# Home Assistant (2026.9+) runs voluptuous as its successor probatio; type-check
# against what runs. Older versions run voluptuous itself, with the same API.
if TYPE_CHECKING:
    import probatio as vol
else:
    import voluptuous as vol

_API_KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


# What the form says when trying the account fails, by the client's error.
_FORM_ERRORS: tuple[tuple[type[HappyFollowerError], str], ...] = (
    (HappyFollowerAuthenticationError, "invalid_auth"),
    (HappyFollowerRateLimitError, "rate_limited"),
    (HappyFollowerConnectionError, "cannot_connect"),
    (HappyFollowerResponseError, "invalid_response"),
    (HappyFollowerApiError, "service_error"),
)


# What the form says about an API root the client refuses (protocol.api_root_for
# decides: the vendor's roots however spelled, live or sandbox), by the reason.
_API_ROOT_ERRORS: dict[ApiRootRefusal, dict[str, str]] = {
    ApiRootRefusal.LIVE_ROOT_IN_SANDBOX: {"base": "api_root_is_live"},
    ApiRootRefusal.SANDBOX_ROOT_IN_LIVE: {"base": "api_root_is_sandbox"},
    ApiRootRefusal.NOT_A_VENDOR_ROOT: {"base": "api_root_not_vendor_root"},
    ApiRootRefusal.INSECURE: {"base": "api_root_insecure"},
    ApiRootRefusal.CREDENTIALS: {"base": "api_root_extra_parts"},
    ApiRootRefusal.QUERY: {"base": "api_root_extra_parts"},
}
# The vendor's two roots, which those errors tell the user to write.
_ROOTS = {
    "live_root": LIVE_API_ROOT,
    "sandbox_root": SANDBOX_API_ROOT,
    "example_root": "http://127.0.0.1:8080/api/v1",  # a mirror or the simulator
}


def _account_schema(*, key_required: bool = True) -> vol.Schema:
    """API key, environment, and the API root override for testing.

    The API root sits in a collapsed "Advanced" section: Home Assistant 2026.x has no
    advanced mode any more (``show_advanced_options`` is deprecated and always True;
    its deprecation names a section as the way to present additional options).
    """
    key = vol.Required(CONF_API_KEY) if key_required else vol.Optional(CONF_API_KEY)
    return vol.Schema(
        {
            key: _API_KEY_SELECTOR,
            vol.Required(CONF_ENVIRONMENT, default=ENVIRONMENT_LIVE): SelectSelector(
                SelectSelectorConfig(
                    options=[ENVIRONMENT_LIVE, ENVIRONMENT_SANDBOX],
                    translation_key=CONF_ENVIRONMENT,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Required(CONF_ADVANCED): section(
                vol.Schema(
                    {
                        vol.Optional(CONF_API_ROOT): TextSelector(
                            TextSelectorConfig(type=TextSelectorType.URL)
                        )
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def _unique_id(data: Mapping[str, Any]) -> str:
    """The account, as far as the API lets us know it: a hash of its key, per environment.

    The API has no account id; the key itself must never be stored in clear as an id.
    """
    digest = hashlib.sha256(str(data[CONF_API_KEY]).strip().encode()).hexdigest()[:32]
    return f"{digest}_{data[CONF_ENVIRONMENT]}"


def _sendable_key(key: object) -> bool:
    """Whether an API key can be sent as it is: printable ASCII once trimmed.

    A line break, NUL or other control character cannot travel in an HTTP header (the
    HTTP library refuses it), and invisible or non-ASCII characters (a zero-width space,
    a bidi mark pasted from a Persian page) are no part of a key: both are a key copied
    wrong, which the form says, rather than an unexpected error to log.
    """
    text = key.strip() if isinstance(key, str) else ""
    return bool(text) and all(" " <= char <= "~" for char in text)


def _with_canonical_root(data: dict[str, Any]) -> dict[str, Any]:
    """Entry data as saved once the account works: the API root in its canonical form (the
    direction marks a root copied from Persian text carries are no part of it)."""
    advanced = data.get(CONF_ADVANCED)
    root = advanced.get(CONF_API_ROOT) if isinstance(advanced, dict) else None
    if not isinstance(advanced, dict) or not root:
        return data
    return {**data, CONF_ADVANCED: {**advanced, CONF_API_ROOT: classify_api_root(root).url}}


def _title(data: Mapping[str, Any]) -> str:
    if data[CONF_ENVIRONMENT] == ENVIRONMENT_SANDBOX:
        return "Happy Follower (sandbox)"
    return "Happy Follower"


class HappyFollowerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Happy Follower account."""

    VERSION = 1

    @staticmethod
    @override
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> HappyFollowerOptionsFlow:
        return HappyFollowerOptionsFlow()

    def _client_or_errors(self, data: dict[str, Any]) -> HappyFollowerClient | dict[str, str]:
        """A client for the data, or the form errors that refuse it before any request."""
        if not _sendable_key(data.get(CONF_API_KEY)):
            return {"base": "invalid_auth"}  # copied wrong: nothing to send, nothing to log
        try:
            return create_client(self.hass, data)
        except ApiRootError as err:
            return dict(_API_ROOT_ERRORS.get(err.reason, {"base": "invalid_api_root"}))
        except HappyFollowerInputError:
            return {"base": "invalid_api_root"}

    async def _async_test(self, data: dict[str, Any]) -> dict[str, str]:
        """Try the credentials; return form errors (empty when they work)."""
        client = self._client_or_errors(data)
        if isinstance(client, dict):
            return client
        try:
            await client.authenticate()
            await client.get_credit()
        except HappyFollowerError as err:
            kind = next((key for cls, key in _FORM_ERRORS if isinstance(err, cls)), None)
            if kind is not None:
                return {"base": kind}
            LOGGER.exception("Unexpected error while testing the Happy Follower account")
            return {"base": "unknown"}
        except Exception:
            LOGGER.exception("Unexpected error while testing the Happy Follower account")
            return {"base": "unknown"}
        return {}

    def _taken_by_other_entry(self, unique_id: str, entry: ConfigEntry) -> bool:
        return any(
            other.unique_id == unique_id and other.entry_id != entry.entry_id
            for other in self._async_current_entries(include_ignore=False)
        )

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            await self.async_set_unique_id(_unique_id(user_input))
            self._abort_if_unique_id_configured()
            if not (errors := await self._async_test(user_input)):
                return self.async_create_entry(
                    title=_title(user_input), data=_with_canonical_root(user_input)
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_account_schema(), user_input),
            errors=errors,
            description_placeholders={"url": SIGNUP_URL, **_ROOTS},
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY]}
            unique_id = _unique_id(data)
            if self._taken_by_other_entry(unique_id, entry):
                return self.async_abort(reason="already_configured")
            if not (errors := await self._async_test(data)):
                return self.async_update_reload_and_abort(entry, unique_id=unique_id, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_API_KEY): _API_KEY_SELECTOR}),
            errors=errors,
            description_placeholders={"title": entry.title, "url": SIGNUP_URL, **_ROOTS},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            # An empty key keeps the current one.
            data = {**entry.data, **user_input}
            if not user_input.get(CONF_API_KEY):
                data[CONF_API_KEY] = entry.data[CONF_API_KEY]
            unique_id = _unique_id(data)
            if self._taken_by_other_entry(unique_id, entry):
                return self.async_abort(reason="already_configured")
            if not (errors := await self._async_test(data)):
                return self.async_update_reload_and_abort(
                    entry, title=_title(data), unique_id=unique_id, data=_with_canonical_root(data)
                )
        # The form shows what is set now (the key stays hidden: leave it empty to keep it).
        current = {key: value for key, value in entry.data.items() if key != CONF_API_KEY}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _account_schema(key_required=False),
                {**current, **(user_input or {})},
            ),
            errors=errors,
            description_placeholders={"url": SIGNUP_URL, "title": entry.title, **_ROOTS},
        )


# The options. Every cap, price and amount is a text field read by the library's number
# reader (shared_client.validation.to_number): a browser's number box empties what it cannot
# read (Persian digits, "۱٬۰۰۰"), and an emptied field used to arrive as "no cap".
#
# Lifting a cap, or removing every unit price, is a word a person types: "none" (the word
# the command line and the MCP server take) or its Persian, as the field descriptions say.
# An empty or missing field never lifts anything: it keeps what is saved, with a form error
# unless nothing was saved there (a field with no cap shows empty, so submitting it as shown
# keeps it so). Home Assistant hands a submission it could not read to the flow as {}.
NO_CAP_WORDS = frozenset({"none", "بدون سقف"})
NO_PRICES_WORDS = frozenset({"none", "بدون قیمت"})
MAX_COUNT_PER_ORDER = 10_000_000
MAX_ORDERS_PER_DAY = 1_000
MAX_RETENTION_HOURS = 24 * 30
# Control, format (bidi overrides, direction marks, zero-width), private-use, unassigned
# characters and line separators: a value holding one is refused, not cleaned.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_LINE_BREAKS = frozenset("\n\r")
_ZWNJ = frozenset("\u200c")  # the zero-width non-joiner of Persian words, in a unit's name
# The left-to-right mark that opens each line of the unit prices the Persian form shows (in
# a right-to-left field "10 = 2" reads "2 = 10"): taken back there, refused anywhere else.
_LRM = "\u200e"
_LINE_OPENING_MARK = re.compile(f"^{_LRM}", re.MULTILINE)
# Arabic yeh and kaf, as an Arabic keyboard types the words' Persian letters.
_PERSIAN_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})
# Unit prices: pairs on lines, or separated by a comma or semicolon (Latin or Arabic) that
# is followed by the next "service =", so a comma grouping a price's digits stays in it.
_PRICE_SEPARATOR = re.compile(r"[\n\r;؛]+|[,،](?=\s*[0-9]+\s*=)")


class _Refused(Exception):
    """A field's value cannot be saved; ``error`` is the form error's translation key."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _FieldText(TextSelector):
    """A text field that also takes what an API client may send for it: null (read as an
    empty field) and a JSON number (read by the same reader as typed text)."""

    @override
    def __call__(self, data: Any) -> Any:
        if data is None or (isinstance(data, int | float) and not isinstance(data, bool)):
            return data
        return super().__call__(data)


class _FieldBoolean(BooleanSelector):
    """A yes or no that is not guessed: anything but a JSON true or false reaches the step
    as it came, to be refused there with a form error (the selector would read "no" as
    true)."""

    @override
    def __call__(self, data: Any) -> Any:
        return data


def _options_schema() -> vol.Schema:
    """Every field optional: a missing one is the step's to judge (kept or refused with a
    translated error), never the schema's default and never an untranslated schema error."""
    number = _FieldText(TextSelectorConfig())
    return vol.Schema(
        {
            vol.Optional(CONF_CREDIT_UNIT): SelectSelector(
                SelectSelectorConfig(
                    options=list(CREDIT_UNIT_SUGGESTIONS),
                    custom_value=True,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Optional(CONF_LOW_CREDIT_THRESHOLD): number,
            vol.Optional(CONF_MAX_COUNT_PER_ORDER): number,
            vol.Optional(CONF_MAX_ORDERS_PER_DAY): number,
            vol.Optional(CONF_MAX_SPEND_PER_DAY): number,
            vol.Optional(CONF_UNIT_PRICES): _FieldText(TextSelectorConfig(multiline=True)),
            vol.Optional(CONF_FINAL_RETENTION_HOURS): number,
            vol.Optional(CONF_ASSISTANTS_MAY_ORDER): _FieldBoolean(),
        }
    )


def _as_text(number: float) -> str:
    """A saved number as the form shows it: plain digits, no exponent."""
    if isinstance(number, float):
        if number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return format(Decimal(repr(number)), "f")
    return str(number)


def _number_text(number: float, language: Language) -> str:
    """A saved number as the form shows it in the language (Persian digits in Persian)."""
    return localized(_as_text(number), language)


def _prices_text(prices: Mapping[int, float], language: Language = "en") -> str:
    """Unit prices as "service = price" lines: saved as English writes them; shown in
    Persian in Persian digits, each line opened by a left-to-right mark so that it reads
    "service = price" in the right-to-left form too."""
    mark = _LRM if language == "fa" else ""
    return "\n".join(
        f"{mark}{identifier(service, language)} = {_number_text(price, language)}"
        for service, price in prices.items()
    )


def _unit_text(unit: str, language: Language) -> str:
    """The credit unit as the form shows it: a known unit by its name in the language
    (Toman: تومان), another as saved (``unit_name`` isolates it, for sentences)."""
    name = unit_name(unit, language)
    return unit if name.startswith(FSI) else name


# What an entry without options has: the one set of cap defaults shared with the CLI and
# the MCP server, no unit prices, and the integration's own defaults.
_DEFAULTS: dict[str, Any] = {
    CONF_CREDIT_UNIT: DEFAULT_CREDIT_UNIT,
    CONF_LOW_CREDIT_THRESHOLD: DEFAULT_LOW_CREDIT_THRESHOLD,
    CONF_MAX_COUNT_PER_ORDER: DEFAULT_CAPS.max_count_per_order,
    CONF_MAX_ORDERS_PER_DAY: DEFAULT_CAPS.max_orders_per_day,
    CONF_MAX_SPEND_PER_DAY: DEFAULT_CAPS.max_spend_per_day,
    CONF_UNIT_PRICES: "",
    CONF_FINAL_RETENTION_HOURS: DEFAULT_FINAL_RETENTION_HOURS,
    CONF_ASSISTANTS_MAY_ORDER: False,
}


def _saved(options: Mapping[str, Any]) -> dict[str, Any]:
    return {key: options.get(key, default) for key, default in _DEFAULTS.items()}


def _shown(options: Mapping[str, Any], language: Language) -> dict[str, Any]:
    """The saved options as the form's fields show them in the language (which the form
    reads back as the same options); no cap and no prices: empty."""
    shown: dict[str, Any] = {}
    for key, value in _saved(options).items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            shown[key] = value
        elif key == CONF_UNIT_PRICES:
            try:
                shown[key] = _prices_text(parse_unit_prices(str(value)), language)
            except HappyFollowerInputError:
                shown[key] = str(value)  # damaged: shown as it is, refused until fixed
        elif key == CONF_CREDIT_UNIT:
            shown[key] = _unit_text(str(value), language)
        elif isinstance(value, int | float):
            shown[key] = _number_text(value, language)
        else:
            shown[key] = str(value)
    return shown


def _typed(user_input: Mapping[str, Any], key: str) -> Any:
    """A field's value, or None when it is missing or empty."""
    value = user_input.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _visible(text: str, *, allowed: frozenset[str] = frozenset()) -> str:
    """The text without surrounding spaces, refused if it holds a hidden character."""
    if any(
        unicodedata.category(char) in _HIDDEN_CATEGORIES and char not in allowed for char in text
    ):
        raise _Refused("hidden_characters")
    return text.strip()


def _word(text: str) -> str:
    return " ".join(text.casefold().translate(_PERSIAN_LETTERS).split())


def _number(value: object, invalid: str, not_finite: str = "not_finite") -> int | float:
    """A finite number, Persian digits and grouping included; an int when whole."""
    if isinstance(value, str):
        value = _visible(value)
    try:
        number = to_number(value)
        float(number)  # an int too large for a float is too large for any cap
    except OverflowError:
        raise _Refused(not_finite) from None
    except ValueError as err:
        raise _Refused(not_finite if "finite" in str(err) else invalid) from None
    return number


def _cap(value: object, *, invalid: str, whole: bool, most: float) -> int | float | None:
    """A cap as typed: a number above 0 (whole, at most ``most``), or a no-cap word."""
    if isinstance(value, str) and _word(_visible(value)) in NO_CAP_WORDS:
        return None
    number = _number(value, invalid)
    if number <= 0 or number > most or (whole and not isinstance(number, int)):
        raise _Refused(invalid)
    return number if whole else float(number)


def _unit_prices(value: object) -> str:
    """Unit prices as typed, saved as "service = price" lines; "" for a no-prices word."""
    if not isinstance(value, str):
        raise _Refused("invalid_unit_prices")
    text = _visible(_LINE_OPENING_MARK.sub("", value), allowed=_LINE_BREAKS)
    if _word(text) in NO_PRICES_WORDS:
        return ""
    prices: dict[int, float] = {}
    for item in _PRICE_SEPARATOR.split(to_ascii_digits(text)):
        if not item.strip():
            continue
        service, equals, price = item.partition("=")
        try:
            service_id = positive_int(service, "service id")
        except HappyFollowerInputError:
            raise _Refused("invalid_unit_prices") from None
        try:  # the library's one reader of amounts: above 0, finite, not absurdly large
            prices[service_id] = positive_amount(price if equals else "", "price")
        except HappyFollowerInputError:
            raise _Refused("invalid_unit_prices") from None
    if not prices:  # only separators: removing every price takes the word
        raise _Refused("invalid_unit_prices")
    return _prices_text(prices)


def _credit_unit(value: object) -> str:
    text = _visible(str(value), allowed=_ZWNJ)
    try:
        return credit_unit(text)  # the library's one rule, shared with the CLI and MCP
    except HappyFollowerInputError:
        raise _Refused("invalid_unit") from None


def _threshold(value: object) -> float:
    amount = _number(value, "invalid_threshold")
    if amount < 0:
        raise _Refused("invalid_threshold")
    return float(amount)


def _hours(value: object) -> int:
    number = _number(value, "invalid_hours")
    if not isinstance(number, int) or not 0 <= number <= MAX_RETENTION_HOURS:
        raise _Refused("invalid_hours")
    return number


# Each field: how it is read, and the error when it is missing or empty while something
# is saved there.
_FIELDS: tuple[tuple[str, Callable[[Any], Any], str], ...] = (
    (CONF_CREDIT_UNIT, _credit_unit, "invalid_unit"),
    (CONF_LOW_CREDIT_THRESHOLD, _threshold, "value_missing"),
    (
        CONF_MAX_COUNT_PER_ORDER,
        partial(_cap, invalid="invalid_whole_cap", whole=True, most=MAX_COUNT_PER_ORDER),
        "cap_missing",
    ),
    (
        CONF_MAX_ORDERS_PER_DAY,
        partial(_cap, invalid="invalid_whole_cap", whole=True, most=MAX_ORDERS_PER_DAY),
        "cap_missing",
    ),
    # Zero or a non-finite amount would turn the cap off without a word.
    (
        CONF_MAX_SPEND_PER_DAY,
        partial(_cap, invalid="invalid_amount", whole=False, most=MAX_AMOUNT),
        "cap_missing",
    ),
    (CONF_UNIT_PRICES, _unit_prices, "unit_prices_missing"),
    (CONF_FINAL_RETENTION_HOURS, _hours, "value_missing"),
)


def _with_saved_unit(
    user_input: Mapping[str, Any], unit: str, language: Language
) -> Mapping[str, Any]:
    """The submission with the saved unit where it sends back that unit's name in the
    language (Toman, shown as تومان, stays Toman)."""
    if user_input.get(CONF_CREDIT_UNIT) == _unit_text(unit, language):
        return {**user_input, CONF_CREDIT_UNIT: unit}
    return user_input


def _read_options(
    user_input: Mapping[str, Any], options: Mapping[str, Any], language: Language
) -> tuple[dict[str, Any], dict[str, str]]:
    """The options to save from a submission, and the form errors (nothing is saved while
    there is one). A field that is missing or empty keeps what is saved: silently where
    nothing is saved there (no cap, no prices), else with an error that says so."""
    saved = _saved(options)
    user_input = _with_saved_unit(user_input, saved[CONF_CREDIT_UNIT], language)
    new: dict[str, Any] = {**options}
    errors: dict[str, str] = {}
    for key, read, missing in _FIELDS:
        value = _typed(user_input, key)
        try:
            if value is not None:
                new[key] = read(value)
            elif saved[key] is None or saved[key] == "":
                new[key] = saved[key]  # nothing was saved there, and nothing is
            else:
                raise _Refused(missing)
        except _Refused as refused:
            errors[key] = refused.error
    # Only a yes or no a person gave changes it: a missing value keeps what is saved.
    allowed = user_input.get(CONF_ASSISTANTS_MAY_ORDER)
    if isinstance(allowed, bool):
        new[CONF_ASSISTANTS_MAY_ORDER] = allowed
    elif allowed is None:
        new[CONF_ASSISTANTS_MAY_ORDER] = saved[CONF_ASSISTANTS_MAY_ORDER]
    else:
        errors[CONF_ASSISTANTS_MAY_ORDER] = "not_yes_or_no"
    if new.get(CONF_ASSISTANTS_MAY_ORDER) and new.get(CONF_MAX_SPEND_PER_DAY) is None:
        errors[CONF_ASSISTANTS_MAY_ORDER] = "assistants_need_spend_cap"
    if not errors:
        try:
            spend_caps(new)  # what the guard will read
        except (HappyFollowerInputError, ValueError):
            errors["base"] = "invalid_caps"
    return new, errors


class HappyFollowerOptionsFlow(OptionsFlowWithReload):
    """Credit unit, low-credit threshold, spending caps, how long final orders stay."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        language = system_language(self.hass)
        shown = _shown(self.config_entry.options, language)
        if user_input is not None:
            options, errors = _read_options(user_input, self.config_entry.options, language)
            if not errors:
                return self.async_create_entry(data=options)
            # What was typed stays for the person to correct; an empty or missing field
            # shows the saved value again, as its error says.
            for key in user_input:
                if (value := _typed(user_input, key)) is not None:
                    shown[key] = value if isinstance(value, str | bool) else str(value)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(_options_schema(), shown),
            errors=errors,
        )
