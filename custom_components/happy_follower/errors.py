"""Map the client's errors to translated Home Assistant errors, in one place.

The placeholders are made here for one language (``texts.system_language``): numbers in
its digits, the credit's unit by its name, and every text that is not the language's own
(vendor messages, links, what a person typed that is not a number) isolated. No library
message reaches a person: each error has its own translation key, the library's English
stays in the log.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from shared_client.errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerLedgerError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerResponseError,
    HappyFollowerSandboxUnsupportedError,
    HappyFollowerSpendCapError,
    HappyFollowerUnknownServiceError,
)
from shared_client.validation import MAX_WHOLE_NUMBER, to_number

from .const import DOMAIN
from .texts import EXACT_DECIMALS, Language, identifier, isolated, number, unit_name

# Errors the user fixes by changing what they asked for, not by waiting.
_USER_ERRORS = (
    HappyFollowerInputError,
    HappyFollowerSandboxUnsupportedError,
    HappyFollowerSpendCapError,
)


# Errors whose class alone says what to tell the user; subclasses before their bases.
_KEYS: tuple[tuple[type[HappyFollowerError], str], ...] = (
    (HappyFollowerAuthenticationError, "auth_failed"),
    (HappyFollowerOrderOutcomeUnknownError, "order_outcome_unknown"),
    (HappyFollowerNotEnoughCreditError, "not_enough_credit"),
    (HappyFollowerResponseError, "invalid_response"),
    (HappyFollowerSandboxUnsupportedError, "sandbox_unsupported"),
    (HappyFollowerLedgerError, "ledger_error"),
)

# The input policy's fields (HappyFollowerInputError.field) that a person fills in an
# action, each with its own message; an error without one of these is "invalid_input".
INPUT_KEYS: dict[str, str] = {
    "service_id": "invalid_service_id",
    "count": "invalid_count",
    "order_id": "invalid_order_id",
    "link": "invalid_link",
    "unit_price": "invalid_price",
}
_WHOLE_NUMBER_KEYS = frozenset({"invalid_service_id", "invalid_count", "invalid_order_id"})
# Numbers that name something: shown as digits, never grouped.
_IDENTIFIERS = frozenset({"service_id", "order_id"})
# A number typed this long is quoted as text, shortened, not spelled out in full.
_LONGEST_QUOTED_NUMBER = 10**21
# A vendor's message is quoted whole (display-safe), not cut as a name would be.
_MAX_VENDOR_MESSAGE = 300

# Links live in placeholders, not in translation strings (Home Assistant's rule).
EXAMPLE_LINK = "https://www.instagram.com/yourpage/"


def figure(name: str, value: object, language: Language) -> str:
    """A placeholder's value as a person reads it: a number (as typed, Persian digits and
    grouping included) in the language's digits, anything else isolated as it was given."""
    try:
        read = None if isinstance(value, bool) else to_number(value)
    except ValueError:
        read = None
    if read is None or abs(read) >= _LONGEST_QUOTED_NUMBER:
        return isolated(str(value), 40)  # shortened, as typed
    if name in _IDENTIFIERS and isinstance(read, int):
        return identifier(read, language)
    return number(read, language, EXACT_DECIMALS)


def _input_translation(
    err: HappyFollowerInputError, language: Language
) -> tuple[str, dict[str, str]]:
    """The shared input policy refused something; its field says which message. Its
    English reason carries no code: the guard's audit record keeps it."""
    if isinstance(err, HappyFollowerUnknownServiceError):
        return "unknown_service", {}
    key = INPUT_KEYS.get(err.field or "", "invalid_input")
    if key == "invalid_link":
        return key, {"example_link": isolated(EXAMPLE_LINK)}
    if key in _WHOLE_NUMBER_KEYS:
        # The policy's range (validation.positive_int); a cap's is its own refusal.
        return key, {"most": number(MAX_WHOLE_NUMBER, language)}
    return key, {}


def translation_for(
    err: HappyFollowerError, language: Language = "en"
) -> tuple[str, dict[str, str]]:
    """Return the translation key and placeholders that explain ``err`` in ``language``
    (English by default: what the coordinators raise goes to the log)."""
    for kind, key in _KEYS:
        if isinstance(err, kind):
            return key, {}
    if isinstance(err, HappyFollowerRateLimitError):
        # Only the service knows how long to wait; without Retry-After, say no number.
        return (
            ("rate_limited", {})
            if err.retry_after is None
            else ("rate_limited_retry_after", {"retry_after": number(err.retry_after, language)})
        )
    if isinstance(err, HappyFollowerApiError):
        # The service's own message (often Persian): data, quoted in isolates; the client
        # already removed secrets.
        return "api_error", {"message": isolated(err.service_message, _MAX_VENDOR_MESSAGE)}
    if isinstance(err, HappyFollowerSpendCapError):
        # The figures the guard decided with (spent, reserved, the bound, the cap, ...).
        return f"cap_{err.cap}", {
            name: figure(name, value, language) for name, value in err.amounts.items()
        }
    if isinstance(err, HappyFollowerInputError):
        return _input_translation(err, language)
    return "cannot_connect", {}


def to_ha_error(
    err: HappyFollowerError,
    language: Language,
    asked: Mapping[str, object] | None = None,
    *,
    unit: str | None = None,
) -> HomeAssistantError:
    """Return the translated Home Assistant error an action raises for ``err``.

    ``language`` is Home Assistant's system language (``texts.system_language``): Home
    Assistant renders the message on the server in English and in the frontend in the
    person's language, with these placeholders in both. ``asked`` is what the action was
    given (quoted by the messages), ``unit`` the credit's unit; the error's own figures win
    over what was asked, as they are what the guard decided with."""
    key, values = translation_for(err, language)
    placeholders = {name: figure(name, value, language) for name, value in (asked or {}).items()}
    if unit is not None:
        placeholders["unit"] = unit_name(unit, language)
    error_type = ServiceValidationError if isinstance(err, _USER_ERRORS) else HomeAssistantError
    return error_type(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={**placeholders, **values},
    )
