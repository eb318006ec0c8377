"""Issue 18's findings through Home Assistant's own REST and websocket APIs, as the frontend
and an attacker reach them: a form error, never a 500 or a logged traceback; a non-admin's
action refused before anything reaches the vendor; hostile action fields refused likewise."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.happy_follower.const import (
    CONF_ADVANCED,
    CONF_API_ROOT,
    CONF_ENVIRONMENT,
    DOMAIN,
    ENVIRONMENT_LIVE,
)
from shared_client.simulator import Simulator

from .helpers import LINK, place

FLOWS = "/api/config/config_entries/flow"
BAD_ROOTS = (
    "http://[::1",
    "http://127.0.0.1:99999/api/v1",
    "http://127.0.0.1:8080/a\u200bpi/v1",
    "http://127.0.0.1:8080/api/v1\x07",
)


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing of ours logged as an error or with a traceback (Home Assistant's websocket
    layer logs every refused action itself, as it does for core's)."""
    ours = [r for r in caplog.records if r.name.startswith(("custom_components", "shared_client"))]
    assert [r.getMessage() for r in ours if r.levelno >= logging.ERROR] == []
    assert [r.getMessage() for r in ours if r.exc_info] == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]


@pytest.mark.parametrize("root", BAD_ROOTS)
async def test_a_bad_api_root_over_rest_is_a_form_error(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
    root: str,
) -> None:
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    started = await (await client.post(FLOWS, json={"handler": DOMAIN})).json()
    answer = await client.post(
        f"{FLOWS}/{started['flow_id']}",
        json={
            CONF_API_KEY: api_key,
            CONF_ENVIRONMENT: ENVIRONMENT_LIVE,
            CONF_ADVANCED: {CONF_API_ROOT: root},
        },
    )
    assert answer.status == 200
    result = await answer.json()
    assert (result["type"], result["errors"]) == ("form", {"base": "invalid_api_root"})
    assert simulator.requests == []
    assert hass.config_entries.async_entries(DOMAIN) == []
    _no_traceback(caplog)


@pytest.mark.parametrize("root", BAD_ROOTS)
async def test_a_bad_api_root_in_reconfigure_over_rest_keeps_the_entry(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    root: str,
) -> None:
    before = dict(loaded_entry.data)
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    started = await (
        await client.post(FLOWS, json={"handler": DOMAIN, "entry_id": loaded_entry.entry_id})
    ).json()
    assert started["step_id"] == "reconfigure"
    answer = await client.post(
        f"{FLOWS}/{started['flow_id']}",
        json={CONF_ENVIRONMENT: ENVIRONMENT_LIVE, CONF_ADVANCED: {CONF_API_ROOT: root}},
    )
    assert answer.status == 200
    result = await answer.json()
    assert (result["type"], result["errors"]) == ("form", {"base": "invalid_api_root"})
    assert dict(loaded_entry.data) == before
    _no_traceback(caplog)


async def _call(ws: Any, action: str, data: dict[str, Any], entry: MockConfigEntry) -> Any:
    await ws.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": action,
            "service_data": {"config_entry_id": entry.entry_id, **data},
            "return_response": action in ("place_order", "confirm_price"),
        }
    )
    return await ws.receive_json()


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("place_order", {"service_id": 10, "link": LINK, "count": 100}),
        ("cancel_order", {"order_id": 1}),
        ("recheck_order", {"order_id": 1}),
        ("confirm_price", {"service_id": 10, "unit_price": 2}),
        ("track_order", {"order_id": 1}),
        ("untrack_order", {"order_id": 1}),
    ],
)
async def test_a_non_admin_over_the_websocket_is_refused_before_anything_is_sent(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    action: str,
    data: dict[str, Any],
) -> None:
    assert await place(hass, loaded_entry) == 1  # an order an admin tracks
    sent = len(simulator.requests)
    ws = await hass_ws_client(hass, access_token=hass_read_only_access_token)
    answer = await _call(ws, action, data, loaded_entry)
    # Home Assistant's own answer to a non-admin calling an admin action, as for core's.
    assert answer["success"] is False
    assert answer["error"]["message"] == "Unauthorized"
    assert simulator.requests[sent:] == []
    assert 1 in loaded_entry.runtime_data.store.orders
    assert len(simulator.orders(api_key)) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("link", LINK + "\u202e"),
        ("link", "https://www.instagram.com/mehdi\u200bfeizi"),
        ("link", "https://www.instagram.com/p/x\x00y/"),
        ("count", "1e309"),
        ("count", "NaN"),
        ("count", "1\u200b00"),
        ("service_id", "9" * 400),
    ],
)
async def test_a_hostile_field_over_the_websocket_is_refused_before_anything_is_sent(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: str,
) -> None:
    sent = len(simulator.requests)
    ws = await hass_ws_client(hass)
    order = {"service_id": 10, "link": LINK, "count": 100, field: value}
    answer = await _call(ws, "place_order", order, loaded_entry)
    assert answer["success"] is False
    assert answer["error"]["code"] in ("invalid_format", "service_validation_error")
    assert answer["error"]["message"]  # says what was wrong
    assert simulator.requests[sent:] == []
    assert simulator.orders(api_key) == []
    _no_traceback(caplog)
