"""The MCP App in a real browser: the official ext-apps host bridge, the server's ui:// pages.

A small host page (host.ts, bundled with esbuild from the pinned npm project beside this
file) runs ext-apps' ``AppBridge`` in headless Chromium and loads the page the server
names in a tool's ``_meta.ui.resourceUri`` into a sandboxed iframe. The View's tool calls
go through the documented postMessage bridge to the page and from there to an MCP client
of the real server on the simulator. The test reads the card as a person would.

``HAPPY_FOLLOWER_APP_SCREENSHOTS=docs`` writes the screenshots of docs/mcp.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client import advertise
from mcp.client.session import ClientRequestContext
from playwright.async_api import FrameLocator, Page, async_playwright, expect

from mcp_server import Settings, build_server, open_backend
from mcp_server.app import cards
from shared_client.simulator import DEFAULT_SERVICES, SimulatedService, Simulator

HERE = Path(__file__).resolve().parent
HOST_ORIGIN = "http://mcp-app-host.test"
INDEX = (HERE / "index.html").read_bytes()
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APPS = advertise("io.modelcontextprotocol/ui", {"mimeTypes": ["text/html;profile=mcp-app"]})
APP_TOOLS = {"app_order_card", "app_account"}
ORDER = {"service_id": 11, "link": "https://www.instagram.com/happy.follower.demo", "count": 1000}
SERVICE_NAME = "لایک ایرانی(سرعت بالا)"  # service 11 of the simulator: 20 likes a second
TIMEOUT_MS = 15_000

# What a host passes as its style variables (a subset of the spec's keys), per theme.
LIGHT = {
    "--color-background-primary": "#ffffff",
    "--color-background-secondary": "#f4f4f5",
    "--color-background-tertiary": "#e4e4e7",
    "--color-text-primary": "#18181b",
    "--color-text-secondary": "#52525b",
    "--color-text-info": "#2563eb",
    "--color-text-success": "#15803d",
    "--color-background-success": "#dcfce7",
    "--color-background-info": "#dbeafe",
    "--color-border-secondary": "#e4e4e7",
    "--border-radius-md": "10px",
}
DARK = {
    "--color-background-primary": "#1f1f23",
    "--color-background-secondary": "#2a2a30",
    "--color-background-tertiary": "#3a3a42",
    "--color-text-primary": "#f4f4f5",
    "--color-text-secondary": "#a1a1aa",
    "--color-text-info": "#60a5fa",
    "--color-text-success": "#4ade80",
    "--color-background-success": "#14532d",
    "--color-background-info": "#1e3a8a",
    "--color-border-secondary": "#3f3f46",
    "--border-radius-md": "10px",
}


def _needed(what: str, hint: str) -> None:
    """Missing tooling is a failure in CI and a skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing; {hint}")
    pytest.skip(f"{what} is missing ({hint})")


def _chromium() -> str:
    path = os.environ.get("HAPPY_FOLLOWER_CHROMIUM") or shutil.which("chromium")
    if path is None:
        _needed("chromium", ".ci/run installs Debian's package: apt-get install chromium")
    return str(path)


