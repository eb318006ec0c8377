"""The running demo the browser tests drive: started once per test, stopped cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .browser import free_port
from .test_demo_dashboard import RunningDemo, _start_demo


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[RunningDemo]:
    async with _running_demo(tmp_path, None) as running:
        yield running


@pytest.fixture
async def demo_fa(tmp_path: Path) -> AsyncIterator[RunningDemo]:
    """The demo started with `--language fa`."""
    async with _running_demo(tmp_path, "fa") as running:
        yield running


@pytest.fixture(params=["en", "fa"])
async def demo_in(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningDemo]:
    """The demo started with `--language en`, then with `--language fa`."""
    async with _running_demo(tmp_path, request.param) as running:
        yield running


@contextlib.asynccontextmanager
async def _running_demo(tmp_path: Path, language: str | None) -> AsyncIterator[RunningDemo]:
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
