"""The audit ledger: one append-only JSON-lines file, the single truth about spending.

Every process that places orders for an account (the MCP server, the CLI, Home
Assistant) checks its caps against this file and reserves an order's cost in it
before sending, all under one exclusive OS lock, re-reading what other processes
appended. Each record is flushed to disk before the lock is released.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ValidationError

from .errors import HappyFollowerLedgerError

_LOGGER = logging.getLogger(__name__)
MAX_REASON_LENGTH = 300


class AuditEvent(StrEnum):
    """What a ledger line records."""

    ATTEMPT = "attempt"  # checked, cost bound reserved, about to be sent (written ahead)
    PLACED = "placed"  # the service answered with an order id
    FAILED = "failed"  # the service answered with an error: nothing was placed
    OUTCOME_UNKNOWN = "outcome_unknown"  # sent, no usable answer: counted as placed
    REFUSED = "refused"  # refused before sending (input, a cap, the person); nothing sent
    COST = "cost"  # the real cost of a placed order, learned after it was placed


class AuditRecord(BaseModel):
    """One line of the ledger. Never holds a secret.

    Lines of one order share its ``attempt_id``: an ``attempt`` line, then its outcome
    (``placed``, ``failed`` or ``outcome_unknown``), then perhaps a ``cost`` line.
    """

    at: datetime
    event: AuditEvent
    source: str
    sandbox: bool
    attempt_id: str | None = None  # None on lines written before write-ahead existed
    service_id: int | None = None
    link: str | None = None
    count: int | None = None
    order_id: int | None = None
    cost: float | None = None  # what the service charged, from the order's status
    cost_estimate: float | None = None  # credit before minus after, when the status failed
    cost_bound: float | None = None
    confirmed_by: str | None = None
    process: str | None = None  # "host:pid" of the writer, to spot attempts of dead processes
    reason: str | None = None


def this_process() -> str:
    """``host:pid`` of this process, as attempts record it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_is_gone(process: str | None) -> bool:
    """True when ``process`` ran on this host and no longer does (it cannot finish its order)."""
    if not process or ":" not in process:
        return False
    host, _, pid_text = process.rpartition(":")
    if host != socket.gethostname() or not (pid_text.isascii() and pid_text.isdigit()):
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process can exist
        return True
    except OSError:  # exists but is not ours to signal
        return False
    return False


def default_ledger_path(name: str) -> Path:
    """``$XDG_STATE_HOME/happy-follower/<name>`` (``~/.local/state`` without XDG_STATE_HOME)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "happy-follower" / name


class Ledger:
    """The ledger file. Synchronous: async callers run it in a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: list[AuditRecord] = []
        self._offset = 0  # bytes of the file already parsed into _records
        self._lines = 0  # lines (blank ones too) in those bytes, to name a damaged one
        self._identity: tuple[int, int] | None = None  # (device, inode) parsed so far

    def read(self) -> list[AuditRecord]:
        """Every record, oldest first, including what other processes appended. Proves the
        ledger can be locked, read and written (HappyFollowerLedgerError otherwise)."""
        return self.transact(lambda _records: [])

    def transact(
        self, decide: Callable[[list[AuditRecord]], list[AuditRecord]]
    ) -> list[AuditRecord]:
        """Under the exclusive lock: read every record, let ``decide`` return the records to
        append, append them flushed to disk, and return all records (old and new).

        Raises HappyFollowerLedgerError when the file cannot be locked, read or written,
        or holds a damaged line; ``decide`` is not called then.
        """
        try:
            with self._locked() as file:
                records = self._catch_up(file)
                new = decide(list(records))
                if new:
                    self._append(file, new)
                return list(self._records)
        except OSError as err:
            raise HappyFollowerLedgerError(
                f"The audit ledger {self.path} cannot be used ({err.strerror or err}). "
                "Orders are refused until it can: check the folder exists and is writable "
                "by this user, or choose another ledger file."
            ) from None

    @contextmanager
    def _locked(self) -> Iterator[IO[bytes]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as file:
            _lock(file)
            try:
                yield file
            finally:
                _unlock(file)

    def _catch_up(self, file: IO[bytes]) -> list[AuditRecord]:
        stat = os.fstat(file.fileno())
        identity = (stat.st_dev, stat.st_ino)
        if identity != self._identity or stat.st_size < self._offset:
            # Another file (moved aside, replaced) or truncated: read it from the start.
            self._records, self._offset, self._lines, self._identity = [], 0, 0, identity
        file.seek(self._offset)
        data = file.read()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            # A line without its newline is a write that a crash cut short: the order it
            # would have announced was never sent (sending waits for the flushed line), and
            # an outcome it would have recorded leaves its attempt counted at its bound.
            _LOGGER.warning("Dropping an unfinished last line of the ledger %s", self.path)
            file.truncate(self._offset + complete)
        lines = data[:complete].split(b"\n")[:-1]
        parsed: list[AuditRecord] = []  # kept only once every line parsed
        for number, line in enumerate(lines, start=self._lines + 1):
            if not line.strip():
                continue
            try:
                parsed.append(AuditRecord.model_validate_json(line))
            except ValidationError:
                # Never skip a damaged line: it may be an order, and skipping it would let
                # the caps count fewer than were placed.
                raise HappyFollowerLedgerError(
                    f"The audit ledger {self.path} has a damaged line (line {number}). "
                    "Orders are refused until it is repaired: "
                    "fix or remove that line by hand, or move the file aside to start a new "
                    "ledger (today's orders are then no longer counted by the caps)."
                ) from None
        self._records.extend(parsed)
        self._offset += complete
        self._lines += len(lines)
        return self._records

    def _append(self, file: IO[bytes], records: list[AuditRecord]) -> None:
        data = b"".join(record.model_dump_json().encode() + b"\n" for record in records)
        file.seek(0, os.SEEK_END)
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
        self._records.extend(records)
        self._offset += len(data)
        self._lines += len(records)


if sys.platform == "win32":  # pragma: no cover - the tests run on Linux
    import msvcrt

    def _lock(file: IO[bytes]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_LOCK, 1)

    def _unlock(file: IO[bytes]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(file: IO[bytes]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)

    def _unlock(file: IO[bytes]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)


__all__ = [
    "MAX_REASON_LENGTH",
    "AuditEvent",
    "AuditRecord",
    "Ledger",
    "default_ledger_path",
    "process_is_gone",
    "this_process",
]
