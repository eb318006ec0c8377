"""Config, reauthentication, reconfiguration and options flows of Happy Follower."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
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
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

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

from . import create_client
from .const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
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

# Home Assistant (2026.9+) runs voluptuous as its successor probatio; type-check
# against what runs. Older versions run voluptuous itself, with the same API.
if TYPE_CHECKING:
    import probatio as vol
else:
    import voluptuous as vol

_API_KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
MAX_UNIT_LENGTH = 16


# What the form says when trying the account fails, by the client's error.
_FORM_ERRORS: tuple[tuple[type[HappyFollowerError], str], ...] = (
    (HappyFollowerAuthenticationError, "invalid_auth"),
    (HappyFollowerRateLimitError, "rate_limited"),
    (HappyFollowerConnectionError, "cannot_connect"),
    (HappyFollowerResponseError, "invalid_response"),
    (HappyFollowerApiError, "service_error"),
)


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

    async def _async_test(self, data: dict[str, Any]) -> dict[str, str]:
        """Try the credentials; return form errors (empty when they work)."""
        try:
            client = create_client(self.hass, data)
        except HappyFollowerInputError:
            return {"base": "invalid_api_root"}
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
                return self.async_create_entry(title=_title(user_input), data=user_input)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_account_schema(), user_input),
            errors=errors,
            description_placeholders={"url": SIGNUP_URL},
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
            description_placeholders={"title": entry.title, "url": SIGNUP_URL},
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
                    entry, title=_title(data), unique_id=unique_id, data=data
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
            description_placeholders={"url": SIGNUP_URL, "title": entry.title},
        )


def _whole(minimum: int, maximum: int) -> vol.All[Any]:
    return vol.All(
        NumberSelector(
            NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Coerce(int),
    )


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_CREDIT_UNIT, default=DEFAULT_CREDIT_UNIT): SelectSelector(
            SelectSelectorConfig(
                options=list(CREDIT_UNIT_SUGGESTIONS),
                custom_value=True,
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Required(CONF_LOW_CREDIT_THRESHOLD, default=DEFAULT_LOW_CREDIT_THRESHOLD): vol.All(
            NumberSelector(NumberSelectorConfig(min=0, mode=NumberSelectorMode.BOX)),
            vol.Coerce(float),
        ),
        # Cap defaults: the one set shared with the CLI and the MCP server.
        vol.Required(CONF_MAX_COUNT_PER_ORDER, default=DEFAULT_CAPS.max_count_per_order): _whole(
            1, 10_000_000
        ),
        vol.Required(CONF_MAX_ORDERS_PER_DAY, default=DEFAULT_CAPS.max_orders_per_day): _whole(
            1, 1_000
        ),
        # Empty: no spend cap (the API lists no prices to choose a default from).
        vol.Optional(CONF_MAX_SPEND_PER_DAY): vol.All(
            NumberSelector(NumberSelectorConfig(min=0, mode=NumberSelectorMode.BOX)),
            vol.Coerce(float),
        ),
        vol.Optional(CONF_UNIT_PRICES): TextSelector(TextSelectorConfig(multiline=True)),
        vol.Required(CONF_FINAL_RETENTION_HOURS, default=DEFAULT_FINAL_RETENTION_HOURS): _whole(
            0, 24 * 30
        ),
    }
)


def _options_errors(options: dict[str, Any]) -> dict[str, str]:
    """Form errors of the options: the unit's length, and caps the guard accepts."""
    unit = options[CONF_CREDIT_UNIT]
    if not unit or len(unit) > MAX_UNIT_LENGTH:
        return {CONF_CREDIT_UNIT: "invalid_unit"}
    spend = options.get(CONF_MAX_SPEND_PER_DAY)
    if spend is not None and not 0 < spend < math.inf:
        # Zero or a non-finite amount would turn the cap off without a word.
        return {CONF_MAX_SPEND_PER_DAY: "invalid_amount"}
    try:
        spend_caps(options)
    except (HappyFollowerInputError, ValueError):
        return {CONF_UNIT_PRICES: "invalid_unit_prices"}
    return {}


class HappyFollowerOptionsFlow(OptionsFlowWithReload):
    """Credit unit, low-credit threshold, spending caps, how long final orders stay."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            options = {**user_input, CONF_CREDIT_UNIT: str(user_input[CONF_CREDIT_UNIT]).strip()}
            if not (errors := _options_errors(options)):
                return self.async_create_entry(data=options)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input or self.config_entry.options
            ),
            errors=errors,
        )
