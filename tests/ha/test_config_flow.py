"""Config, reauthentication, reconfiguration and options flows, every error and recovery."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.happy_follower.const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_CREDIT_UNIT,
    CONF_ENVIRONMENT,
    CONF_FINAL_RETENTION_HOURS,
    CONF_LOW_CREDIT_THRESHOLD,
    CONF_MAX_COUNT_PER_ORDER,
    CONF_MAX_ORDERS_PER_DAY,
    DOMAIN,
    ENVIRONMENT_LIVE,
    ENVIRONMENT_SANDBOX,
)
from shared_client import LIVE_API_ROOT, SANDBOX_API_ROOT, HappyFollowerClient
from shared_client.simulator import Fault, Simulator

from ..client.test_api_root import LIVE_SPELLINGS, SANDBOX_SPELLINGS
from .conftest import entry_data


def _fail_unexpectedly(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: HappyFollowerClient) -> float:
        raise RuntimeError("boom")

    monkeypatch.setattr(HappyFollowerClient, "get_credit", broken)


# (what breaks, the form error). Each breaks only the next request(s).
FAILURES: list[tuple[str, Any, str]] = [
    ("bad_key", None, "invalid_auth"),
    ("auth", Fault.SERVER_ERROR_HTML, "cannot_connect"),
    ("auth", Fault.RATE_LIMITED, "rate_limited"),
    ("credit", Fault.MALFORMED_JSON, "invalid_response"),
    ("credit", Fault.ERROR_MESSAGE, "service_error"),
    ("bad_root", None, "invalid_api_root"),
    ("unexpected", None, "unknown"),
]


def _break(
    what: str, fault: Any, simulator: Simulator, data: dict[str, Any], mp: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Make the next attempt fail as described; return the data to submit."""
    if what == "bad_key":
        return {**data, CONF_API_KEY: "not-a-key"}
    if what == "bad_root":
        return {**data, CONF_ADVANCED: {CONF_API_ROOT: "ftp://example.com"}}
    if what == "unexpected":
        _fail_unexpectedly(mp)
        return data
    simulator.inject(what, fault, times=3)
    return data


@pytest.mark.parametrize(("what", "fault", "error"), FAILURES)
async def test_user_flow_error_and_recovery(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    what: str,
    fault: Any,
    error: str,
) -> None:
    data = entry_data(simulator, api_key)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {}

    with monkeypatch.context() as mp:
        bad = _break(what, fault, simulator, data, mp)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    simulator.clear_faults()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Happy Follower"
    assert result["data"] == data
    assert hass.config_entries.async_entries(DOMAIN)[0].unique_id.endswith("_live")


async def test_user_flow_sandbox_title(
    hass: HomeAssistant, simulator: Simulator, api_key: str
) -> None:
    data = {
        CONF_API_KEY: api_key,
        CONF_ENVIRONMENT: ENVIRONMENT_SANDBOX,
        CONF_ADVANCED: {CONF_API_ROOT: simulator.sandbox_base_url},
    }
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}, data=data
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Happy Follower (sandbox)"


async def test_user_flow_refuses_same_account(
    hass: HomeAssistant, simulator: Simulator, api_key: str
) -> None:
    data = entry_data(simulator, api_key)
    first = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}, data=data
    )
    assert first["type"] is FlowResultType.CREATE_ENTRY
    calls = len(simulator.requests)
    second = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}, data={**data, CONF_API_KEY: f" {api_key} "}
    )
    assert second["type"] is FlowResultType.ABORT
    assert second["reason"] == "already_configured"
    assert len(simulator.requests) == calls  # refused before any request


@pytest.mark.parametrize(
    ("what", "fault", "error"), [failure for failure in FAILURES if failure[0] != "bad_root"]
)
async def test_reauth_error_recovery_and_success(
    hass: HomeAssistant,
    simulator: Simulator,
    loaded_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    what: str,
    fault: Any,
    error: str,
) -> None:
    new_key = simulator.add_account(credit=50)
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"

    with monkeypatch.context() as mp:
        bad = _break(what, fault, simulator, {CONF_API_KEY: new_key}, mp)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["errors"] == {"base": error}
    simulator.clear_faults()

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: new_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert loaded_entry.data[CONF_API_KEY] == new_key
    assert loaded_entry.data[CONF_ADVANCED] == {CONF_API_ROOT: simulator.base_url}
    await hass.async_block_till_done()
    assert hass.states.get("sensor.happy_follower_credit").state == "50"


async def test_reauth_refuses_key_of_other_entry(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    other_key = simulator.add_account(credit=1)
    other = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}, data=entry_data(simulator, other_key)
    )
    assert other["type"] is FlowResultType.CREATE_ENTRY

    result = await loaded_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: other_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(("what", "fault", "error"), FAILURES)
async def test_reconfigure_error_recovery_and_success(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    what: str,
    fault: Any,
    error: str,
) -> None:
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    sandbox = {
        CONF_API_KEY: api_key,
        CONF_ENVIRONMENT: ENVIRONMENT_SANDBOX,
        CONF_ADVANCED: {CONF_API_ROOT: simulator.sandbox_base_url},
    }
    with monkeypatch.context() as mp:
        bad = _break(what, fault, simulator, sandbox, mp)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["errors"] == {"base": error}
    simulator.clear_faults()

    result = await hass.config_entries.flow.async_configure(result["flow_id"], sandbox)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.data == sandbox
    assert loaded_entry.title == "Happy Follower (sandbox)"
    assert loaded_entry.unique_id.endswith("_sandbox")
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data.client.sandbox


