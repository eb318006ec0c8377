"""End to end: a spend cap typed in Persian digits in Home Assistant's options form is saved.

A browser's number box empties "۵۰۰"; the options form must keep it, save it as 500, keep
the saved cap when the field arrives empty (and say so, in Persian), and lift the cap only
when the person types the word for it. The person's language is Persian, set as the
frontend sets it (the user's "language" data), on the README's demo started with
`--language fa`, in headless Chromium.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from demo.stack import PROFILE_LANGUAGE

from .browser import CHROMIUM_FLAGS
from .test_demo_dashboard import (
    RunningDemo,
    _chromium,
    _log_in,
)

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "custom_components" / "happy_follower" / "translations"
SAVE_TIMEOUT = 30.0
# What the frontend saves when a person picks Persian in their profile.
PERSIAN = {**PROFILE_LANGUAGE, "language": "fa"}


def _persian() -> dict[str, Any]:
    options: dict[str, Any] = json.loads((TRANSLATIONS / "fa.json").read_text("utf-8"))["options"]
    return options


async def _set_language(access: dict[str, str], token: str) -> None:
    """The user's language, where the frontend keeps it (its user data on the server)."""
    url = access["home_assistant_url"].replace("http", "ws", 1) + "/api/websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json(
            {"id": 1, "type": "frontend/set_user_data", "key": "language", "value": PERSIAN}
        )
        assert (await ws.receive_json())["success"]


def _saved_options(access: dict[str, str]) -> dict[str, Any]:
    """The config entry's options as Home Assistant stored them."""
    path = Path(access["workspace"]) / "config" / ".storage" / "core.config_entries"
    entries = json.loads(path.read_text("utf-8"))["data"]["entries"]
    entry = next(e for e in entries if e["entry_id"] == access["config_entry_id"])
    options: dict[str, Any] = entry["options"]
    return options


async def _wait_saved(access: dict[str, str], key: str, value: Any) -> dict[str, Any]:
    """Home Assistant writes its storage a moment after the change."""
    deadline = asyncio.get_running_loop().time() + SAVE_TIMEOUT
    while True:
        options = _saved_options(access)
        if key in options and options[key] == value:
            return options
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{key} was not saved as {value!r}: {options}")
        await asyncio.sleep(0.5)


async def _open_options(page: Page) -> Locator:
    entry = page.locator("ha-config-entry-row").first
    # (Home Assistant's Persian frontend leaves this button's label in English.)
    await entry.get_by_role("button", name="Configure").click()
    dialog = page.locator("dialog-data-entry-flow")
    await expect(dialog).to_contain_text(_persian()["step"]["init"]["title"])
    return dialog


async def _expect_shown_in_persian(
    dialog: Locator, persian: dict[str, Any], access: dict[str, str]
) -> dict[str, Any]:
    """The saved options as a Persian system shows them: Persian digits, the unit's
    Persian name, each price line opened by a left-to-right mark (so that it reads
    "service = price" in the right-to-left field)."""
    fields = persian["step"]["init"]["data"]
    spend = dialog.get_by_role("textbox", name=fields["max_spend_per_day"])
    await expect(spend).to_have_value("۱۰۰۰۰")  # the demo's spend cap
    prices = dialog.get_by_role("textbox", name=fields["unit_prices"])
    await expect(prices).to_have_value(re.compile("^\u200e۱۰ = ۲\n\u200e۱۱ = ۳\n"))
    await expect(dialog.get_by_text("تومان", exact=True)).to_be_visible()
    saved = _saved_options(access)
    assert saved["credit_unit"] == "Toman"  # shown as تومان
    return saved


def _screenshot(page_shot: Path, name: str) -> None:
    assert page_shot.stat().st_size > 10_000
    if folder := os.environ.get("HAPPY_FOLLOWER_SCREENSHOT_DIR"):
        shutil.copyfile(page_shot, Path(folder) / name)


async def test_a_persian_spend_cap_is_saved_kept_and_lifted_only_by_the_word(
    demo_fa: RunningDemo, tmp_path: Path
) -> None:
    demo = demo_fa
    access = demo.access
    persian = _persian()
    field_name = persian["step"]["init"]["data"]["max_spend_per_day"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000})
            await _log_in(page, access)
            tokens = json.loads(await page.evaluate("localStorage.getItem('hassTokens')"))
            await _set_language(access, tokens["access_token"])
            await page.goto(
                f"{access['home_assistant_url']}/config/integrations/integration/happy_follower"
            )
            await expect(page.locator("html")).to_have_attribute("lang", "fa")
            await expect(page.locator("html")).to_have_attribute("dir", "rtl")

            # 1. Typed in Persian digits with the Persian thousands separator: saved as 1500.
            dialog = await _open_options(page)
            spend = dialog.get_by_role("textbox", name=field_name)
            saved_before = await _expect_shown_in_persian(dialog, persian, access)
            await spend.fill("۱٬۵۰۰")
            await expect(spend).to_have_value("۱٬۵۰۰")  # a number box would have emptied it
            # The whole form in Persian: the field's description says how to lift the cap.
            await expect(dialog).to_contain_text("بدون سقف")
            shot = tmp_path / "typed.png"
            await page.screenshot(path=str(shot))
            _screenshot(shot, "ha-options-caps-fa.png")
            await dialog.get_by_role("button", name="ارسال").click()
            options = await _wait_saved(access, "max_spend_per_day", 1500)
            # The rest is saved as it was shown, not replaced by defaults: the unit shown as
            # تومان is still Toman, the prices shown in Persian digits the same prices.
            assert {**options, "max_spend_per_day": saved_before["max_spend_per_day"]} == (
                saved_before
            )
            assert options["max_count_per_order"] == 1000
            assert options["max_orders_per_day"] == 10
            await page.reload()  # closes the success dialog, whatever its button is called

            # 2. The field emptied: refused with a Persian error; the saved cap stays.
            dialog = await _open_options(page)
            spend = dialog.get_by_role("textbox", name=field_name)
            await expect(spend).to_have_value("۱۵۰۰")
            await spend.fill("")
            await dialog.get_by_role("button", name="ارسال").click()
            await expect(dialog).to_contain_text(persian["error"]["cap_missing"])
            await expect(spend).to_have_value("۱۵۰۰")  # the saved cap is shown again
            shot = tmp_path / "missing.png"
            await page.screenshot(path=str(shot))
            _screenshot(shot, "ha-options-caps-missing-fa.png")
            assert _saved_options(access)["max_spend_per_day"] == 1500

            # 3. Lifted only by the word.
            await spend.fill("بدون سقف")
            await dialog.get_by_role("button", name="ارسال").click()
            await _wait_saved(access, "max_spend_per_day", None)
        finally:
            await browser.close()

    await demo.stop_cleanly()
