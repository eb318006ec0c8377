"""The ledger file: append-only JSON lines under an exclusive lock, shared by processes."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared_client import HappyFollowerLedgerError
from shared_client.ledger import (
    KEEP_ACTIVE,
    MAX_REASON_LENGTH,
    AuditEvent,
    AuditRecord,
    Ledger,
    default_ledger_path,
    process_is_gone,
    this_process,
)

from .guard_support import (
    LINK,
    START,
    Clock,
    dead_process,
    read_lines,
    record,
    write_file,
)

GOOD = b'{"at":"2026-03-21T12:00:00Z","event":"placed","source":"t","sandbox":false}\n'


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "deep" / "state" / "orders.jsonl"


def test_a_new_ledger_is_created_empty(path: Path) -> None:
    ledger = Ledger(path)
    assert ledger.path == path
    assert ledger.read() == []
    assert ledger.read() == []  # again: nothing was appended
    assert path.exists()
    assert path.read_bytes() == b""


def test_transact_appends_what_decide_returns(path: Path) -> None:
    ledger = Ledger(path)
    first = record(
        AuditEvent.ATTEMPT,
        attempt_id="a1",
        service_id=10,
        link=LINK,
        count=100,
        cost_bound=250.5,
        confirmed_by="--yes",
        process="host:1",
    )
    seen: list[list[AuditRecord]] = []

    def decide(records: list[AuditRecord]) -> list[AuditRecord]:
        seen.append(records)
        return [first] if not records else []

    assert ledger.transact(decide) == [first]
    assert ledger.transact(decide) == [first]
    assert seen == [[], [first]]
    (line,) = read_lines(path)
    assert line["event"] == "attempt"
    assert line["cost_bound"] == 250.5
    assert line["at"] == "2026-03-21T12:00:00Z"
    assert path.read_bytes().endswith(b"\n")
    assert Ledger(path).read() == [first]


def test_decide_gets_a_copy(path: Path) -> None:
    ledger = Ledger(path)
    ledger.transact(lambda _old: [record(AuditEvent.PLACED, order_id=1)])

    def meddle(records: list[AuditRecord]) -> list[AuditRecord]:
        records.clear()
        return []

    ledger.transact(meddle)
    assert len(ledger.read()) == 1
    returned = ledger.read()
    returned.clear()
    assert len(ledger.read()) == 1


def test_two_ledgers_on_one_file_see_each_others_lines(path: Path) -> None:
    first, second = Ledger(path), Ledger(path)
    first.transact(lambda _old: [record(AuditEvent.PLACED, order_id=1)])
    second.transact(lambda _old: [record(AuditEvent.PLACED, order_id=2)])
    first.transact(lambda _old: [record(AuditEvent.PLACED, order_id=3)])
    assert [r.order_id for r in second.read()] == [1, 2, 3]
    assert [r.order_id for r in first.read()] == [1, 2, 3]
    assert len(read_lines(path)) == 3


def test_a_replaced_or_truncated_file_is_read_from_the_start(path: Path) -> None:
    ledger = Ledger(path)
    ledger.transact(lambda _old: [record(AuditEvent.PLACED, order_id=n) for n in (1, 2)])
    path.rename(path.with_name("aside.jsonl"))
    Ledger(path).transact(lambda _old: [record(AuditEvent.PLACED, order_id=9)])
    assert [r.order_id for r in ledger.read()] == [9]
    path.write_bytes(b"")  # same file, emptied
    assert ledger.read() == []
    write_file(path, GOOD * 3)
    assert len(ledger.read()) == 3
    path.write_bytes(GOOD)  # same file, shorter than what was read
    assert len(ledger.read()) == 1


def test_a_torn_last_line_is_dropped_and_the_file_repaired(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = Ledger(path)
    ledger.read()
    write_file(path, GOOD + b'{"at":"2026-03-21T12:00:00Z","eve', append=True)
    with caplog.at_level(logging.WARNING):
        assert len(ledger.read()) == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"Dropping an unfinished last line of the ledger {path}"
    ]
    assert path.read_bytes() == GOOD
    ledger.transact(lambda _old: [record(AuditEvent.PLACED, order_id=2)])
    assert [line.get("order_id") for line in read_lines(path)] == [None, 2]
    assert len(Ledger(path).read()) == 2


def test_a_torn_line_after_what_was_read_keeps_the_rest(path: Path) -> None:
    ledger = Ledger(path)
    assert ledger.read() == []
    write_file(path, GOOD)
    assert len(ledger.read()) == 1
    write_file(path, GOOD + b"{", append=True)
    assert len(ledger.read()) == 2
    assert path.read_bytes() == GOOD * 2


def test_blank_lines_are_skipped(path: Path) -> None:
    path.parent.mkdir(parents=True)
    write_file(path, b"\n" + GOOD + b"   \n\n" + GOOD)
    assert len(Ledger(path).read()) == 2


@pytest.mark.parametrize(
    "line",
    [
        b'{"at":"2026-03-21T12:00:00Z","event":"attem',
        b'{"at":"2026-03-21T12:00:00Z","event":"unheard-of","source":"t","sandbox":false}',
        b'{"event":"placed","source":"t","sandbox":false}',
        b"[1, 2]",
        b"\xff\xfe",
        # A time without a zone cannot be compared with the others.
        b'{"at":"2026-03-21T12:00:00","event":"placed","source":"t","sandbox":false}',
        b'{"at":"2026-03-21T12:00:00Z","event":"placed","source":"t","sandbox":false,'
        b'"count":"many"}',
        b'{"at":"2026-03-21T12:00:00Z","event":"placed","source":"t","sandbox":"x"}',
        b'{"archived":"000001-20260321T120000Z-00000000.jsonl",oops}',
    ],
)
def test_a_damaged_line_refuses_everything(path: Path, line: bytes) -> None:
    path.parent.mkdir(parents=True)
    write_file(path, GOOD + line + b"\n" + GOOD)
    called = []
    ledger = Ledger(path)
    with pytest.raises(HappyFollowerLedgerError, match="has a damaged line") as caught:
        ledger.transact(lambda old: called.append(old) or [])
    assert called == []
    assert str(caught.value) == (
        f"The audit ledger {path} has a damaged line (line 2). Orders are refused until it is "
        "repaired: fix or remove that line by hand, or move the file aside to start a new "
        "ledger (today's orders are then no longer counted by the caps)."
    )
    with pytest.raises(HappyFollowerLedgerError):
        ledger.read()  # still, never a partial count
    assert path.read_bytes() == GOOD + line + b"\n" + GOOD  # nothing written


def test_damaged_line_names_its_line(path: Path) -> None:
    path.parent.mkdir(parents=True)
    write_file(path, GOOD * 2 + b"{oops}\n" + GOOD)
    with pytest.raises(HappyFollowerLedgerError, match=r"\(line 3\)"):
        Ledger(path).read()


def test_a_damaged_line_appended_later_is_caught(path: Path) -> None:
    ledger = Ledger(path)
    ledger.transact(lambda _old: [record(AuditEvent.PLACED, order_id=1)])
    write_file(path, b"{oops}\n", append=True)
    with pytest.raises(HappyFollowerLedgerError, match="damaged line"):
        ledger.transact(lambda _old: [record(AuditEvent.PLACED, order_id=2)])
    assert path.read_bytes().count(b"\n") == 2


@pytest.mark.parametrize(
    ("kind", "reason"), [("folder", "Is a directory"), ("file-as-parent", "File exists")]
)
def test_unusable_path_is_a_ledger_error(tmp_path: Path, kind: str, reason: str) -> None:
    if kind == "folder":
        path = tmp_path / "orders.jsonl"
        path.mkdir()
    else:
        (tmp_path / "plain").write_text("x")
        path = tmp_path / "plain" / "orders.jsonl"
    with pytest.raises(HappyFollowerLedgerError) as caught:
        Ledger(path).read()
    assert str(caught.value) == (
        f"The audit ledger {path} cannot be used ({reason}). Orders are refused until it can: "
        "check the folder exists and is writable by this user, or choose another ledger file."
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_the_lock_is_exclusive(path: Path) -> None:
    ledger = Ledger(path)
    ledger.read()
    done = threading.Event()
    with ledger.lock_path.open("a+b") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)  # as another process would hold it
        worker = threading.Thread(
            target=lambda: (
                ledger.transact(lambda _old: [record(AuditEvent.PLACED)]),
                done.set(),
            )
        )
        worker.start()
        assert not done.wait(0.3)
        assert path.read_bytes() == b""
        fcntl.flock(holder.fileno(), fcntl.LOCK_UN)
        assert done.wait(5)
    worker.join()
    assert len(read_lines(path)) == 1


def test_the_lock_is_released_after_an_error(path: Path) -> None:
    ledger = Ledger(path)

    def fail(_records: list[AuditRecord]) -> list[AuditRecord]:
        raise RuntimeError("decide failed")

    with pytest.raises(RuntimeError):
        ledger.transact(fail)
    with ledger.lock_path.open("a+b") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again


def test_the_lock_holds_across_processes(path: Path) -> None:
    Ledger(path).read()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"f = open({str(Ledger(path).lock_path)!r}, 'a+b')\n"
            "fcntl.flock(f.fileno(), fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(0.5)\n",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"locked\n"
    ledger = Ledger(path)
    started = time.monotonic()
    ledger.transact(lambda _old: [record(AuditEvent.PLACED)])
    assert time.monotonic() - started > 0.3  # it waited for the holder to exit
    holder.wait()


def test_record_defaults_and_secrets() -> None:
    line = AuditRecord(at=START, event=AuditEvent.REFUSED, source="mcp", sandbox=True)
    assert line.attempt_id is None
    assert (line.service_id, line.link, line.count, line.order_id) == (None, None, None, None)
    assert (line.cost, line.cost_bound, line.confirmed_by, line.process, line.reason) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert set(AuditRecord.model_fields) == {
        "at",
        "event",
        "source",
        "sandbox",
        "attempt_id",
        "service_id",
        "link",
        "count",
        "order_id",
        "cost",
        "cost_estimate",
        "cost_bound",
        "confirmed_by",
        "process",
        "reason",
        "unit_price",
        "anomaly",
    }
    assert (line.unit_price, line.anomaly) == (None, None)
    assert [event.value for event in AuditEvent] == [
        "attempt",
        "placed",
        "failed",
        "outcome_unknown",
        "refused",
        "cost",
        "price",
        "price_hold",
    ]
    assert MAX_REASON_LENGTH == 300


def test_default_ledger_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_ledger_path("mcp.jsonl") == tmp_path / "xdg" / "happy-follower" / "mcp.jsonl"
    monkeypatch.setenv("XDG_STATE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_ledger_path("cli.jsonl") == (
        tmp_path / "home" / ".local" / "state" / "happy-follower" / "cli.jsonl"
    )
    monkeypatch.delenv("XDG_STATE_HOME")
    assert (
        default_ledger_path("x") == tmp_path / "home" / ".local" / "state" / "happy-follower" / "x"
    )


def test_this_process() -> None:
    assert this_process() == f"{socket.gethostname()}:{os.getpid()}"


def test_process_is_gone() -> None:
    host = socket.gethostname()
    assert process_is_gone(dead_process())
    assert not process_is_gone(this_process())
    assert not process_is_gone(None)
    assert not process_is_gone("")
    assert not process_is_gone("no-colon")
    assert not process_is_gone(f"{host}:")
    assert not process_is_gone(f"{host}:12x")
    assert not process_is_gone(f"not-{host}:{dead_process().rpartition(':')[2]}")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"]) as alive:
        assert not process_is_gone(f"{host}:{alive.pid}")
        with pytest.raises(subprocess.TimeoutExpired):  # asked with signal 0: still running
            alive.wait(timeout=0.3)
        alive.kill()
    assert not process_is_gone(f"{host}:1")  # init: alive, perhaps not ours to signal


@pytest.mark.parametrize("pid", ["99999999999", "²"])
def test_process_is_gone_survives_odd_pids(pid: str) -> None:
    """A ledger line's process field is read back from disk: no value may crash open()."""
    assert process_is_gone(f"{socket.gethostname()}:{pid}") in (True, False)


