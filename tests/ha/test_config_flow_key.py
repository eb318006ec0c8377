"""An API key with a line break, NUL or another control character: a form error, no traceback.

Such a key cannot be sent in an HTTP header; it is refused in the form, as the key it is
(copied wrong), in the user, reauthentication and reconfiguration steps, and nothing is
logged as an error (there is no bug to report) nor sent to the service.
"""

from __future__ import annotations

import logging

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.happy_follower.const import DOMAIN
from shared_client.simulator import Simulator

from .conftest import entry_data

HOSTILE = [
    "\r\n",
    "\n",
    "\r",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u200b",
    "\u202e",
    "\u200f",
    "é",
]


def _broken(api_key: str, hostile: str) -> str:
    return api_key[:8] + hostile + api_key[8:]


def _no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r for r in caplog.records if r.exc_info] == []
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_user_step(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
    hostile: str,
) -> None:
    data = entry_data(simulator, api_key)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**data, CONF_API_KEY: _broken(api_key, hostile)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert simulator.requests == []
    _no_error_logged(caplog)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_reauth_step(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    hostile: str,
) -> None:
    new_key = simulator.add_account(credit=50)
    result = await loaded_entry.start_reauth_flow(hass)
    sent = len(simulator.requests)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: _broken(new_key, hostile)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert len(simulator.requests) == sent
    _no_error_logged(caplog)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: new_key}
    )
    assert result["reason"] == "reauth_successful"


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_reconfigure_step(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    hostile: str,
) -> None:
    data = entry_data(simulator, api_key)
    result = await loaded_entry.start_reconfigure_flow(hass)
    sent = len(simulator.requests)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**data, CONF_API_KEY: _broken(api_key, hostile)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert len(simulator.requests) == sent
    _no_error_logged(caplog)
    assert loaded_entry.data[CONF_API_KEY] == api_key
