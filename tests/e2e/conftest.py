"""The running demo the browser tests drive: started once per test, stopped cleanly."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .test_demo_dashboard import RunningDemo, _free_port, _start_demo


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[RunningDemo]:
    running = await _start_demo(tmp_path, _free_port(), _free_port())
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
