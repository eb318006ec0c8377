"""Map the client's errors to translated Home Assistant errors, in one place."""

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
from shared_client.validation import display_text

from .const import DOMAIN

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


def amount_text(value: float) -> str:
    """An amount as the messages show it: whole numbers without a decimal point, others
    to six places at most, never in exponent notation (a cap in Rial is in the millions)."""
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("0", "-0") else f"{value:g}"


# Links live in placeholders, not in translation strings (Home Assistant's rule).
EXAMPLE_LINK = "https://www.instagram.com/yourpage/"


def _amounts(amounts: Mapping[str, float]) -> dict[str, str]:
    return {name: amount_text(value) for name, value in amounts.items()}


def _input_translation(err: HappyFollowerInputError) -> tuple[str, dict[str, str]]:
    """The shared input policy refused something; say which field in the user's language."""
    if isinstance(err, HappyFollowerUnknownServiceError):
        return "unknown_service", {"details": display_text(err)}
    if err.field == "link":
        return "invalid_link", {"example_link": EXAMPLE_LINK}
    if err.field == "unit_price":
        return "invalid_price", {}
    if err.field is not None:
        return "invalid_number", {"field": err.field}
    return "invalid_input", {"details": display_text(err)}


def translation_for(err: HappyFollowerError) -> tuple[str, dict[str, str]]:
    """Return the translation key and placeholders that explain ``err``."""
    for kind, key in _KEYS:
        if isinstance(err, kind):
            return key, {}
    if isinstance(err, HappyFollowerRateLimitError):
        # Only the service knows how long to wait; without Retry-After, say no number.
        return (
            ("rate_limited", {})
            if err.retry_after is None
            else ("rate_limited_retry_after", {"retry_after": f"{err.retry_after:g}"})
        )
    if isinstance(err, HappyFollowerApiError):
        # The service's own message (often Persian); the client already removed secrets.
        return "api_error", {"message": display_text(err.service_message)}
    if isinstance(err, HappyFollowerSpendCapError):
        # The figures the guard decided with (spent, reserved, the bound, the cap, ...).
        return f"cap_{err.cap}", _amounts(err.amounts)
    if isinstance(err, HappyFollowerInputError):
        return _input_translation(err)
    return "cannot_connect", {}


def to_ha_error(
    err: HappyFollowerError, placeholders: dict[str, str] | None = None
) -> HomeAssistantError:
    """Return the translated Home Assistant error an action raises for ``err``.

    ``placeholders`` are the action's own (what was asked for); the error's figures win
    over them, as they are what the guard decided with."""
    key, values = translation_for(err)
    error_type = ServiceValidationError if isinstance(err, _USER_ERRORS) else HomeAssistantError
    return error_type(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={**(placeholders or {}), **values},
    )
