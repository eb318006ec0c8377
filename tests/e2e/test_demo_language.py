"""End to end: `happy-follower demo --language fa` (and en) in a real browser.

The whole demo in one language, Home Assistant's system language included (one demo and
one logged-in browser page per language, shared by the module's checks): the dashboard
(the day's spend against the cap, each order's cost beside its progress), the place-order
action form with a spend-cap refusal, the options form and an order's device page. Each
is checked as a reader of that language sees it (in Persian: no Latin letters but the
Instagram handle, Persian digits) and saved as a screenshot for docs/ when
HAPPY_FOLLOWER_SCREENSHOT_DIR names a folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Locator, Page, async_playwright, expect

from .browser import CHROMIUM_FLAGS
from .test_demo_dashboard import (
    CHANGE_TIMEOUT_MS,
    RunningDemo,
    _chromium,
    _log_in,
    running_demo,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "custom_components" / "happy_follower" / "translations"
DEMO_HANDLE = "@happy.follower.demo"
# Home Assistant's own words for what the test clicks, as its frontend shows them.
FRONTEND = {
    "en": {"action": "Action", "search": "Search", "perform": "Perform action"},
    "fa": {"action": "اقدام", "search": "جستجو", "perform": "اجرای عملیات"},
}
# The order refused: 1,000 followers at 8 a unit is 8,000, above what the demo's cap of
# 10,000 leaves after its first order (600 followers: 4,800).
REFUSED = {"service_id": "20", "link": "https://www.instagram.com/happy.follower.demo"}
REFUSED_COUNT = {"en": "1000", "fa": "۱۰۰۰"}  # as a person types it
AMOUNTS = {
    "en": ("8,000", "4,800", "5,200", "10,000"),
    "fa": ("۸٬۰۰۰", "۴٬۸۰۰", "۵٬۲۰۰", "۱۰٬۰۰۰"),
}
UNIT = {"en": "Toman", "fa": "تومان"}
SPEND_CAP = {"en": "10000", "fa": "۱۰۰۰۰"}  # as the options form shows it
ACCOUNT = {"en": "Happy Follower", "fa": "هپی فالوور"}  # the demo's name of the account
LATIN = re.compile(r"[A-Za-z0-9]")


def _translations(language: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))
    return data


def _sensor_name(language: str, key: str) -> str:
    return str(_translations(language)["entity"]["sensor"][key]["name"])


def _screenshot(shot: Path, name: str) -> None:
    assert shot.stat().st_size > 10_000
    if folder := os.environ.get("HAPPY_FOLLOWER_SCREENSHOT_DIR"):
        shutil.copyfile(shot, Path(folder) / name)


async def _assert_persian(locator: Locator, *, allowed: tuple[str, ...] = ()) -> None:
    """What a Persian reader sees there has no Latin letters or digits, but ``allowed``."""
    text = await locator.inner_text()
    for part in allowed:
        text = text.replace(part, "")
    assert not LATIN.search(text), f"English or Latin digits in Persian text: {text!r}"


async def _websocket(access: dict[str, str], token: str, message: dict[str, Any]) -> Any:
    url = access["home_assistant_url"].replace("http", "ws", 1) + "/api/websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"id": 1, **message})
        answer = await ws.receive_json()
        assert answer["success"], answer
        return answer["result"]


async def _check_dashboard(page: Page, language: str, shots: Path) -> None:
    await expect(page.locator("html")).to_have_attribute("lang", language)
    if language == "fa":
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    account = page.locator("hui-entities-card").first
    await expect(account).to_be_visible(timeout=CHANGE_TIMEOUT_MS)  # the demo writes it
    unit = UNIT[language]
    for key in ("credit", "spent_24h", "spend_left_24h", "spent", "active_orders"):
        await expect(account).to_contain_text(_sensor_name(language, key))
    spent, left = AMOUNTS[language][1], AMOUNTS[language][2]
    await expect(account).to_contain_text(f"{spent} {unit}", timeout=CHANGE_TIMEOUT_MS)
    await expect(account).to_contain_text(f"{left} {unit}")
    # The demo's order: its number and target first, its service, cost and progress.
    order = page.locator("hui-vertical-stack-card").filter(has_text=DEMO_HANDLE)
    await expect(order).to_contain_text("فالوور ایرانی")
    await expect(order).to_contain_text(f"{spent} {unit}")
    await expect(order).to_contain_text(_sensor_name(language, "order_cost"))
    await expect(order.locator("hui-gauge-card")).to_contain_text(
        _sensor_name(language, "order_progress")
    )
    # Spend on its own graph, not on the credit's.
    graphs = page.locator("hui-history-graph-card")
    await expect(graphs.filter(has_text=_sensor_name(language, "spent_24h"))).to_have_count(1)
    if language == "fa":
        await _assert_persian(account)
        await _assert_persian(order, allowed=(DEMO_HANDLE[1:],))
        await expect(page.locator("hui-masonry-view")).not_to_contain_text("Happy Follower")
    # Shown once the order is under way (the demo reads its status every 10 s).
    reading = order.locator("hui-gauge-card svg text").first
    await expect(reading).to_have_text(re.compile(r"[1-9۱-۹]"), timeout=CHANGE_TIMEOUT_MS)
    shot = shots / "dashboard.png"
    await page.screenshot(path=str(shot))
    _screenshot(shot, f"ha-dashboard-{language}.png")


async def _check_refusal(page: Page, access: dict[str, str], language: str, shots: Path) -> None:
    """The place-order action, filled in as a person does, is refused by the spend cap
    with what was spent, what is left and what this order could cost."""
    words = FRONTEND[language]
    await page.goto(f"{access['home_assistant_url']}/developer-tools/action")
    await page.get_by_text(words["action"], exact=True).first.click()
    # (Typed into the page, keys would be Home Assistant's shortcuts: into the search box.)
    await page.get_by_placeholder(words["search"], exact=True).fill("happy_follower.place_order")
    # The action's own name in the list, as the integration's translation gives it.
    name = _translations(language)["services"]["place_order"]["name"]
    await page.get_by_text(name, exact=True).first.click()
    form = page.locator("ha-service-control")
    await form.get_by_text("Integration").click()  # (Home Assistant's word in Persian too)
    await page.get_by_text(ACCOUNT[language], exact=True).last.click()
    fields = _translations(language)["services"]["place_order"]["fields"]

    def field(key: str) -> Locator:
        row = form.locator("ha-settings-row").filter(has_text=fields[key]["name"])
        return row.locator("input").first

    typed = {**REFUSED, "count": REFUSED_COUNT[language]}
    # The form redraws (emptied) a moment after the account is chosen: type again until
    # what was typed stays, as a person would.
    for _ in range(20):
        for key, value in typed.items():
            if await field(key).input_value() != value:
                await field(key).fill(value)
        await page.wait_for_timeout(500)
        if all([await field(key).input_value() == value for key, value in typed.items()]):
            break
    for key, value in typed.items():
        await expect(field(key)).to_have_value(value)
    await page.get_by_role("button", name=words["perform"]).click()
    alert = page.locator("ha-alert").last
    bound, spent, room, cap = AMOUNTS[language]
    for amount in (bound, spent, room, cap):
        await expect(alert).to_contain_text(f"{amount} {UNIT[language]}")
    if language == "fa":
        await _assert_persian(alert)
    else:
        await expect(alert).to_contain_text("Nothing was sent")
    shot = shots / "refused.png"
    await page.screenshot(path=str(shot), full_page=True)
    _screenshot(shot, f"ha-place-order-refused-{language}.png")


async def _check_options(page: Page, access: dict[str, str], language: str, shots: Path) -> None:
    options = _translations(language)["options"]["step"]["init"]
    await page.goto(
        f"{access['home_assistant_url']}/config/integrations/integration/happy_follower"
    )
    entry = page.locator("ha-config-entry-row").first
    # (Home Assistant's Persian frontend leaves this button's label in English.)
    await entry.get_by_role("button", name="Configure").click()
    dialog = page.locator("dialog-data-entry-flow")
    await expect(dialog).to_contain_text(options["title"])
    spend = dialog.get_by_role("textbox", name=options["data"]["max_spend_per_day"])
    await expect(spend).to_have_value(SPEND_CAP[language])  # the demo's spend cap
    # The unit's picker shows the unit by its name in the language (Toman: تومان).
    await expect(dialog.get_by_text(UNIT[language], exact=True)).to_be_visible()
    prices = dialog.get_by_role("textbox", name=options["data"]["unit_prices"])
    await expect(prices).to_have_value(re.compile("="))
    # Each price line as the field shows it: the service on the left, the price on the
    # right, in the right-to-left form too (measured in the browser's own layout).
    assert await _price_lines_read_left_to_right(prices), await prices.input_value()
    if language == "fa":
        assert LATIN.search(await prices.input_value()) is None  # Persian digits
    await prices.scroll_into_view_if_needed()  # the screenshot shows the prices too
    shot = shots / "options.png"
    await page.screenshot(path=str(shot))
    _screenshot(shot, f"ha-options-{language}.png")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    # Closing it goes back in the page's history (Home Assistant pushed a state naming the
    # dialog): until that step is done, the next page opened would be left for this one
    # (the device page's check found the integration's page, twice in CI under load).
    await page.wait_for_function("() => !(history.state && history.state.dialog)")


async def _price_lines_read_left_to_right(prices: Locator) -> bool:
    """Whether each line of the unit prices field shows "service = price" from left to
    right: its text laid out by Chromium in a block of the field's direction and font,
    where the service's digits end left of the price's."""
    return bool(
        await prices.evaluate(
            """field => {
                const style = getComputedStyle(field);
                const block = document.createElement("div");
                block.dir = style.direction;
                Object.assign(block.style, {
                    position: "absolute", whiteSpace: "pre", font: style.font,
                    direction: style.direction, width: "600px",
                });
                document.body.append(block);
                try {
                    return field.value.split(String.fromCharCode(10)).every(line => {
                        block.textContent = line;
                        const text = block.firstChild;
                        const equals = line.indexOf("=");
                        const rect = (start, end) => {
                            const range = document.createRange();
                            range.setStart(text, start);
                            range.setEnd(text, end);
                            return range.getBoundingClientRect();
                        };
                        // Centres: the parts' edges touch, within a fraction of a pixel.
                        const centre = (start, end) => {
                            const box = rect(start, end);
                            return (box.left + box.right) / 2;
                        };
                        const sign = centre(equals, equals + 1);
                        return centre(0, equals) < sign && sign < centre(equals + 1, line.length);
                    });
                } finally {
                    block.remove();
                }
            }"""
        )
    )


async def _check_order_device(
    page: Page, access: dict[str, str], token: str, language: str, shots: Path
) -> None:
    devices = await _websocket(access, token, {"type": "config/device_registry/list"})
    order = next(
        device
        for device in devices
        if access["config_entry_id"] in device["config_entries"]
        and DEMO_HANDLE in (device["name"] or "")
    )
    await page.goto(f"{access['home_assistant_url']}/config/devices/device/{order['id']}")
    sensors = page.locator("ha-device-entities-card").first
    for key in ("order_status", "order_progress", "order_cost"):
        await expect(sensors).to_contain_text(_sensor_name(language, key))
    await expect(sensors).to_contain_text(UNIT[language])
    if language == "fa":
        await _assert_persian(sensors)
    shot = shots / "device.png"
    await page.screenshot(path=str(shot))
    _screenshot(shot, f"ha-order-device-{language}.png")


@dataclass
class Visit:
    """The running demo in one language and a browser page logged in to its Home
    Assistant, shared by the checks below (in file order: the dashboard last, so that the
    demo's order moves meanwhile)."""

    demo: RunningDemo
    page: Page
    token: str

    @property
    def access(self) -> dict[str, str]:
        return self.demo.access

    @property
    def language(self) -> str:
        return self.demo.language


# One demo per language, on one worker (CI runs `-n 2 --dist loadgroup`).
@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=[
        pytest.param("en", marks=pytest.mark.xdist_group("demo_en")),
        pytest.param("fa", marks=pytest.mark.xdist_group("demo_fa")),
    ],
)
async def visit(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Visit]:
    """The demo started with `--language en`, then with `--language fa`; stopped with
    Ctrl-C at the end, cleanly and leaving nothing behind."""
    if request.config.pluginmanager.hasplugin("socket"):
        # As the root conftest's per-test fixture does, which runs after this one.
        import pytest_socket

        pytest_socket.enable_socket()
    async with running_demo(tmp_path_factory.mktemp("demo"), request.param) as demo:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=_chromium(), args=CHROMIUM_FLAGS
            )
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 1000})
                await _log_in(page, demo.access)
                tokens = json.loads(await page.evaluate("localStorage.getItem('hassTokens')"))
                yield Visit(demo, page, tokens["access_token"])
            finally:
                await browser.close()
        await demo.stop_cleanly()


