"""End to end: the README's demo in a real browser (headless Chromium).

The demo runs as the README says (the `happy-follower` command in a subprocess); the browser
logs in to its Home Assistant, finds the dashboard, then an order is placed through the MCP
server and tracked by an action, and the dashboard must show the credit and the order change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from playwright.async_api import Page, async_playwright, expect

from .browser import CHROMIUM_FLAGS, chromium_path, free_port

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 240.0
CHANGE_TIMEOUT_MS = 90_000
# Fast likes (20 a second after 10 s in the queue): progress moves while the test watches.
MCP_ORDER = {"service_id": 11, "link": "https://www.instagram.com/e2e.test", "count": 1000}


def _chromium() -> str:
    """Debian's Chromium (installed by .ci/run); missing is a failure in CI, a skip elsewhere."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


class RunningDemo:
    """`happy-follower demo` in a subprocess, with what its ready file says."""

    def __init__(
        self, process: asyncio.subprocess.Process, access: dict[str, str], language: str = "en"
    ) -> None:
        self.process = process
        self.access = access
        self.language = language

    async def stop(self) -> str:
        """Ctrl-C, as a person would; returns what the demo printed."""
        self.process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(self.process.communicate(), 90)
        return output.decode()

    async def stop_cleanly(self) -> str:
        """Ctrl-C: the demo exits with 0 and leaves no folder or process behind; returns
        what it printed."""
        output = await self.stop()
        assert self.process.returncode == 0, output[-2000:]
        assert _left_behind(self.access["workspace"]) == []
        return output


async def _start_demo(
    tmp_path: Path, ha_port: int, mcp_port: int, *, language: str | None = None
) -> RunningDemo:
    ready = tmp_path / f"ready-{ha_port}-{os.urandom(4).hex()}.json"
    # The `happy-follower` command of this environment: what `uv run happy-follower demo` runs.
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("happy-follower")),
        "demo",
        *(() if language is None else ("--language", language)),
        "--tick",
        "0.01",
        "--ha-port",
        str(ha_port),
        "--mcp-port",
        str(mcp_port),
        "--ready-file",
        str(ready),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while not ready.exists():
        if process.returncode is not None or asyncio.get_running_loop().time() > deadline:
            if process.returncode is None:
                process.kill()
            output, _ = await process.communicate()
            pytest.fail(f"the demo did not become ready:\n{output.decode()[-3000:]}")
        await asyncio.sleep(0.5)
    access = json.loads(ready.read_text(encoding="utf-8"))
    return RunningDemo(process, access, language or "en")


@contextlib.asynccontextmanager
async def running_demo(tmp_path: Path, language: str | None) -> AsyncIterator[RunningDemo]:
    """The demo on free ports, stopped cleanly (Ctrl-C) if the test did not stop it."""
    running = await _start_demo(tmp_path, free_port(), free_port(), language=language)
    try:
        yield running
    finally:
        if running.process.returncode is None:  # the test failed half-way: stop it cleanly
            running.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(running.process.wait(), 90)
            except TimeoutError:
                running.process.kill()
                await running.process.wait()


async def _log_in(page: Page, access: dict[str, str]) -> None:
    await page.goto(access["dashboard_url"])
    await page.get_by_role("textbox", name="Username").fill(access["username"])
    await page.get_by_role("textbox", name="Password").fill(access["password"])
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/happy-follower/"))
    # The frontend stores its tokens a moment after the redirect: read them only once there.
    await page.wait_for_function("localStorage.getItem('hassTokens') !== null")


async def _accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    """The person at the MCP client says yes to the order's summary."""
    assert "1000" in params.message or "1,000" in params.message
    return types.ElicitResult(action="accept", content={"confirm": True})


async def _order_through_mcp(access: dict[str, str]) -> int:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {access['mcp_token']}"})
    async with (
        http,
        Client(
            streamable_http_client(access["mcp_url"], http_client=http),
            elicitation_callback=_accept,
        ) as client,
    ):
        result = await client.call_tool("place_order", MCP_ORDER)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return int(result.structured_content["order_id"])


