"""A vendor error echoing tokens the integration replaced long ago reaches no action's error,
log line, diagnostics or ledger line in Home Assistant."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from shared_client.simulator import Fault, Simulator

from ..mcp.test_old_token_echo import credentials_sent
from .helpers import LINK, call, place


async def test_an_echoed_old_token_stays_out_of_errors_logs_diagnostics_and_ledger(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    order_id = await place(hass, loaded_entry)  # authenticated: token 1
    simulator.expire_tokens()
    await call(hass, loaded_entry, "recheck_order", order_id=order_id)  # refreshed: token 2
    simulator.expire_tokens()
    simulator.expire_refresh_tokens()
    await call(hass, loaded_entry, "recheck_order", order_id=order_id)  # again: token 3
    held = credentials_sent(simulator)
    old = [secret for secret in held if secret != api_key][:3]
    assert len(old) == 3  # token 1, its refresh token, token 2
    echo = " ".join(f"request {secret} rejected" for secret in old)
    errors: list[str] = []
    for endpoint, action, data in (
        ("status", "recheck_order", {"order_id": order_id}),
        ("status", "get_order_status", {"order_id": order_id}),
        ("order", "place_order", {"service_id": 10, "link": LINK, "count": 50}),
    ):
        simulator.inject(endpoint, Fault.ERROR_MESSAGE, message=echo)
        with pytest.raises(HomeAssistantError) as refused:
            await call(hass, loaded_entry, action, action != "recheck_order", **data)
        errors.append(f"{refused.value} {refused.value.translation_placeholders}")
    assert all("request *** rejected" in text for text in errors)
    diagnostics = json.dumps(
        await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    )
    ledger_file = Path(loaded_entry.runtime_data.guard.ledger.path)
    ledger = await hass.async_add_executor_job(ledger_file.read_text, "utf-8")
    assert "rejected" in ledger  # the refused order's reason, redacted
    for secret in held:
        for text in (*errors, caplog.text, diagnostics, ledger):
            assert secret not in text