@pytest_asyncio.fixture(loop_scope="module", autouse=True)
async def _threads_end_with_each_test() -> AsyncIterator[None]:
    """The module's event loop outlives each test: each gets its own default executor, shut
    down at its end, so that no thread it started (Playwright writing a screenshot) outlives
    it (Home Assistant's test plugin checks)."""
    executor = ThreadPoolExecutor(thread_name_prefix="test-executor")
    asyncio.get_running_loop().set_default_executor(executor)
    yield
    executor.shutdown(wait=True)


async def test_home_assistant_speaks_the_language(visit: Visit) -> None:
    config = await _websocket(visit.access, visit.token, {"type": "get_config"})
    assert config["language"] == visit.language  # Home Assistant's system language


async def test_a_spend_cap_refusal(visit: Visit, tmp_path: Path) -> None:
    await _check_refusal(visit.page, visit.access, visit.language, tmp_path)


async def test_the_options_form(visit: Visit, tmp_path: Path) -> None:
    await _check_options(visit.page, visit.access, visit.language, tmp_path)


async def test_an_orders_device_page(visit: Visit, tmp_path: Path) -> None:
    await _check_order_device(visit.page, visit.access, visit.token, visit.language, tmp_path)


async def test_the_dashboard(visit: Visit, tmp_path: Path) -> None:
    await visit.page.goto(visit.access["dashboard_url"])
    await _check_dashboard(visit.page, visit.language, tmp_path)


@pytest.mark.asyncio(loop_scope="function")
async def test_demo_help_describes_the_language() -> None:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("happy-follower")),
        "demo",
        "--help",
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    text = " ".join(output.decode().split())
    assert process.returncode == 0
    assert "--language {en,fa}" in text
    assert "Home Assistant's language in the demo" in text
