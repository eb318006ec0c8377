"""The audit ledger: append-only JSON lines, the single truth about spending.

Every process that places orders for an account (the MCP server, the CLI, Home
Assistant) checks its caps against the ledger and reserves an order's cost in it
before sending, all under one exclusive OS lock, re-reading what other processes
appended. Each record is flushed to disk before the lock is released.

Three things sit side by side in the ledger's folder (``ledger.jsonl`` here):

- ``ledger.jsonl``, the active file: what the spend guard reads before each order.
  It holds the lines that still matter to it: the lines of every order attempt of
  the last 48 hours (twice the caps' 24-hour window, so that a late ``cost`` line
  still finds its attempt), of every attempt not settled yet, and every ``price`` and
  ``price_hold`` line, whatever its age.
- ``ledger.jsonl.archive/``, the archive: numbered chunk files of lines moved out of
  the active file (``000001-20260321T120000Z-1a2b3c4d.jsonl``: a sequence number,
  then the time and a hash of the chunk's first line). Read them in number order.
- ``ledger.jsonl.lock``, the file every process locks. It is never replaced, so the
  active file can be.

No line is ever dropped. Once the active file holds more lines that no longer matter
than ``max(1000, lines that still matter)``, the next process to lock it moves every
line written since the last such rotation into a new archive chunk, in order, and
rewrites the active file with the lines that still matter only. A line kept that way
has its original in the archive: its copy in the active file starts with
``{"archived":"<chunk name>",`` and the history lists it once, from the archive.
``Ledger.history()`` reads the whole trail, oldest first: every chunk, then the lines
of the active file that are not such copies. A rotation cut short by a crash leaves a
chunk whose lines are all still in the active file: the history skips it, and the next
rotation writes the same chunk again.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


#LEDGER#

__all__ = [
    "MAX_REASON_LENGTH",
    "AuditEvent",
    "AuditRecord",
    "Ledger",
    "default_ledger_path",
    "process_is_gone",
    "this_process",
]
