"""What the browser checks of the demo share with docs/screenshots_assistants.py: Debian's
Chromium, its flags for a headless run in a container, and free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium (installed by .ci/run), or HAPPY_FOLLOWER_CHROMIUM; None if absent."""
    return os.environ.get("HAPPY_FOLLOWER_CHROMIUM") or shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
