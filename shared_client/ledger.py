"""The audit ledger: append-only JSON lines, the single truth about spending.

Every process that places orders for an account (the MCP server, the CLI, Home
Assistant) checks its caps against the ledger and reserves an order's cost in it
before sending, all under one exclusive OS lock, re-reading what other processes
appended. Each record is flushed to disk before the lock is released.

Three things sit side by side in the ledger's folder (``ledger.jsonl`` here):

- ``ledger.jsonl``, the active file: what the spend guard reads before each order.
  It holds the lines that still matter to it, and those written since the last
  rotation (below). Those that matter: the lines of every order attempt of the last
  48 hours (twice the caps' 24-hour window, so that a late ``cost`` line still finds
  its attempt), of every attempt not settled yet, and every ``price`` and
  ``price_hold`` line, whatever its age; never a ``refused`` line.
- ``ledger.jsonl.archive/``, the archive: numbered chunk files of lines moved out of
  the active file (``000001-20260321T120000Z-1a2b3c4d.jsonl``: a sequence number,
  then the time and a hash of the chunk's first line). Read them in number order.
- ``ledger.jsonl.lock``, the file every process locks. It is never replaced, so the
  active file can be. (Versions that locked ``ledger.jsonl`` itself must not share a
  ledger with this one.)

No line is ever dropped. Once the active file holds more lines that no longer matter
than ``max(1000, lines that still matter)`` (their age counted from the earlier of the
clock and the newest line's time, so that one wrong clock keeps more lines, never
fewer), the next process to lock it moves every line written since the last such
rotation into a new archive chunk, in order, then rewrites the active file with the
lines that still matter only. A line kept that way has its original in the archive:
its copy in the active file starts with ``{"archived":"<chunk name>",`` and the history
lists it once, from the archive. ``Ledger.history()`` reads the whole trail, oldest
first: every chunk, then the lines of the active file that are not such copies. A
rotation cut short by a crash leaves a chunk whose lines are all still in the active
file: the history skips it, and the next rotation writes the same chunk again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO

from pydantic import AwareDatetime, BaseModel, ValidationError

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
    # A person stands behind ``unit_price`` as the price per unit of ``service_id``: it
    # bounds that service's orders under a spend cap (and lifts a hold).
    PRICE = "price"
    # The service charged more than an order's bound (``unit_price`` is what it charged per
    # unit): its orders stop until a person confirms a price (a ``price`` line).
    PRICE_HOLD = "price_hold"


class AuditRecord(BaseModel):
    """One line of the ledger. Never holds a secret.

    Lines of one order share its ``attempt_id``: an ``attempt`` line, then its outcome
    (``placed``, ``failed`` or ``outcome_unknown``), then perhaps a ``cost`` line.
    """

    at: AwareDatetime  # a time without a zone is a damaged line: it cannot be compared
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
    unit_price: float | None = None  # of ``price`` and ``price_hold`` lines
    # Why the vendor's reported cost was not taken as it is (missing, zero, below the
    # bound...): the order keeps counting at its bound.
    anomaly: str | None = None


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


# A rotation is due when the active file holds more lines that no longer matter than
# this, and more than lines that still matter (so rewriting those is paid for).
ARCHIVE_AFTER = 1000
# How long the lines of an order attempt stay in the active file, from its first line:
# twice the caps' 24-hour window, so that late lines still find their attempt.
KEEP_ACTIVE = timedelta(hours=48)
# The start of a line kept in the active file whose original is in the archive.
_COPY_MARK = b'{"archived":"'
_CHUNK_NAME = re.compile(r"(\d{6,})-\d{8}T\d{6}Z-[0-9a-f]{8}\.jsonl")
_SETTLED = frozenset({AuditEvent.PLACED, AuditEvent.FAILED, AuditEvent.OUTCOME_UNKNOWN})
_KEPT = frozenset({AuditEvent.PRICE, AuditEvent.PRICE_HOLD})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NEVER, _ALWAYS = -(2**63), 2**63  # what a line's age is compared with, in µs


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """The ledger files. Synchronous: async callers run it in a thread.

    ``archive_after`` (ARCHIVE_AFTER) and ``clock`` (what a rotation takes as now, with
    its zone) are for tests.
    """

    def __init__(
        self,
        path: Path,
        *,
        archive_after: int = ARCHIVE_AFTER,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.path = path
        self.lock_path = path.with_name(f"{path.name}.lock")
        self.archive_path = path.with_name(f"{path.name}.archive")
        self._archive_after = archive_after
        self._clock = clock
        self._records: list[AuditRecord] = []  # of the active file
        self._offset = 0  # bytes of the active file already parsed into _records
        self._lines = 0  # lines (blank ones too) in those bytes, to name a damaged one
        self._identity: tuple[int, int] | None = None  # (device, inode) parsed so far
        self._ages = _Ages([])  # of _records

    def read(self) -> list[AuditRecord]:
        """The active file's records, oldest first, including what other processes
        appended (every line the caps may need; ``history`` has them all). Proves the
        ledger can be locked, read and written (HappyFollowerLedgerError otherwise)."""
        return self.transact(lambda _records: [])

    def transact(
        self, decide: Callable[[list[AuditRecord]], list[AuditRecord]]
    ) -> list[AuditRecord]:
        """Under the exclusive lock: read the active file's records, let ``decide`` return
        the records to append, append them flushed to disk, and return the active file's
        records (old and new). Moves lines to the archive first when a rotation is due.

        Raises HappyFollowerLedgerError when the ledger cannot be locked, read or written,
        or holds a damaged line; ``decide`` is not called then.
        """
        try:
            with self._locked():
                file = self.path.open("a+b")
                try:
                    self._catch_up(file)
                    live = self._ages.rotation_due(
                        self._records, self._clock(), self._archive_after
                    )
                    if live is not None:
                        file.close()  # Windows replaces no open file
                        self._rotate(live)
                        file = self.path.open("a+b")
                    new = decide(list(self._records))
                    if new:
                        self._append(file, new)
                finally:
                    file.close()
                return list(self._records)
        except OSError as err:
            raise self._unusable(err) from None

    def history(self) -> list[AuditRecord]:
        """Every line ever appended, oldest first: the archive's, then the active file's
        (a line kept in both is listed once). For listings: the caps need ``read`` only.

        Raises HappyFollowerLedgerError as ``read`` does, and when a chunk of the archive
        holds a damaged line.
        """
        try:
            with self._locked():
                with self.path.open("a+b") as file:
                    self._catch_up(file)
                    file.seek(0)
                    lines = _lines_of(file.read(self._offset), self._records)
                if lines is None:  # pragma: no cover - a writer that ignores the lock
                    raise OSError("it changed while it was read; try again")
                active = [(line, record) for line, record in lines if not _is_copy(line)]
                chunks = self._chunks()
                if chunks and _is_unfinished(chunks[-1][1], [line for line, _ in active]):
                    chunks.pop()
                records: list[AuditRecord] = []
                for _, chunk in chunks:
                    records.extend(self._parse(chunk.read_bytes().split(b"\n"), 1, chunk))
                records.extend(record for _, record in active)
                return records
        except OSError as err:
            raise self._unusable(err) from None

    def _unusable(self, err: OSError) -> HappyFollowerLedgerError:
        return HappyFollowerLedgerError(
            f"The audit ledger {self.path} cannot be used ({err.strerror or err}). "
            "Orders are refused until it can: check the folder exists and is writable "
            "by this user, or choose another ledger file."
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a+b") as lock:
            _lock(lock)
            try:
                yield
            finally:
                _unlock(lock)

    def _catch_up(self, file: IO[bytes]) -> None:
        stat = os.fstat(file.fileno())
        identity = (stat.st_dev, stat.st_ino)
        if identity != self._identity or stat.st_size < self._offset:
            # Another file (rotated, moved aside, replaced) or truncated: read it from
            # the start.
            self._records, self._offset, self._lines, self._identity = [], 0, 0, identity
            self._ages = _Ages([])
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
        parsed = self._parse(lines, self._lines + 1, self.path)  # kept once every line is
        self._records.extend(parsed)
        self._ages.add(parsed)
        self._offset += complete
        self._lines += len(lines)

    def _parse(self, lines: list[bytes], first: int, file: Path) -> list[AuditRecord]:
        """The records of ``lines`` (blank ones skipped), the first being line ``first``
        of ``file``. Never skips a damaged line: it may be an order, and skipping it would
        let the caps count fewer than were placed."""
        parsed: list[AuditRecord] = []
        for number, line in enumerate(lines, start=first):
            if not line.strip():
                continue
            try:
                parsed.append(AuditRecord.model_validate_json(_original(line)))
            except ValidationError:
                if file != self.path:
                    raise HappyFollowerLedgerError(
                        f"The archive of the audit ledger {self.path} has a damaged line "
                        f"(line {number} of {file.name}): fix or remove that line by hand."
                    ) from None
                raise HappyFollowerLedgerError(
                    f"The audit ledger {self.path} has a damaged line (line {number}). "
                    "Orders are refused until it is repaired: "
                    "fix or remove that line by hand, or move the file aside to start a new "
                    "ledger (today's orders are then no longer counted by the caps)."
                ) from None
        return parsed

    def _append(self, file: IO[bytes], records: list[AuditRecord]) -> None:
        data = b"".join(record.model_dump_json().encode() + b"\n" for record in records)
        file.seek(0, os.SEEK_END)
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
        self._records.extend(records)
        self._ages.add(records)
        self._offset += len(data)
        self._lines += len(records)

    def _chunks(self) -> list[tuple[int, Path]]:
        """The archive's chunks by number, oldest first."""
        try:
            names = os.listdir(self.archive_path)
        except FileNotFoundError:
            return []
        found = ((_CHUNK_NAME.fullmatch(name), name) for name in names)
        return sorted((int(match[1]), self.archive_path / name) for match, name in found if match)

    def _rotate(self, live: list[bool]) -> None:
        """Move every line written since the last rotation to a new archive chunk, then
        replace the active file with the lines that still matter (``live``), copies of
        lines now archived marked as such. The chunk is on disk before the active file is
        replaced: a crash in between leaves lines twice, never nowhere. A rotation that
        fails leaves the ledger as it was, and orders go on."""
        with self.path.open("rb") as file:
            stat = os.fstat(file.fileno())
            lines = _lines_of(file.read(self._offset), self._records)
        if (stat.st_dev, stat.st_ino) != self._identity or lines is None:
            return  # pragma: no cover - a writer that ignores the lock
        fresh = [(line, record) for line, record in lines if not _is_copy(line)]
        chunk: Path | None = None
        try:
            if fresh:
                chunk = self._next_chunk(fresh)
                _replace(chunk, b"".join(line + b"\n" for line, _ in fresh))
                _sync_folder(self.archive_path)
            kept = [
                line if _is_copy(line) or chunk is None else _copy(line, chunk.name)
                for (line, _), keep in zip(lines, live, strict=True)
                if keep
            ]
            data = b"".join(line + b"\n" for line in kept)
            identity = _replace(self.path, data)
        except OSError as err:
            _LOGGER.warning(
                "The audit ledger %s could not move old lines to its archive (%s): it keeps "
                "them, and grows, until it can",
                self.path,
                err.strerror or err,
            )
            if chunk is not None:
                # The active file was not replaced: it still holds every line of the
                # chunk. Without it, the next rotation writes it again.
                with suppress(OSError):
                    chunk.unlink()
            return
        self._records = [record for record, keep in zip(self._records, live, strict=True) if keep]
        self._ages = _Ages(self._records)
        self._offset, self._lines, self._identity = len(data), len(kept), identity
        with suppress(OSError):  # at worst the old file comes back, beside its chunk
            _sync_folder(self.path.parent)

    def _next_chunk(self, fresh: list[tuple[bytes, AuditRecord]]) -> Path:
        """Where the chunk of ``fresh`` goes: the newest chunk again when it is one a crash
        left unfinished (its lines are still here), else a new one numbered after it."""
        chunks = self._chunks()
        number = 1
        if chunks:
            newest_number, newest = chunks[-1]
            if _is_unfinished(newest, [line for line, _ in fresh]):
                return newest
            number = newest_number + 1
        first, record = fresh[0]
        at = record.at.astimezone(UTC)
        digest = hashlib.sha256(first).hexdigest()[:8]
        return self.archive_path / f"{number:06d}-{at:%Y%m%dT%H%M%SZ}-{digest}.jsonl"


