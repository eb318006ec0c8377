"""What the tools talk to: the client, the spend guard and its ledger, confirmations.

``open_backend`` starts everything the settings ask for (the embedded simulator
included), opens the guard at start-up (an unusable ledger stops the server there,
not at the first order) and closes it all again; one backend serves every session.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from shared_client import HappyFollowerClient
from shared_client.errors import HappyFollowerLedgerError
from shared_client.guard import SpendGuard
from shared_client.ledger import AuditRecord, Ledger

from .settings import Settings, SettingsError

Environment = Literal["live", "sandbox", "simulated"]

SIMULATED_NOTICE = "SIMULATED: answered by the embedded simulator; nothing real was read or spent."
SANDBOX_NOTICE = "SANDBOX: the vendor's test environment; no real order is placed."


def notice_for(environment: Environment) -> str | None:
    return {"simulated": SIMULATED_NOTICE, "sandbox": SANDBOX_NOTICE}.get(environment)


_LOGGER = logging.getLogger(__name__)

SOURCE: Final = "mcp"
SIMULATED_CREDIT: Final = 50_000
CONFIRMATION_TTL: Final = 600.0  # seconds a confirmation question stays answerable

OrderKey = tuple[int, str, int]  # (service_id, link, count)
Closed = Literal["used", "superseded", "expired"]  # why an answer to a question no longer counts


@dataclass(frozen=True, slots=True)
class Dialog:
    """One confirmation question as it was shown: its ticket code, the order it asks about
    (as the guard validated it), its full text, whether that text warned that the order
    may duplicate one whose outcome is unknown, and the most it said the order may cost."""

    ticket: str
    order: OrderKey
    message: str
    duplicate_warned: bool
    expires_at: float
    cost_bound: float | None = None


class ConfirmationBook:
    """The confirmation questions shown to people, each with its own ticket.

    An answer counts for the question it answers only, once, and only while that question
    is the newest for its order: opening a question supersedes the open ones for the same
    order, so an answer to an older dialog never confirms a newer one. Closed questions are
    remembered for one more TTL, so that a late answer is refused with its reason.
    """

    def __init__(
        self, ttl: float = CONFIRMATION_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._dialogs: dict[str, Dialog] = {}  # by ticket, oldest first
        self._closed: dict[str, Closed] = {}

    def open(
        self,
        order: OrderKey,
        render: Callable[[str], str],
        *,
        duplicate_warned: bool,
        cost_bound: float | None = None,
    ) -> Dialog:
        """A new question for this order, its text ``render(ticket)``; the open questions
        for the same order are superseded."""
        now = self._clock()
        self._forget(now)
        for ticket, dialog in self._dialogs.items():
            if dialog.order == order and ticket not in self._closed:
                self._closed[ticket] = "superseded"
        ticket = secrets.token_hex(3).upper()
        while ticket in self._dialogs:
            ticket = secrets.token_hex(3).upper()
        dialog = Dialog(
            ticket, order, render(ticket), duplicate_warned, now + self._ttl, cost_bound
        )
        self._dialogs[ticket] = dialog
        return dialog

    def find(self, order: OrderKey, shown: Callable[[str], bool]) -> Dialog | None:
        """The newest question remembered for this order (open or closed) whose text passes
        ``shown``; None when there is none."""
        self._forget(self._clock())
        for dialog in reversed(self._dialogs.values()):
            if dialog.order == order and shown(dialog.message):
                return dialog
        return None

    def status(self, dialog: Dialog) -> Closed | None:
        """None while an answer to this question would count; otherwise why it would not."""
        if self._dialogs.get(dialog.ticket) is not dialog:
            return "expired"  # forgotten: it expired a TTL ago or more
        if dialog.ticket in self._closed:
            return self._closed[dialog.ticket]
        return "expired" if dialog.expires_at <= self._clock() else None

    def redeem(self, dialog: Dialog) -> Closed | None:
        """Close this question because it was answered. None when it was still open (the
        answer counts); otherwise why the answer does not count."""
        why = self.status(dialog)
        if why is None:
            self._closed[dialog.ticket] = "used"
        return why

    def _forget(self, now: float) -> None:
        for ticket in [t for t, d in self._dialogs.items() if d.expires_at + self._ttl <= now]:
            del self._dialogs[ticket]
            self._closed.pop(ticket, None)


class Backend:
    """The client, guard, ledger and confirmations one server uses."""

    def __init__(self, settings: Settings, client: HappyFollowerClient, ledger: Ledger) -> None:
        self.settings = settings
        self.client = client
        self.guard = SpendGuard(
            client,
            ledger,
            settings.caps,
            source=SOURCE,
            link_hosts=settings.allowed_link_hosts,
        )
        self.confirmations = ConfirmationBook()
        self.interrupted: list[AuditRecord] = []  # attempts a stopped process left behind

    @property
    def environment(self) -> Environment:
        return "simulated" if self.settings.simulate else self.settings.environment

    @property
    def result_fields(self) -> dict[str, Any]:
        """The fields every tool result starts with: which environment answered."""
        return {
            "environment": self.environment,
            "notice": notice_for(self.environment),
            "unit": self.settings.credit_unit,
        }

    async def open(self) -> None:
        """Open the guard: prove the ledger usable and learn of interrupted attempts."""
        try:
            self.interrupted = await self.guard.open()
        except HappyFollowerLedgerError as err:
            raise SettingsError(
                f"cannot use the audit ledger {self.guard.ledger.path}: {err} "
                "(fix its permissions or choose another file with --ledger / "
                "HAPPY_FOLLOWER_LEDGER; no order is placed without it)"
            ) from None
        for record in self.interrupted:
            _LOGGER.warning(
                "An order attempt was interrupted (%s, service %s, count %s, link %s): its "
                "outcome is unknown and it counts against the caps; check the credit and the "
                "order before ordering it again",
                record.at.isoformat(timespec="seconds"),
                record.service_id,
                record.count,
                record.link,
            )


@asynccontextmanager
async def open_backend(
    settings: Settings, *, base_url: str | None = None, retry_backoff: float | None = None
) -> AsyncIterator[Backend]:
    """Start and open the backend the settings describe. ``base_url`` overrides the API root
    (tests); otherwise ``settings.base_url`` does, or the embedded simulator's.
    ``retry_backoff`` overrides the client's wait between read retries (tests; None keeps
    the client's default)."""
    with tempfile.TemporaryDirectory(prefix="happy-follower-mcp-") as scratch:
        # Simulated orders must never count against, or mix with, real ones.
        if settings.simulate:
            ledger = Ledger(settings.ledger or Path(scratch) / "ledger.jsonl")
        else:
            ledger = Ledger(settings.ledger_path())
        if settings.simulate and base_url is None:
            # Imported here: only --simulate needs it, and it costs start-up time otherwise.
            from shared_client.simulator import Simulator  # noqa: PLC0415

            simulator = Simulator()
            await simulator.start("127.0.0.1", 0)
            try:
                api_key = simulator.add_account(credit=SIMULATED_CREDIT)
                root = simulator.sandbox_base_url if settings.sandbox else simulator.base_url
                async with _opened(settings, api_key, root, ledger, retry_backoff) as backend:
                    yield backend
            finally:
                await simulator.stop()
        else:
            api_key = settings.require_api_key()
            async with _opened(
                settings, api_key, base_url or settings.base_url, ledger, retry_backoff
            ) as backend:
                yield backend


@asynccontextmanager
async def _opened(
    settings: Settings, api_key: str, root: str | None, ledger: Ledger, retry_backoff: float | None
) -> AsyncIterator[Backend]:
    # Only an explicit backoff is passed on: the client alone owns its default.
    client = (
        HappyFollowerClient(api_key, sandbox=settings.sandbox, base_url=root)
        if retry_backoff is None
        else HappyFollowerClient(
            api_key, sandbox=settings.sandbox, base_url=root, retry_backoff=retry_backoff
        )
    )
    async with client:
        backend = Backend(settings, client, ledger)
        await backend.open()
        yield backend
