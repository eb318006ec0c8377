"""Helpers of the spend guard and ledger tests: a fake clock, ledger lines, read-only files.

Not a test module.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared_client.ledger import AuditEvent, AuditRecord
from shared_client.simulator import Simulator

LINK = "https://www.instagram.com/mehdifeizi/"  # as the input policy writes it
START = datetime(2026, 3, 21, 12, 0, tzinfo=UTC)  # Nowruz, noon


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The ledger file's lines as JSON objects."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def order_posts(simulator: Simulator) -> int:
    """How many order requests reached the simulator."""
    return sum(request.endpoint == "order" for request in simulator.requests)


def record(event: AuditEvent, **fields: Any) -> AuditRecord:
    """A ledger line with defaults for the fields a test does not care about."""
    values: dict[str, Any] = {"at": START, "source": "tests", "sandbox": False, **fields}
    return AuditRecord(event=event, **values)


def dead_process() -> str:
    """``host:pid`` of a process of this host that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


class ReadOnly:
    """Makes files and folders unwritable (for root too, with chattr +i); undone at teardown."""

    def __init__(self) -> None:
        self._undo: list[tuple[Path, int, bool]] = []

    def __call__(self, path: Path) -> None:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        immutable = False
        if os.access(path, os.W_OK):  # root ignores the mode bits
            chattr = shutil.which("chattr")
            done = (
                chattr is not None
                and subprocess.run([chattr, "+i", str(path)], check=False).returncode == 0
            )
            if not done:
                path.chmod(mode)
                pytest.skip("cannot make a file read-only here (root without chattr +i)")
            immutable = True
        self._undo.append((path, mode, immutable))

    def undo(self) -> None:
        while self._undo:
            path, mode, immutable = self._undo.pop()
            if immutable:
                subprocess.run(["chattr", "-i", str(path)], check=True)
            path.chmod(mode)


def file_bytes(path: Path) -> bytes:
    """The file's content (a small local file: reading it blocks nothing that matters)."""
    return path.read_bytes() if path.exists() else b""


def write_file(path: Path, data: bytes, *, append: bool = False) -> None:
    with path.open("ab" if append else "wb") as file:
        file.write(data)
