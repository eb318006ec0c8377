"""The running demo the browser tests drive: started for a test, stopped cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from .test_demo_dashboard import RunningDemo, running_demo

# A page of Home Assistant's frontend, opened while both CI workers, Home Assistant and
# Chromium share two cores, can take longer than Playwright's 5 s to draw (the device page
# did, once in CI): what a check waits for must appear within 20 s.
expect.set_options(timeout=20_000)


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[RunningDemo]:
    async with running_demo(tmp_path, None) as running:
        yield running


@pytest.fixture
async def demo_fa(tmp_path: Path) -> AsyncIterator[RunningDemo]:
    """The demo started with `--language fa`."""
    async with running_demo(tmp_path, "fa") as running:
        yield running
