"""The running demo the browser tests drive: started for a test, stopped cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .test_demo_dashboard import RunningDemo, running_demo


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[RunningDemo]:
    async with running_demo(tmp_path, None) as running:
        yield running


@pytest.fixture
async def demo_fa(tmp_path: Path) -> AsyncIterator[RunningDemo]:
    """The demo started with `--language fa`."""
    async with running_demo(tmp_path, "fa") as running:
        yield running