def test_a_replaced_file_larger_than_what_was_read_is_read_from_the_start(path: Path) -> None:
    ledger = Ledger(path)
    ledger.transact(lambda _old: [record(AuditEvent.PLACED, order_id=1)])
    replacement = path.with_name("new.jsonl")
    Ledger(replacement).transact(
        lambda _old: [record(AuditEvent.PLACED, order_id=n) for n in (7, 8, 9)]
    )
    replacement.replace(path)  # a restored backup, say: another file, longer
    assert [r.order_id for r in ledger.read()] == [7, 8, 9]


def test_reads_parse_only_what_was_appended(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Each read parses the bytes appended since the last one (not the whole file again)."""
    ledger = Ledger(path)
    ledger.transact(lambda _old: [record(AuditEvent.PLACED, order_id=1)])
    size = path.stat().st_size
    with path.open("r+b") as file:  # the line already read, overwritten in place
        file.write(b"x" * (size - 1))
    with caplog.at_level(logging.WARNING):
        assert [r.order_id for r in ledger.read()] == [1]  # nothing new
        write_file(path, GOOD, append=True)
        assert [r.order_id for r in ledger.read()] == [1, None]
    assert caplog.records == []  # and no torn line reported where there is none


def test_a_damaged_line_is_named_after_lines_this_ledger_wrote(path: Path) -> None:
    ledger = Ledger(path)
    for n in (1, 2, 3):
        ledger.transact(lambda _old, n=n: [record(AuditEvent.PLACED, order_id=n)])
    write_file(path, b"{oops}\n", append=True)
    with pytest.raises(HappyFollowerLedgerError, match=r"damaged line \(line 4\)"):
        ledger.read()


def test_a_repaired_ledger_counts_each_line_once(path: Path) -> None:
    path.parent.mkdir(parents=True)
    damaged = GOOD.replace(b'"placed"', b'"plac"')
    write_file(path, GOOD + damaged + GOOD)
    ledger = Ledger(path)
    for _ in range(2):
        with pytest.raises(HappyFollowerLedgerError):
            ledger.read()
    write_file(path, GOOD * 3)  # repaired by hand while the process runs
    assert len(ledger.read()) == 3


def test_a_damaged_line_is_named_after_every_line_read_before(path: Path) -> None:
    ledger = Ledger(path)
    assert ledger.read() == []
    write_file(path, GOOD * 2)
    assert len(ledger.read()) == 2
    write_file(path, b"\n" + GOOD, append=True)  # a blank line counts as a line
    assert len(ledger.read()) == 3
    write_file(path, b"{oops}\n", append=True)
    with pytest.raises(HappyFollowerLedgerError, match=r"damaged line \(line 5\)"):
        ledger.read()


# --- the lock file, rotation and the archive ------------------------------------------

DAY = timedelta(days=1)


def order_lines(at: datetime, key: str) -> list[AuditRecord]:
    """One order as the guard writes it: attempt, placed, then its cost a minute later."""
    return [
        record(AuditEvent.ATTEMPT, at=at, attempt_id=key, service_id=10, link=LINK, count=10),
        record(AuditEvent.PLACED, at=at, attempt_id=key, order_id=hash(key) % 10**6),
        record(AuditEvent.COST, at=at + timedelta(minutes=1), attempt_id=key, cost=20.0),
    ]


def price(at: datetime, event: AuditEvent = AuditEvent.PRICE) -> AuditRecord:
    return record(event, at=at, service_id=10, unit_price=2.0)


def refusal(at: datetime) -> AuditRecord:
    return record(AuditEvent.REFUSED, at=at, service_id=10, reason="over the cap")


def chunks(ledger: Ledger) -> list[str]:
    return sorted(path.name for path in ledger.archive_path.iterdir())


class Crash(BaseException):
    """The process dies here."""


def test_the_lock_file_is_what_is_locked(path: Path) -> None:
    ledger = Ledger(path, archive_after=1, clock=lambda: START + 3 * DAY)
    assert ledger.lock_path == path.with_name("orders.jsonl.lock")
    assert ledger.archive_path == path.with_name("orders.jsonl.archive")
    ledger.transact(lambda _old: [refusal(START), refusal(START)])
    lock = ledger.lock_path.stat().st_ino
    with path.open("a+b") as other:  # the ledger file itself: not what processes lock
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        ledger.read()  # rotates: the active file is replaced, not the lock file
    assert ledger.read() == []
    assert len(chunks(ledger)) == 1
    assert ledger.lock_path.stat().st_ino == lock
    assert ledger.lock_path.read_bytes() == b""
    with ledger.lock_path.open("a+b") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = threading.Event()
        worker = threading.Thread(target=lambda: (ledger.history(), done.set()))
        worker.start()
        assert not done.wait(0.3)  # the history is read under the lock too
        fcntl.flock(holder.fileno(), fcntl.LOCK_UN)
        assert done.wait(5)
    worker.join()


def test_what_stays_in_the_active_file_and_when_it_rotates(path: Path) -> None:
    clock = Clock(START + 3 * DAY)
    ledger = Ledger(path, archive_after=4, clock=clock)
    old = START
    recent = START + 3 * DAY - timedelta(hours=1)
    kept = [
        price(old),
        price(old, AuditEvent.PRICE_HOLD),
        record(AuditEvent.ATTEMPT, at=old, attempt_id="pending"),  # not settled yet
        *order_lines(recent, "recent")[:2],
        record(AuditEvent.PLACED, at=recent, order_id=7),  # before write-ahead: alone
    ]
    archived = [
        *order_lines(old, "old"),
        record(AuditEvent.COST, at=recent, attempt_id="old", cost=21.0),  # late, same order
        record(AuditEvent.PLACED, at=old, order_id=8),
        refusal(recent),  # refusals never matter to the caps, whatever their age
    ]
    appended = [kept[0], *archived[:3], kept[1], kept[2], *archived[3:], *kept[3:]]
    ledger.transact(lambda _old: list(appended))
    # 6 lines no longer matter, 6 do: not more than max(4, 6), no rotation.
    assert ledger.read() == appended
    assert not ledger.archive_path.exists()
    appended.append(refusal(old))
    ledger.transact(lambda _old: [refusal(old)])  # 7 > 6: due, for the next transaction
    assert not ledger.archive_path.exists()
    seen: list[list[AuditRecord]] = []
    assert ledger.transact(lambda old: seen.append(old) or []) == kept
    assert seen == [kept]  # rotated before deciding
    assert ledger.history() == appended
    (chunk,) = chunks(ledger)
    archive = (ledger.archive_path / chunk).read_bytes()
    assert archive == b"".join(line.model_dump_json().encode() + b"\n" for line in appended)
    digest = hashlib.sha256(archive.splitlines()[0]).hexdigest()[:8]
    assert chunk == f"000001-20260321T120000Z-{digest}.jsonl"
    copies = path.read_bytes().splitlines()
    assert [line.split(b",", 1)[0] for line in copies] == [
        b'{"archived":"' + chunk.encode() + b'"'
    ] * len(kept)
    # Three days on: the recent order goes, the rest stays; the new chunk holds the new
    # lines only (the copies' originals are in the first one).
    clock.advance(days=3)
    new = [*order_lines(clock.now, "newer"), *[refusal(clock.now)] * 4]
    ledger.transact(lambda _old: new)
    assert ledger.read() == [*kept[:3], *new[:3]]
    assert chunks(ledger)[0] == chunk
    assert chunks(ledger)[1].startswith(f"000002-{clock.now:%Y%m%dT%H%M%SZ}-")
    assert ledger.history() == appended + new
    assert Ledger(path).history() == appended + new


def test_a_rotation_waits_for_more_than_archive_after_lines(path: Path) -> None:
    ledger = Ledger(path, archive_after=3, clock=lambda: START)
    ledger.transact(lambda _old: [price(START), *[refusal(START)] * 3])
    assert len(ledger.read()) == 4  # 3 lines that no longer matter: not more than 3
    assert not ledger.archive_path.exists()
    ledger.transact(lambda _old: [refusal(START)])
    assert ledger.read() == [price(START)]


def test_the_48_hours_count_from_an_order_s_first_line(path: Path) -> None:
    now = START + 3 * DAY
    edge, inside = now - KEEP_ACTIVE, now - KEEP_ACTIVE + timedelta(microseconds=1)
    stay = [
        record(AuditEvent.ATTEMPT, at=inside, attempt_id="inside"),
        record(AuditEvent.FAILED, at=inside, attempt_id="inside"),
        record(AuditEvent.PLACED, at=inside, order_id=2),
        record(AuditEvent.ATTEMPT, at=START, attempt_id="unsettled"),
    ]
    go = [
        record(AuditEvent.ATTEMPT, at=edge, attempt_id="edge"),
        record(AuditEvent.PLACED, at=now, attempt_id="edge"),  # late: goes with its attempt
        record(AuditEvent.PLACED, at=edge, order_id=1),
        record(AuditEvent.ATTEMPT, at=START, attempt_id="unknown"),
        record(AuditEvent.OUTCOME_UNKNOWN, at=START, attempt_id="unknown"),
    ]
    ledger = Ledger(path, archive_after=0, clock=lambda: now + DAY)
    ledger.transact(lambda _old: [*go[:2], *stay[:2], go[2], stay[2], *go[3:], stay[3]])
    assert ledger.read() == stay


def test_an_unsettled_attempt_matters_until_it_is_settled(path: Path) -> None:
    unsettled = record(AuditEvent.ATTEMPT, at=START, attempt_id="a")
    ledger = Ledger(path, archive_after=0, clock=lambda: START + 9 * DAY)
    ledger.transact(lambda _old: [unsettled, refusal(START)])
    assert len(ledger.read()) == 2  # 1 line does not matter, 1 does: no rotation
    settled = record(AuditEvent.OUTCOME_UNKNOWN, at=START + 9 * DAY, attempt_id="a")
    ledger.transact(lambda _old: [settled])
    assert ledger.read() == []  # settled now: it is 9 days old, from its first line
    assert ledger.history() == [unsettled, refusal(START), settled]


def test_the_history_ignores_other_files_in_the_archive(path: Path) -> None:
    ledger = Ledger(path, archive_after=0, clock=lambda: START)
    lines = [refusal(START), refusal(START)]
    ledger.transact(lambda _old: lines)
    assert ledger.read() == []
    (ledger.archive_path / "notes.txt").write_text("mine")
    (ledger.archive_path / ".000002-20260321T120000Z-0123abcd.jsonl.tmp").write_bytes(GOOD)
    (ledger.archive_path / "000002-20260321T120000Z-0123abcd.jsonl.bak").write_bytes(GOOD)
    assert ledger.history() == lines
    more = [refusal(START + DAY)] * 2
    ledger.transact(lambda _old: more)
    assert ledger.read() == []
    assert len(list(ledger.archive_path.glob("000002-20260322T120000Z-*.jsonl"))) == 1
    assert ledger.history() == lines + more


def test_rotation_keeps_every_line_in_order(path: Path) -> None:
    """Orders every three hours for ten days, refusals between them: the history is every
    line appended, in order, whichever file holds it."""
    clock = Clock()
    ledger = Ledger(path, archive_after=20, clock=clock)
    appended: list[AuditRecord] = []

    def append(*lines: AuditRecord) -> None:
        appended.extend(lines)
        ledger.transact(lambda _old: list(lines))

    append(price(START))
    for step in range(80):
        clock.now = START + timedelta(hours=3 * step)
        attempt, placed, cost = order_lines(clock.now, f"order-{step}")
        append(attempt)
        append(placed, cost)
        if step % 4 == 0:
            append(refusal(clock.now))
        if step % 20 == 19:
            assert ledger.history() == appended
    assert ledger.history() == appended
    assert Ledger(path).history() == appended  # another process: the same
    assert len(chunks(ledger)) >= 3
    archived = sum(
        len((ledger.archive_path / name).read_bytes().splitlines()) for name in chunks(ledger)
    )
    active = ledger.read()
    copies = sum(line.startswith(b'{"archived":') for line in path.read_bytes().splitlines())
    assert archived + len(active) - copies == len(appended)  # each line once
    since = clock.now - KEEP_ACTIVE
    matter = [
        line
        for line in appended
        if line.event is AuditEvent.PRICE
        or (line.event is not AuditEvent.REFUSED and line.at > since)
    ]
    assert [line for line in active if line in matter] == matter
    assert len(active) <= len(matter) + max(20, len(matter)) + 3  # small, whatever came before


def test_a_crash_between_the_chunk_and_the_active_file_loses_and_repeats_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(START + 3 * DAY)
    lines = [*order_lines(START, "old"), refusal(START), *order_lines(clock.now, "new")]
    Ledger(path).transact(lambda _old: lines)
    before = path.read_bytes()

    replace = os.replace

    def crash_on_the_active_file(source: Path, target: Path) -> None:
        if target == path:
            raise Crash
        replace(source, target)

    monkeypatch.setattr(os, "replace", crash_on_the_active_file)
    with pytest.raises(Crash):
        Ledger(path, archive_after=1, clock=clock).read()
    monkeypatch.undo()
    assert path.read_bytes() == before  # untouched
    (chunk,) = chunks(Ledger(path))
    assert not list(path.parent.glob(".*.tmp"))
    # The chunk holds lines still in the active file: listed once, not twice.
    assert Ledger(path).history() == lines
    # More lines before the next rotation; then it writes the same chunk again, longer.
    more = [refusal(clock.now)]
    Ledger(path).transact(lambda _old: more)
    assert Ledger(path).history() == lines + more
    ledger = Ledger(path, archive_after=1, clock=clock)
    assert ledger.read() == lines[-3:]
    assert chunks(ledger) == [chunk]
    assert ledger.history() == lines + more
    assert Ledger(path).history() == lines + more
    ledger.transact(lambda _old: more)
    assert Ledger(path).history() == [*lines, *more, *more]


def test_a_rotation_that_fails_changes_nothing_and_orders_go_on(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [refusal(START), refusal(START)]
    Ledger(path).transact(lambda _old: lines)
    replace = os.replace

    def fail_on_the_active_file(source: Path, target: Path) -> None:
        if target == path:
            raise OSError(28, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(os, "replace", fail_on_the_active_file)
    ledger = Ledger(path, archive_after=1)
    with caplog.at_level(logging.WARNING):
        assert ledger.transact(lambda _old: [refusal(START)]) == [*lines, refusal(START)]
    assert [r.getMessage() for r in caplog.records] == [
        f"The audit ledger {path} could not move old lines to its archive (No space left on "
        "device): it keeps them, and grows, until it can"
    ]
    assert chunks(ledger) == []  # the chunk written first is gone again
    assert not list(path.parent.glob(".*.tmp"))
    assert ledger.history() == [*lines, refusal(START)]
    monkeypatch.undo()
    assert ledger.read() == []
    assert ledger.history() == [*lines, refusal(START)]


def test_two_processes_see_each_others_lines_across_rotations(path: Path) -> None:
    clock = Clock()
    first, second = (Ledger(path, archive_after=5, clock=clock) for _ in range(2))
    appended: list[AuditRecord] = []
    for step in range(40):
        clock.now = START + timedelta(hours=6 * step)
        writer, reader = (first, second) if step % 3 else (second, first)
        lines = [*order_lines(clock.now, f"o{step}"), refusal(clock.now)]
        appended.extend(lines)
        assert writer.transact(lambda _old, lines=lines: lines)[-4:] == lines
        seen = reader.read()  # rotates, sometimes: the refusal goes then
        assert seen == writer.read()
        assert [line for line in seen if line.event is not AuditEvent.REFUSED][-3:] == lines[:3]
    assert len(chunks(first)) >= 3
    assert first.history() == second.history() == appended


def test_copies_in_the_active_file_read_as_their_originals(path: Path) -> None:
    """Older versions, which know nothing of the mark, read the same records."""
    lines = [price(START), refusal(START), refusal(START)]
    ledger = Ledger(path, archive_after=0, clock=lambda: START)
    ledger.transact(lambda _old: lines)
    assert ledger.read() == [lines[0]]
    (copy,) = path.read_bytes().splitlines()
    assert copy.startswith(b'{"archived":"000001-')
    assert AuditRecord.model_validate_json(copy) == lines[0]
    assert Ledger(path).read() == [lines[0]]
    assert Ledger(path, archive_after=0).read() == [lines[0]]  # a copy is archived once
    assert len(chunks(ledger)) == 1
    assert Ledger(path).history() == lines


def test_a_wrong_clock_does_not_empty_the_active_file(path: Path) -> None:
    """Now is the earlier of the clock and the newest line: one wrong clock keeps more."""
    lines = [*order_lines(START, "a"), *[refusal(START)] * 4]
    Ledger(path).transact(lambda _old: lines)
    assert Ledger(path, archive_after=0, clock=lambda: START + 400 * DAY).read() == lines[:3]
    future = record(AuditEvent.FAILED, at=START + 400 * DAY, attempt_id="future")
    more = [future, *[refusal(START)] * 5]
    Ledger(path).transact(lambda _old: more)
    assert Ledger(path, archive_after=0, clock=lambda: START).read() == [*lines[:3], future]
    assert Ledger(path).history() == [*lines, *more]


def test_a_damaged_line_after_a_rotation_is_named_in_the_active_file(path: Path) -> None:
    ledger = Ledger(path, archive_after=2, clock=lambda: START + 3 * DAY)
    ledger.transact(
        lambda _old: [
            *order_lines(START, "old"),
            refusal(START),
            *order_lines(START + 3 * DAY, "new"),
        ]
    )
    assert len(ledger.read()) == 3  # rotated: three copies
    write_file(path, GOOD + b'{"at":"2026-03-24T12:00:00","event":"placed"}\n', append=True)
    for reader in (ledger, Ledger(path)):
        with pytest.raises(HappyFollowerLedgerError, match=r"damaged line \(line 5\)"):
            reader.read()


def test_a_damaged_line_in_the_archive_is_named_by_the_history_only(path: Path) -> None:
    ledger = Ledger(path, archive_after=0, clock=lambda: START)
    ledger.transact(lambda _old: [refusal(START), refusal(START)])
    assert ledger.read() == []
    (name,) = chunks(ledger)
    chunk = ledger.archive_path / name
    write_file(chunk, chunk.read_bytes().replace(b'"sandbox":false', b'"sandbox":"x"', 1))
    assert ledger.read() == []  # the caps never read the archive
    with pytest.raises(HappyFollowerLedgerError) as caught:
        ledger.history()
    assert str(caught.value) == (
        f"The archive of the audit ledger {path} has a damaged line (line 1 of {name}): fix "
        "or remove that line by hand."
    )


SETTLED = (AuditEvent.PLACED, AuditEvent.FAILED, AuditEvent.OUTCOME_UNKNOWN)


class Story:
    """The ledger lines of a made-up account, as the guard writes them, and which of them
    still matter to it, worked out apart from the ledger's own bookkeeping."""

    KINDS = ("order", "attempt", "settle", "late", "refused", "price", "hold", "lone")

    def __init__(self) -> None:
        self.appended: list[AuditRecord] = []
        self.numbers = iter(range(10**6))

    def keys(self, *events: AuditEvent) -> list[str]:
        return [
            line.attempt_id for line in self.appended if line.attempt_id and line.event in events
        ]

    def lines(self, kind: str, at: datetime) -> list[AuditRecord]:
        key = f"a{next(self.numbers)}"
        settled = self.keys(*SETTLED)
        pending = [key for key in self.keys(AuditEvent.ATTEMPT) if key not in settled]
        lines = {
            "order": lambda: order_lines(at, key),
            "attempt": lambda: [record(AuditEvent.ATTEMPT, at=at, attempt_id=key)],
            "settle": lambda: [
                record(AuditEvent.OUTCOME_UNKNOWN, at=at, attempt_id=old) for old in pending[:1]
            ],
            "late": lambda: [
                record(AuditEvent.COST, at=at, attempt_id=old, cost=1.0) for old in settled[:1]
            ],
            "refused": lambda: [refusal(at)],
            "price": lambda: [price(at)],
            "hold": lambda: [price(at, AuditEvent.PRICE_HOLD)],
            "lone": lambda: [record(AuditEvent.PLACED, at=at, order_id=len(self.appended))],
        }
        return lines[kind]()

    def matter(self, now: datetime) -> list[AuditRecord]:
        """What the active file must hold, at least, in this order."""
        newest = max((line.at for line in self.appended), default=now)
        since = min(now, newest) - KEEP_ACTIVE
        settled = self.keys(*SETTLED)
        first: dict[str | None, datetime] = {}
        for line in self.appended:
            if line.event not in (AuditEvent.REFUSED, AuditEvent.PRICE, AuditEvent.PRICE_HOLD):
                first.setdefault(line.attempt_id or str(id(line)), line.at)
        return [
            line
            for line in self.appended
            if line.event in (AuditEvent.PRICE, AuditEvent.PRICE_HOLD)
            or (
                line.event is not AuditEvent.REFUSED
                and (
                    first[line.attempt_id or str(id(line))] > since
                    or (
                        line.attempt_id in self.keys(AuditEvent.ATTEMPT)
                        and line.attempt_id not in settled
                    )
                )
            )
        ]


def holds_in_order(lines: list[AuditRecord], wanted: list[AuditRecord]) -> bool:
    """True when ``wanted`` is a subsequence of ``lines``."""
    remaining = iter(lines)
    return all(any(line == want for line in remaining) for want in wanted)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    archive_after=st.integers(min_value=0, max_value=6),
    steps=st.lists(
        st.tuples(
            st.booleans(),  # which of two processes writes (or reads)
            st.integers(min_value=0, max_value=30),  # hours the clock moves on first
            st.lists(st.sampled_from(Story.KINDS), max_size=5),
            st.sampled_from([None, None, "crash", "error"]),  # if it rotates, it fails so
        ),
        min_size=10,
        max_size=30,
    ),
)
def test_no_line_is_ever_lost_and_the_guard_keeps_what_it_needs(
    tmp_path_factory: pytest.TempPathFactory,
    archive_after: int,
    steps: list[tuple[bool, int, list[str], str | None]],
) -> None:
    path = tmp_path_factory.mktemp("ledger") / "orders.jsonl"
    clock = Clock()
    ledgers = [Ledger(path, archive_after=archive_after, clock=clock) for _ in range(2)]
    story = Story()
    replace = os.replace

    def failing(fault: str | None) -> Callable[[Path, Path], None]:
        def fail(source: Path, target: Path) -> None:
            if fault and target == path:
                raise Crash if fault == "crash" else OSError(28, "No space left on device")
            replace(source, target)

        return fail

    with mock.patch.object(os, "fsync"):  # durability is not what this tests
        for second, hours, kinds, fault in steps:
            clock.advance(hours=hours)
            lines = [line for kind in kinds for line in story.lines(kind, clock.now)]
            with mock.patch.object(os, "replace", failing(fault)):
                try:
                    seen = ledgers[second].transact(lambda _old, lines=lines: lines)
                except Crash:  # while rotating, before deciding: nothing appended
                    event("crashed while rotating")
                    continue
            story.appended.extend(lines)
            assert Ledger(path).history() == story.appended
            assert Ledger(path, archive_after=10**9).read() == seen  # (never rotates)
            assert holds_in_order(seen, story.matter(clock.now))
        if ledgers[0].archive_path.exists():
            event(f"{min(len(chunks(ledgers[0])), 3)}+ archive chunks")