async def test_reconfigure_refuses_other_account(
    hass: HomeAssistant, simulator: Simulator, loaded_entry: MockConfigEntry
) -> None:
    other_key = simulator.add_account(credit=1)
    other_data = entry_data(simulator, other_key)
    await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}, data=other_data
    )
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], other_data)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert loaded_entry.data[CONF_ENVIRONMENT] == ENVIRONMENT_LIVE


async def test_options_flow_error_recovery_and_reload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    credit = hass.states.get("sensor.happy_follower_credit")
    assert credit.attributes["unit_of_measurement"] == "Toman"
    assert "device_class" not in credit.attributes

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["step_id"] == "init"
    options = {
        CONF_CREDIT_UNIT: "   ",
        CONF_LOW_CREDIT_THRESHOLD: 500,
        CONF_MAX_COUNT_PER_ORDER: 1000,
        CONF_MAX_ORDERS_PER_DAY: 3,
        CONF_FINAL_RETENTION_HOURS: 2,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_CREDIT_UNIT: "invalid_unit"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**options, CONF_CREDIT_UNIT: " IRR "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_CREDIT_UNIT] == "IRR"
    assert loaded_entry.options[CONF_MAX_ORDERS_PER_DAY] == 3
    await hass.async_block_till_done()
    # Reloaded: IRR is an ISO 4217 code, so the credit is money now.
    credit = hass.states.get("sensor.happy_follower_credit")
    assert credit.attributes["unit_of_measurement"] == "IRR"
    assert credit.attributes["device_class"] == "monetary"
    assert credit.attributes["state_class"] == "total"
    assert loaded_entry.runtime_data.guard.caps.max_orders_per_day == 3


# --- live or sandbox, from the canonical API root (invariant I13) ---

# A few spellings of each vendor root (host case, :443, trailing dot, no www, doubled
# slashes, an empty fragment, all at once); tests/client/test_api_root.py has them all.
SOME_LIVE = [LIVE_SPELLINGS[i] for i in (2, 4, 5, 6, 7, 10, -1)]
SOME_SANDBOX = [SANDBOX_SPELLINGS[i] for i in (2, 4, 5, 6, 7, 10, -1)]

# (environment, API root, form error): refused before anything is sent.
ROOT_ERRORS: list[tuple[str, str, str]] = [
    *((ENVIRONMENT_SANDBOX, root, "api_root_is_live") for root in SOME_LIVE),
    *((ENVIRONMENT_LIVE, root, "api_root_is_sandbox") for root in SOME_SANDBOX),
    (ENVIRONMENT_LIVE, "https://www.happy-follower.com/api/v2", "api_root_not_vendor_root"),
    (ENVIRONMENT_SANDBOX, "https://api.happy-follower.com/api/v1", "api_root_not_vendor_root"),
    (ENVIRONMENT_LIVE, "http://www.happy-follower.com/api/v1", "api_root_insecure"),
    (ENVIRONMENT_SANDBOX, "http://happy-follower.com/api/sandbox/v1", "api_root_insecure"),
    (ENVIRONMENT_LIVE, "https://user:pw@www.happy-follower.com/api/v1", "api_root_extra_parts"),
    (ENVIRONMENT_LIVE, "http://127.0.0.1:8080/api/v1?x=1", "api_root_extra_parts"),
    (ENVIRONMENT_LIVE, "http://[::1", "invalid_api_root"),  # a 500 with traceback before
    (ENVIRONMENT_LIVE, "http://127.0.0.1:99999/api/v1", "invalid_api_root"),
]


@pytest.mark.parametrize(("environment", "root", "error"), ROOT_ERRORS)
async def test_user_flow_refuses_an_api_root_with_a_form_error(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    environment: str,
    root: str,
    error: str,
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    bad = {
        CONF_API_KEY: api_key,
        CONF_ENVIRONMENT: environment,
        CONF_ADVANCED: {CONF_API_ROOT: root},
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    # The error text names the two roots to write.
    assert result["description_placeholders"]["live_root"] == LIVE_API_ROOT
    assert result["description_placeholders"]["sandbox_root"] == SANDBOX_API_ROOT
    assert simulator.requests == []

    # The chosen environment with the simulator's root (or none of the vendor's) works.
    data = {**bad, CONF_ADVANCED: {CONF_API_ROOT: simulator.base_url}}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == data


@pytest.mark.parametrize(("environment", "root", "error"), ROOT_ERRORS[::3])
async def test_reconfigure_refuses_an_api_root_with_a_form_error(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    environment: str,
    root: str,
    error: str,
) -> None:
    before = dict(loaded_entry.data)
    calls = len(simulator.requests)
    result = await loaded_entry.start_reconfigure_flow(hass)
    bad = {CONF_ENVIRONMENT: environment, CONF_ADVANCED: {CONF_API_ROOT: root}}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": error}
    assert result["description_placeholders"]["sandbox_root"] == SANDBOX_API_ROOT
    assert len(simulator.requests) == calls
    assert dict(loaded_entry.data) == before


@pytest.mark.parametrize("environment", [ENVIRONMENT_LIVE, ENVIRONMENT_SANDBOX])
@pytest.mark.parametrize("sandbox_path", [False, True])
async def test_the_simulators_roots_are_accepted_in_either_environment(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    environment: str,
    sandbox_path: bool,
) -> None:
    """Another host than the vendor's stands for the chosen environment, as before."""
    root = simulator.sandbox_base_url if sandbox_path else simulator.base_url
    data = {
        CONF_API_KEY: api_key,
        CONF_ENVIRONMENT: environment,
        CONF_ADVANCED: {CONF_API_ROOT: root.replace("/api/", "//api//") + "/"},
    }
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}, data=data
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    client = entry.runtime_data.client
    assert (client.base_url, client.sandbox) == (root, environment == ENVIRONMENT_SANDBOX)
    assert {request.sandbox for request in simulator.requests} == {sandbox_path}
