"""The ledger file: append-only JSON lines under an exclusive lock, shared by processes."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shared_client import HappyFollowerLedgerError
from shared_client.ledger import (
    MAX_REASON_LENGTH,
    AuditEvent,
    AuditRecord,
    Ledger,
    default_ledger_path,
    process_is_gone,
    this_process,
)

from .guard_support import LINK, START, dead_process, read_lines, record, write_file

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
    with path.open("a+b") as holder:
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
    with path.open("a+b") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again


def test_the_lock_holds_across_processes(path: Path) -> None:
    Ledger(path).read()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"f = open({str(path)!r}, 'a+b')\n"
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
    }
    assert [event.value for event in AuditEvent] == [
        "attempt",
        "placed",
        "failed",
        "outcome_unknown",
        "refused",
        "cost",
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
