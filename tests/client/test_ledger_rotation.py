"""The ledger's rotation at its edges: copies of copies, a rotation of copies only, faults
while it writes, chunk names, the 48 hours to the microsecond, hand-edited files."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared_client import HappyFollowerLedgerError
from shared_client.ledger import KEEP_ACTIVE, AuditEvent, AuditRecord, Ledger, process_is_gone

from .guard_support import LINK, START, Clock, record

DAY = timedelta(days=1)
MARK = b'{"archived":"'


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "orders.jsonl"


def order_lines(at: datetime, key: str) -> list[AuditRecord]:
    """One order as the guard writes it: attempt, placed, then its cost a minute later."""
    return [
        record(AuditEvent.ATTEMPT, at=at, attempt_id=key, service_id=10, link=LINK, count=10),
        record(AuditEvent.PLACED, at=at, attempt_id=key, order_id=len(key)),
        record(AuditEvent.COST, at=at + timedelta(minutes=1), attempt_id=key, cost=20.0),
    ]


def price(at: datetime) -> AuditRecord:
    return record(AuditEvent.PRICE, at=at, service_id=10, unit_price=2.0)


def refusal(at: datetime) -> AuditRecord:
    return record(AuditEvent.REFUSED, at=at, service_id=10, reason="over the cap")


def archive(ledger: Ledger) -> list[str]:
    """Every name in the archive folder, chunks or not."""
    return sorted(entry.name for entry in ledger.archive_path.iterdir())


def as_line(line: AuditRecord) -> bytes:
    return line.model_dump_json().encode()


def copy_of(line: AuditRecord, chunk: str) -> bytes:
    """``line`` as the active file keeps it once its original is in ``chunk``."""
    return MARK + chunk.encode() + b'",' + as_line(line)[1:]


def test_the_history_of_an_unusable_path_is_a_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.mkdir()
    with pytest.raises(HappyFollowerLedgerError) as caught:
        Ledger(path).history()
    assert str(caught.value) == (
        f"The audit ledger {path} cannot be used (Is a directory). Orders are refused until it "
        "can: check the folder exists and is writable by this user, or choose another ledger "
        "file."
    )
    assert caught.value.__cause__ is None


def test_a_process_this_user_may_not_signal_is_not_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """As root every process may be signalled: the kernel's EPERM answer, for another
    user's process, is what a normal user gets."""
    asked: list[tuple[int, int]] = []

    def kill(pid: int, signal: int) -> None:
        asked.append((pid, signal))
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "kill", kill)
    assert not process_is_gone(f"{socket.gethostname()}:4242")
    assert asked == [(4242, 0)]


def test_copies_keep_naming_the_chunk_of_their_original(path: Path) -> None:
    """A line kept through two rotations is archived once, in the first chunk: its copy
    names that chunk, as it is, after the second rotation too."""
    clock = Clock(START)
    ledger = Ledger(path, archive_after=1, clock=clock)
    first = [price(START), *[refusal(START)] * 2]
    ledger.transact(lambda _old: first)
    assert ledger.read() == [first[0]]
    (one,) = archive(ledger)
    assert path.read_bytes() == copy_of(first[0], one) + b"\n"
    clock.advance(days=1)
    second = [*order_lines(clock.now, "b"), *[refusal(clock.now)] * 5]
    ledger.transact(lambda _old: second)
    assert ledger.read() == [first[0], *second[:3]]
    one_again, two = archive(ledger)
    assert one_again == one
    assert two.startswith("000002-20260322T120000Z-")
    assert path.read_bytes() == b"".join(
        line + b"\n"
        for line in [copy_of(first[0], one), *(copy_of(line, two) for line in second[:3])]
    )
    assert (ledger.archive_path / two).read_bytes() == b"".join(
        as_line(line) + b"\n" for line in second
    )
    assert Ledger(path).history() == [*first, *second]


