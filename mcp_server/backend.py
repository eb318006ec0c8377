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
from typing import Any, Final

from shared_client import HappyFollowerClient
from shared_client.errors import HappyFollowerLedgerError
from shared_client.guard import SpendGuard
from shared_client.ledger import AuditRecord, Ledger

from .models import Environment, notice_for
from .settings import Settings, SettingsError

_LOGGER = logging.getLogger(__name__)

SOURCE: Final = "mcp"
SIMULATED_CREDIT: Final = 50_000
CONFIRMATION_TTL: Final = 600.0  # seconds a pending confirmation stays valid

OrderKey = tuple[int, str, int]  # (service_id, link, count) exactly as the tool got them


@dataclass(frozen=True, slots=True)
class Ticket:
    """One pending confirmation: its code, and whether the person was warned that the
    order may duplicate one whose outcome is unknown."""

    ticket_id: str
    expires_at: float
    duplicate_warned: bool


class ConfirmationBook:
    """Pending confirmations, each bound to one exact order and redeemable once.

    The confirmation question shows the ticket id, and a recorded answer only
    counts for the exact question it answered. Redeeming removes the ticket, so a
    replayed answer meets a new ticket, hence a new question, and places nothing.
    """

    def __init__(
        self, ttl: float = CONFIRMATION_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._tickets: dict[OrderKey, Ticket] = {}

    def ticket_for(self, order: OrderKey, *, duplicate_warned: bool = False) -> str:
        """The pending ticket of this order, or a new one (also when the warning changed)."""
        now = self._clock()
        self._tickets = {key: t for key, t in self._tickets.items() if t.expires_at > now}
        ticket = self._tickets.get(order)
        if ticket is None or ticket.duplicate_warned != duplicate_warned:
            ticket = Ticket(secrets.token_hex(3).upper(), now + self._ttl, duplicate_warned)
            self._tickets[order] = ticket
        return ticket.ticket_id

    def redeem(self, order: OrderKey) -> Ticket | None:
        """Use up this order's ticket; None when there is none (used or expired)."""
        ticket = self._tickets.pop(order, None)
        if ticket is None or ticket.expires_at <= self._clock():
            return None
        return ticket


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
        return {"environment": self.environment, "notice": notice_for(self.environment)}

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
    settings: Settings, *, base_url: str | None = None
) -> AsyncIterator[Backend]:
    """Start and open the backend the settings describe. ``base_url`` overrides the API root
    (tests); otherwise ``settings.base_url`` does, or the embedded simulator's."""
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
                async with _opened(settings, api_key, root, ledger) as backend:
                    yield backend
            finally:
                await simulator.stop()
        else:
            api_key = settings.require_api_key()
            async with _opened(settings, api_key, base_url or settings.base_url, ledger) as backend:
                yield backend


@asynccontextmanager
async def _opened(
    settings: Settings, api_key: str, root: str | None, ledger: Ledger
) -> AsyncIterator[Backend]:
    async with HappyFollowerClient(api_key, sandbox=settings.sandbox, base_url=root) as client:
        backend = Backend(settings, client, ledger)
        await backend.open()
        yield backend