class _Ages:
    """What the rotation rule needs to know of the active file's records, kept up to date
    as they are read or appended, so that checking the rule costs little.

    Which records still matter to the spend guard: every line of an order attempt whose
    first line is less than KEEP_ACTIVE old, or whose attempt is not settled yet; every
    ``price`` and ``price_hold`` line; never a ``refused`` line. Now is the earlier of the
    clock and the newest line, so that one wrong clock (this process's or a line's) keeps
    more, never less.
    """

    def __init__(self, records: list[AuditRecord]) -> None:
        # Of each record: it matters while newer (µs since 1970) than now - KEEP_ACTIVE.
        self.until: list[int] = []
        self.first: dict[str, int] = {}  # when each attempt's first line was written
        self.lines: dict[str, int] = {}  # each attempt's lines that ``first`` dates
        self.pending: set[str] = set()  # attempts with an ``attempt`` line
        self.settled: set[str] = set()  # attempts with an outcome line
        self.newest = _NEVER
        self.add(records)

    def add(self, records: list[AuditRecord]) -> None:
        for record in records:
            at = (record.at - _EPOCH) // _MICROSECOND
            self.newest = max(self.newest, at)
            key = record.attempt_id
            if record.event is AuditEvent.REFUSED:
                until = _NEVER
            elif record.event in _KEPT:
                until = _ALWAYS
            elif key is None:
                until = at  # from before write-ahead: a line stands alone
            else:
                until = self.first.setdefault(key, at)
                self.lines[key] = self.lines.get(key, 0) + 1
                if record.event is AuditEvent.ATTEMPT:
                    self.pending.add(key)
                elif record.event in _SETTLED:
                    self.settled.add(key)
            self.until.append(until)

    def rotation_due(
        self, records: list[AuditRecord], now: datetime, least: int
    ) -> list[bool] | None:
        """Which records still matter, when more do not than ``max(least, those that
        do)``; else None."""
        since = min((now - _EPOCH) // _MICROSECOND, self.newest) - KEEP_ACTIVE // _MICROSECOND
        unsettled = self.pending - self.settled
        old = sum(1 for until in self.until if until <= since)
        old -= sum(self.lines[key] for key in unsettled if self.first[key] <= since)
        if old <= max(least, len(records) - old):
            return None
        return [
            until > since or (until != _NEVER and record.attempt_id in unsettled)
            for until, record in zip(self.until, records, strict=True)
        ]


def _is_copy(line: bytes) -> bool:
    return line.startswith(_COPY_MARK)


def _copy(line: bytes, chunk: str) -> bytes:
    """``line`` marked as a copy of a line archived in ``chunk``."""
    return _COPY_MARK + chunk.encode() + b'",' + line.strip()[1:]


def _original(line: bytes) -> bytes:
    """The line a copy was made from (any other line as it is)."""
    if not _is_copy(line):
        return line
    end = line.find(b'",', len(_COPY_MARK))
    return b"{" + line[end + 2 :] if end >= 0 else line


def _lines_of(data: bytes, records: list[AuditRecord]) -> list[tuple[bytes, AuditRecord]] | None:
    """The non-blank lines of ``data`` with their records (None when they do not pair)."""
    lines = [line for line in data.split(b"\n")[:-1] if line.strip()]
    if len(lines) != len(records):
        return None
    return list(zip(lines, records, strict=True))


def _is_unfinished(chunk: Path, fresh: list[bytes]) -> bool:
    """True when ``chunk`` holds only lines still in the active file, as they start it: a
    rotation wrote it and stopped before replacing the active file."""
    data = chunk.read_bytes()
    return bool(data) and b"".join(line + b"\n" for line in fresh).startswith(data)


def _replace(path: Path, data: bytes) -> tuple[int, int]:
    """Replace ``path`` with a file of ``data`` all at once (written and flushed to disk
    first, under a temporary name), and return its (device, inode). Nothing replaced when
    this raises. Flushing the rename is the caller's (``_sync_folder``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
            stat = os.fstat(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            temporary.unlink()
        raise
    return stat.st_dev, stat.st_ino


if sys.platform == "win32":  # pragma: no cover - the tests run on Linux
    import msvcrt

    def _lock(file: IO[bytes]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_LOCK, 1)

    def _unlock(file: IO[bytes]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)

    def _sync_folder(_folder: Path) -> None:
        """Windows cannot open a folder to flush it; NTFS journals the rename."""

else:
    import fcntl

    def _lock(file: IO[bytes]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)

    def _unlock(file: IO[bytes]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)

    def _sync_folder(folder: Path) -> None:
        """Flush a rename in ``folder`` to disk."""
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


__all__ = [
    "ARCHIVE_AFTER",
    "KEEP_ACTIVE",
    "MAX_REASON_LENGTH",
    "AuditEvent",
    "AuditRecord",
    "Ledger",
    "default_ledger_path",
    "process_is_gone",
    "this_process",
]