@pytest.fixture(scope="module")
def host_bundle(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """host.ts and ext-apps bundled for the browser by the project's pinned esbuild."""
    esbuild = HERE / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        _needed("the npm project tests/e2e/mcp_app", "run `npm ci` in tests/e2e/mcp_app")
    out = tmp_path_factory.mktemp("host") / "host.js"
    command = [str(esbuild), "host.ts", "--bundle", "--format=esm", "--platform=browser"]
    subprocess.run(
        [*command, "--target=es2022", "--log-level=warning", f"--outfile={out}"],
        cwd=HERE,
        check=True,
        timeout=120,
    )
    return out.read_bytes()


async def _accept(
    context: ClientRequestContext, params: types.ElicitRequestParams
) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


def _wire(result: types.CallToolResult) -> dict[str, Any]:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


@dataclass
class Host:
    """The host page in Chromium, with the MCP client its bridge forwards to."""

    page: Page
    client: Client
    simulator: Simulator
    tools: dict[str, types.Tool]
    forwarded: list[str]

    @property
    def app(self) -> FrameLocator:
        return self.page.frame_locator("iframe")

    async def show(
        self,
        tool: str,
        arguments: dict[str, Any],
        result: dict[str, Any],
        capabilities: dict[str, Any] | None = None,
        **context: Any,
    ) -> None:
        """Render ``tool``'s result as a host does: read the page its _meta names, load it."""
        uri = (self.tools[tool].meta or {})["ui"]["resourceUri"]
        read = await self.client.read_resource(uri)
        page = read.contents[0]
        assert isinstance(page, types.TextResourceContents)
        assert page.mime_type == "text/html;profile=mcp-app"
        await self.page.evaluate(
            "([html, args, result, context, capabilities]) =>"
            " window.host.show(html, args, result, context, capabilities ?? undefined)",
            [page.text, arguments, result, _context(**context), capabilities],
        )

    async def set_context(self, **context: Any) -> None:
        await self.page.evaluate("(c) => window.host.setHostContext(c)", _context(**context))

    async def screenshot(self, name: str) -> None:
        """The conversation column, written to $HAPPY_FOLLOWER_APP_SCREENSHOTS/name if set."""
        shot = await self.page.locator("#conversation").screenshot()
        assert len(shot) > 5_000
        if folder := os.environ.get("HAPPY_FOLLOWER_APP_SCREENSHOTS"):
            (Path(folder) / name).write_bytes(shot)


def _context(theme: str = "light", locale: str = "en-US") -> dict[str, Any]:
    variables = DARK if theme == "dark" else LIGHT
    return {"theme": theme, "locale": locale, "styles": {"variables": variables}, "platform": "web"}


@asynccontextmanager
async def _host(
    host_bundle: bytes, tmp_path: Path, services: list[SimulatedService] | None = None
) -> AsyncIterator[Host]:
    async with Simulator(services=services) as simulator:
        api_key = simulator.add_account(credit=100_000)
        settings = Settings(api_key=api_key, ledger=tmp_path / "ledger.jsonl")
        async with (
            open_backend(settings, base_url=simulator.base_url) as backend,
            Client(
                build_server(backend), extensions=[APPS], elicitation_callback=_accept
            ) as client,
            async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch(
                executable_path=_chromium(), args=CHROMIUM_FLAGS
            )
            try:
                page = await browser.new_page(viewport={"width": 640, "height": 720})
                forwarded: list[str] = []
                console: list[str] = []
                page.on("console", lambda message: console.append(message.text))
                await _serve_host(page, host_bundle)
                await page.expose_function("hostCallTool", _forward(client, forwarded))
                await page.goto(f"{HOST_ORIGIN}/index.html")
                await page.wait_for_function("window.host !== undefined")
                tools = {tool.name: tool for tool in (await client.list_tools()).tools}
                yield Host(page, client, simulator, tools, forwarded)
                # The page's CSP blocked nothing of its own (a wrong hash would drop the
                # script or, silently, the style).
                assert not [text for text in console if "Content Security Policy" in text]
            finally:
                await browser.close()


async def _serve_host(page: Page, host_bundle: bytes) -> None:
    """The host page from memory; every other request is refused (no network at all)."""
    files = {
        f"{HOST_ORIGIN}/index.html": (INDEX, "text/html"),
        f"{HOST_ORIGIN}/host.js": (host_bundle, "text/javascript"),
    }

    async def route(request_route: Any) -> None:
        found = files.get(request_route.request.url)
        if found is None:
            await request_route.abort()
        else:
            await request_route.fulfill(body=found[0], content_type=found[1])

    await page.route("**/*", route)


def _forward(
    client: Client, forwarded: list[str]
) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    """The host's side of tools/call: the View's request, sent to the server."""

    async def call(params: dict[str, Any]) -> dict[str, Any]:
        forwarded.append(params["name"])
        return _wire(await client.call_tool(params["name"], params.get("arguments") or {}))

    return call


def _figure(app: FrameLocator, name: str) -> Any:
    return app.locator(f".figure.{name} .value")


async def _number(app: FrameLocator, name: str) -> int:
    return int(re.sub(r"\D", "", await _figure(app, name).inner_text()))


@pytest.fixture
def fast_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """The card's polite 10 s, shortened so the test watches several refreshes."""
    monkeypatch.setattr(cards, "REFRESH_SECONDS", 0.5)


@pytest.mark.usefixtures("fast_refresh")
async def test_order_card_follows_an_order_to_its_end(host_bundle: bytes, tmp_path: Path) -> None:
    async with _host(host_bundle, tmp_path) as host:
        placed = await host.client.call_tool("place_order", ORDER)
        assert not placed.is_error, placed.content
        await host.show("place_order", ORDER, _wire(placed))
        app = host.app

        # What a person reads: the service, the target, the count, not started yet.
        await expect(app.locator(".title")).to_have_text(SERVICE_NAME, timeout=TIMEOUT_MS)
        await expect(app.locator(".target")).to_have_text("@happy.follower.demo")
        await expect(app.locator(".target-kind")).to_have_text("Profile")
        await expect(app.locator(".figure").nth(0).locator(".value")).to_have_text("1,000")
        await expect(app.locator(".figure").nth(3).locator(".value")).to_have_text("3,000")
        await expect(app.locator(".chip")).to_have_text("In progress")
        assert await _number(app, "delivered") == 0
        await expect(app.locator("html")).to_have_attribute("dir", "ltr")

        # The simulator delivers; the card follows on its own, and the bar grows.
        host.simulator.advance(20)  # 10 s waiting, then 20 likes a second
        await expect(_figure(app, "delivered")).not_to_have_text("0", timeout=TIMEOUT_MS)
        first = await _number(app, "delivered")
        assert 0 < first < 1000
        host.simulator.advance(10)
        await expect(_figure(app, "delivered")).not_to_have_text(
            re.compile(rf"^{first:,}$"), timeout=TIMEOUT_MS
        )
        assert first < await _number(app, "delivered") < 1000
        width = await app.locator(".fill").evaluate("e => e.style.width")
        assert 0 < float(width.rstrip("%")) < 100
        await host.screenshot("mcp-app-order-en-light.png")

        # The end: final chip, the vendor's title, everything delivered, no more refreshes.
        host.simulator.advance(120)
        await expect(app.locator(".chip")).to_have_text("Final", timeout=TIMEOUT_MS)
        await expect(app.locator(".status-title")).to_have_text("تکمیل شده")
        await expect(_figure(app, "delivered")).to_have_text("1,000")
        await expect(_figure(app, "remaining")).to_have_text("0")
        await expect(app.locator(".footer")).to_have_text("Final: this card no longer updates.")
        calls = len(host.forwarded)
        await asyncio.sleep(2)  # four refresh intervals
        assert len(host.forwarded) == calls
        # The View called nothing but its read-only app tool: no order can start there.
        assert set(host.forwarded) == {"app_order_card"}
        assert await host.page.evaluate("window.host.calls") == host.forwarded


@pytest.mark.usefixtures("fast_refresh")
async def test_order_card_in_persian_and_dark_follows_the_host(
    host_bundle: bytes, tmp_path: Path
) -> None:
    async with _host(host_bundle, tmp_path) as host:
        placed = await host.client.call_tool("place_order", ORDER)
        host.simulator.advance(30)
        status = await host.client.call_tool("get_order_status", {"order_id": 1})
        assert placed.structured_content is not None
        await host.show("get_order_status", {"order_id": 1}, _wire(status), locale="fa-IR")
        app = host.app

        await expect(app.locator(".title")).to_have_text(SERVICE_NAME, timeout=TIMEOUT_MS)
        await expect(app.locator("html")).to_have_attribute("dir", "rtl")
        await expect(app.locator("html")).to_have_attribute("lang", "fa")
        await expect(app.locator(".figure.delivered .label")).to_have_text("تحویل‌شده")
        await expect(app.locator(".chip")).to_have_text("فعال")
        await expect(app.locator(".status-title")).to_have_text("در حال انجام")
        await expect(app.locator(".target")).to_have_text("@happy.follower.demo")
        await expect(app.locator(".target")).to_have_attribute("dir", "ltr")
        await expect(app.locator(".title bdi")).to_have_attribute("dir", "auto")
        await expect(app.locator(".title")).to_have_css("text-align", "start")
        # Persian digits for the count (۱٬۰۰۰).
        await expect(app.locator(".figure").first.locator(".value")).to_have_text("۱٬۰۰۰")
        await expect(app.locator("body")).to_have_css("background-color", "rgb(255, 255, 255)")
        await host.screenshot("mcp-app-order-fa-light.png")

        # The host switches to dark: the page takes the host's variables at once.
        await host.set_context(theme="dark", locale="fa-IR")
        await expect(app.locator("html")).to_have_attribute("data-theme", "dark")
        await expect(app.locator("body")).to_have_css("background-color", "rgb(31, 31, 35)")
        await host.screenshot("mcp-app-order-fa-dark.png")

        await host.set_context(theme="dark", locale="en-US")
        await expect(app.locator("html")).to_have_attribute("dir", "ltr")
        await expect(app.locator(".figure.delivered .label")).to_have_text("Delivered")
        await host.screenshot("mcp-app-order-en-dark.png")

        # Teardown stops the refreshing.
        await host.page.evaluate("window.host.teardown()")
        calls = len(host.forwarded)
        await asyncio.sleep(1.5)
        assert len(host.forwarded) == calls


async def test_account_view_shows_credit_caps_and_orders(
    host_bundle: bytes, tmp_path: Path
) -> None:
    async with _host(host_bundle, tmp_path) as host:
        await host.client.call_tool("place_order", ORDER)
        post = "https://www.instagram.com/p/C0dE12x/"
        await host.client.call_tool("place_order", {**ORDER, "link": post})
        host.simulator.advance(30)
        listed = await host.client.call_tool("list_orders", {})
        await host.show("list_orders", {}, _wire(listed))
        app = host.app

        await expect(app.locator(".credit-value")).to_have_text("94,000", timeout=TIMEOUT_MS)
        caps = app.locator(".cap .value")
        await expect(caps.nth(0)).to_have_text("2 of 10")
        await expect(caps.nth(1)).to_have_text(re.compile(r"^6,000 \(no cap\)$"))
        lines = app.locator(".order-line")
        await expect(lines).to_have_count(2)
        await expect(lines.nth(0).locator(".line-service")).to_have_text(SERVICE_NAME)
        await expect(lines.nth(0).locator(".target")).to_have_text("C0dE12x")
        await expect(lines.nth(1).locator(".target")).to_have_text("@happy.follower.demo")
        await expect(lines.nth(0).locator(".chip")).to_have_text("In progress")
        await expect(lines.nth(0).locator(".status-title")).to_have_text("در حال انجام")
        await host.screenshot("mcp-app-account-en-light.png")
        assert host.forwarded == ["app_account"]

        await host.set_context(theme="dark", locale="fa-IR")
        await expect(app.locator(".cap .value").nth(0)).to_have_text("۲ از ۱۰")
        await host.screenshot("mcp-app-account-fa-dark.png")


async def test_host_that_cannot_forward_tool_calls_still_shows_the_result(
    host_bundle: bytes, tmp_path: Path
) -> None:
    async with _host(host_bundle, tmp_path) as host:
        await host.client.call_tool("place_order", ORDER)
        host.simulator.advance(20)
        status = await host.client.call_tool("get_order_status", {"order_id": 1})
        await host.show("get_order_status", {"order_id": 1}, _wire(status), {"logging": {}})
        app = host.app
        await expect(app.locator(".chip")).to_have_text("In progress", timeout=TIMEOUT_MS)
        await expect(app.locator(".status-title")).to_have_text("در حال انجام")
        await expect(app.locator(".figure").nth(0).locator(".value")).to_have_text("1,000")
        await expect(app.locator(".footer")).to_have_text("Live status is not available here.")
        await asyncio.sleep(1)
        assert host.forwarded == []


async def test_a_refused_order_shows_why_and_calls_nothing(
    host_bundle: bytes, tmp_path: Path
) -> None:
    async with _host(host_bundle, tmp_path) as host:
        refused = await host.client.call_tool("place_order", {**ORDER, "count": 5000})
        assert refused.is_error
        await host.show("place_order", {**ORDER, "count": 5000}, _wire(refused))
        problem = host.app.locator(".problem")
        await expect(problem).to_contain_text("The tool failed:", timeout=TIMEOUT_MS)
        await expect(problem).to_contain_text("Nothing was sent: count")
        await asyncio.sleep(1)
        assert host.forwarded == []


HOSTILE = "<img src=x onerror=\"window.parent.postMessage(1, '*')\">لایک\n\u202eevil"


async def test_vendor_text_is_shown_as_text(host_bundle: bytes, tmp_path: Path) -> None:
    services = [SimulatedService(11, HOSTILE, 3.0, rate=20.0), *DEFAULT_SERVICES[2:]]
    async with _host(host_bundle, tmp_path, services) as host:
        placed = await host.client.call_tool("place_order", ORDER)
        await host.show("place_order", ORDER, _wire(placed))
        app = host.app
        title = app.locator(".title")
        await expect(title).to_contain_text("<img src=x", timeout=TIMEOUT_MS)
        text = await title.inner_text()
        assert "\u202e" not in text  # display_text took the bidi override out
        assert "\n" not in text
        assert await app.locator("img").count() == 0
        # The hashed stylesheet applied: the bar has its height and the figures their grid.
        await expect(app.locator(".bar")).to_have_css("height", "10px")
        await expect(app.locator(".figures")).to_have_css("display", "grid")
        # The page's own CSP: nothing but its hashed script and style.
        csp = await app.locator("meta[http-equiv='Content-Security-Policy']").get_attribute(
            "content"
        )
        assert csp is not None
        assert csp.startswith("default-src 'none'; script-src 'sha256-")
        assert json.dumps(host.forwarded) == '["app_order_card"]'