def test_a_rotation_of_copies_only_writes_no_chunk(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A clock that was behind the lines catches up: old copies leave the active file with
    nothing new to archive (their originals are in the archive already)."""
    clock = Clock(START)  # three days behind the newest order
    ledger = Ledger(path, archive_after=0, clock=clock)
    recent = order_lines(START + 3 * DAY, "recent")
    lines = [
        *order_lines(START, "old-1"),
        *order_lines(START, "old-2"),
        *recent,
        *[refusal(START)] * 10,
    ]
    ledger.transact(lambda _old: lines)
    assert ledger.read() == lines[:9]  # the refusals go; all orders matter for now
    (chunk,) = archive(ledger)
    copies = path.read_bytes()
    assert copies == b"".join(copy_of(line, chunk) + b"\n" for line in lines[:9])

    clock.now = START + 9 * DAY  # the old orders no longer matter: 6 lines, 3 do
    replace = os.replace

    def fail_on_the_active_file(source: Path, target: Path) -> None:
        if target == path:
            raise OSError(errno.ENOSPC, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(os, "replace", fail_on_the_active_file)
    with caplog.at_level(logging.WARNING):
        assert ledger.read() == lines[:9]  # the rotation failed: nothing changed
    assert [r.getMessage() for r in caplog.records] == [
        f"The audit ledger {path} could not move old lines to its archive (No space left on "
        "device): it keeps them, and grows, until it can"
    ]
    assert path.read_bytes() == copies
    assert archive(ledger) == [chunk]
    monkeypatch.undo()

    assert ledger.read() == recent
    assert archive(ledger) == [chunk]  # no new chunk: every line was archived already
    assert path.read_bytes() == b"".join(copy_of(line, chunk) + b"\n" for line in recent)
    assert ledger.history() == lines
    assert Ledger(path).history() == lines


def test_a_chunk_that_cannot_be_written_leaves_nothing_behind(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Something in the way of the chunk's temporary file (a folder left there): the
    rotation fails, orders go on, and it succeeds once the way is clear."""
    lines = [refusal(START), refusal(START)]
    Ledger(path).transact(lambda _old: lines)
    first = path.read_bytes().splitlines()[0]
    name = f"000001-20260321T120000Z-{hashlib.sha256(first).hexdigest()[:8]}.jsonl"
    ledger = Ledger(path, archive_after=1, clock=lambda: START)
    blocker = ledger.archive_path / f".{name}.tmp"
    blocker.mkdir(parents=True)
    before = path.read_bytes()
    with caplog.at_level(logging.WARNING):
        assert ledger.transact(lambda _old: [refusal(START)]) == [*lines, refusal(START)]
    assert [r.getMessage() for r in caplog.records] == [
        f"The audit ledger {path} could not move old lines to its archive (Is a directory): "
        "it keeps them, and grows, until it can"
    ]
    assert archive(ledger) == [blocker.name]  # no chunk, no temporary file
    assert path.read_bytes() == before + as_line(refusal(START)) + b"\n"
    assert ledger.history() == [*lines, refusal(START)]
    blocker.rmdir()
    assert ledger.read() == []
    assert archive(ledger) == [name]
    assert ledger.history() == [*lines, refusal(START)]


def test_a_ledger_folder_that_cannot_be_flushed_keeps_the_rotation(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flushing the rename of the active file is the last step: when the folder refuses
    it, the rotation stands (at worst the old file comes back, beside its chunk)."""
    lines = [price(START), *[refusal(START)] * 2]
    Ledger(path).transact(lambda _old: lines)
    folder = path.parent.stat()
    fsync = os.fsync
    refused: list[int] = []

    def no_flush_of_the_ledger_folder(descriptor: int) -> None:
        stat = os.fstat(descriptor)
        if (stat.st_dev, stat.st_ino) == (folder.st_dev, folder.st_ino):
            refused.append(descriptor)
            raise OSError(errno.EINVAL, "Invalid argument")
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", no_flush_of_the_ledger_folder)
    ledger = Ledger(path, archive_after=1, clock=lambda: START)
    assert ledger.read() == [lines[0]]
    assert len(refused) == 1
    (chunk,) = archive(ledger)
    assert path.read_bytes() == copy_of(lines[0], chunk) + b"\n"
    assert ledger.history() == lines


@pytest.fixture
def tehran_time() -> Iterator[None]:
    """The local zone is UTC+03:30 (no zone files needed) for the test."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "IRST-3:30"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.usefixtures("tehran_time")
def test_chunk_names_carry_utc_whatever_the_local_zone(path: Path) -> None:
    assert datetime.fromtimestamp(START.timestamp()).hour == 15  # local time: 15:30
    tehran = timezone(timedelta(hours=3, minutes=30))
    lines = [
        record(AuditEvent.REFUSED, at=START.astimezone(tehran), reason="over the cap"),
        refusal(START),
    ]
    ledger = Ledger(path, archive_after=1, clock=lambda: START)
    ledger.transact(lambda _old: lines)
    assert ledger.read() == []
    (chunk,) = archive(ledger)
    assert chunk.startswith("000001-20260321T120000Z-")


def test_the_48_hours_are_exact_to_the_microsecond_far_ahead(path: Path) -> None:
    """Ages are whole microseconds, exact for any date a line may carry: about 2**57 µs
    after 1970 (the year 6536, a clock gone very wrong) a float would be 16 µs off."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    edge = epoch + timedelta(microseconds=2**57 - 17)
    now = edge + KEEP_ACTIVE
    gone = record(AuditEvent.PLACED, at=edge, order_id=1)  # exactly 48 hours old
    stays = record(AuditEvent.PLACED, at=now + timedelta(hours=1), order_id=2)
    lines = [gone, stays, refusal(edge), refusal(edge)]
    ledger = Ledger(path, archive_after=0, clock=lambda: now)
    ledger.transact(lambda _old: lines)
    assert ledger.read() == [stays]  # 3 lines no longer matter, 1 does
    (chunk,) = archive(ledger)
    assert chunk.startswith("000001-65361029T204115Z-")
    assert ledger.history() == lines


def test_an_unsettled_attempt_exactly_48_hours_old_still_matters(path: Path) -> None:
    now = START + 3 * DAY
    unsettled = record(AuditEvent.ATTEMPT, at=now - KEEP_ACTIVE, attempt_id="u")
    ledger = Ledger(path, archive_after=2, clock=lambda: now)
    ledger.transact(lambda _old: [unsettled, refusal(now), refusal(now)])
    # 2 lines no longer matter, 1 does: not more than max(2, 1), no rotation.
    assert ledger.read() == [unsettled, refusal(now), refusal(now)]
    assert not ledger.archive_path.exists()
    ledger.transact(lambda _old: [refusal(now)])
    assert ledger.read() == [unsettled]
    assert ledger.history() == [unsettled, *[refusal(now)] * 3]


def test_every_line_of_an_unsettled_attempt_matters(path: Path) -> None:
    """An order whose outcome line was removed by hand (it was damaged): its attempt and
    cost lines both still matter, and count so when a rotation is weighed."""
    now = START + 3 * DAY
    attempt, _placed, cost = order_lines(START, "repaired")
    ledger = Ledger(path, archive_after=2, clock=lambda: now)
    ledger.transact(lambda _old: [attempt, cost, refusal(now), refusal(now)])
    # 2 lines no longer matter, 2 do: not more than max(2, 2), no rotation.
    assert ledger.read() == [attempt, cost, refusal(now), refusal(now)]
    assert not ledger.archive_path.exists()
    ledger.transact(lambda _old: [refusal(now)])
    assert ledger.read() == [attempt, cost]
    assert ledger.history() == [attempt, cost, *[refusal(now)] * 3]


def test_a_ledger_with_windows_line_ends_reads_the_same(path: Path) -> None:
    """A ledger saved again by a Windows editor (after a hand repair) ends its lines with
    CRLF: its lines, copies included, read as they did."""
    ledger = Ledger(path, archive_after=0, clock=lambda: START)
    lines = [price(START), *order_lines(START, "a"), *[refusal(START)] * 5]
    ledger.transact(lambda _old: lines)
    assert ledger.read() == lines[:4]
    assert path.read_bytes().startswith(MARK)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert Ledger(path).read() == lines[:4]
    assert Ledger(path).history() == lines