async def _track_in_home_assistant(access: dict[str, str], token: str, order_id: int) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{access['home_assistant_url']}/api/services/happy_follower/track_order",
            json={"config_entry_id": access["config_entry_id"], "order_id": order_id},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()


def _left_behind(folder: str) -> list[str]:
    """The folder itself if it still exists, and every process that names it."""
    found = [folder] if Path(folder).exists() else []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if folder in text:
            found.append(text)
    return found


async def test_dashboard_follows_an_order_placed_through_mcp(
    demo: RunningDemo, tmp_path: Path
) -> None:
    access = demo.access
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 860})
            await _log_in(page, access)

            # The credit: the first amount of the account's card (its first row).
            account = page.locator("hui-entities-card").first
            credit = (
                account.locator("hui-generic-entity-row")
                .filter(has_text=re.compile(r"[\d,.]+\s+Toman"))
                .first
            )
            await expect(credit).to_be_visible(timeout=CHANGE_TIMEOUT_MS)
            credit_before = await credit.inner_text()
            # What a person reads: the day's spend against the cap and the total, in the
            # credit's unit, and the demo's order named after its number and target, with
            # its service, cost and progress on one card (not "Order 2").
            # (A row's value comes before its name in the page's text.)
            for name in ("Spent in 24 hours", "Left under the cap", "Total spent"):
                await expect(account).to_contain_text(re.compile(rf"[\d,.]+ Toman\s+{name}"))
            # A count has no unit that reads "1 orders".
            await expect(account).to_contain_text(re.compile(r"\d+\s+[^\d]*Active orders"))
            await expect(account).not_to_contain_text(re.compile(r"\d\s*orders"))
            demo_order = page.locator("hui-vertical-stack-card").filter(
                has_text=re.compile(r"#\d+\W+@happy\.follower\.demo")
            )
            await expect(demo_order).to_contain_text("فالوور ایرانی")
            await expect(demo_order).to_contain_text(re.compile(r"4,800 Toman\s+Cost"))
            await expect(demo_order.locator("hui-gauge-card")).to_contain_text("Progress")

            order_id = await _order_through_mcp(access)
            tokens = json.loads(await page.evaluate("localStorage.getItem('hassTokens')"))
            await _track_in_home_assistant(access, tokens["access_token"], order_id)

            # The new order gets its card, and the credit drops by what it cost (20,000).
            # Tracked, not placed here: the service is unknown, the order id stands in.
            order_card = page.locator("hui-vertical-stack-card").filter(
                has_text=re.compile(rf"#{order_id}\W+@e2e\.test")
            )
            await expect(order_card).to_be_visible(timeout=CHANGE_TIMEOUT_MS)
            gauge = order_card.locator("hui-gauge-card")
            await expect(credit).not_to_have_text(credit_before, timeout=CHANGE_TIMEOUT_MS)
            # Its gauge shows a percentage, which then moves as the order is delivered.
            reading = gauge.locator("svg text").first  # the value is drawn as SVG text
            await expect(reading).to_have_text(re.compile(r"\d%"), timeout=CHANGE_TIMEOUT_MS)
            first_reading = (await reading.text_content() or "").strip()
            await expect(reading).not_to_have_text(first_reading, timeout=CHANGE_TIMEOUT_MS)

            screenshot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(screenshot))
            assert screenshot.stat().st_size > 10_000
            if target := os.environ.get("HAPPY_FOLLOWER_SCREENSHOT"):
                shutil.copyfile(screenshot, target)
        finally:
            await browser.close()

    output = await demo.stop_cleanly()
    assert "Stopped; nothing was left behind." in output


async def test_the_demo_starts_again_on_the_same_ports(demo: RunningDemo, tmp_path: Path) -> None:
    """Stopped with Ctrl-C, the demo frees its ports and its folder: a second run on the
    same ports works."""
    access = demo.access
    await demo.stop_cleanly()
    second = await _start_demo(
        tmp_path,
        int(access["home_assistant_url"].rsplit(":", 1)[1]),
        int(access["mcp_url"].split(":")[2].split("/")[0]),
    )
    await second.stop_cleanly()
