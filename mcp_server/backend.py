"""What the tools talk to: the client, the spend guard and its ledger, confirmations.

``open_backend`` starts everything the settings ask for (the embedded simulator
included) and closes it again; one backend serves every session of a server.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared_client import HappyFollowerClient
from shared_client.guard import JsonlAuditLedger, SpendGuard
from shared_client.validation import OrderRequest

from .models import Environment, notice_for
from .settings import ENV_API_KEY, Settings, SettingsError

_LOGGER = logging.getLogger(__name__)

SOURCE = "mcp"
SIMULATED_CREDIT = 50_000
CONFIRMATION_TTL = 600.0  # seconds a pending confirmation stays valid


def default_ledger_path(settings: Settings) -> Path:
    """Where the audit ledger lives unless configured: one file per environment."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    name = "mcp-ledger-sandbox.jsonl" if settings.sandbox else "mcp-ledger.jsonl"
    return Path(state) / "happy-follower" / name


@dataclass(slots=True)
class _Ticket:
    ticket_id: str
    expires_at: float


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
        self._tickets: dict[OrderRequest, _Ticket] = {}

    def ticket_for(self, order: OrderRequest) -> str:
        """The pending ticket of this order, or a new one."""
        now = self._clock()
        self._tickets = {key: t for key, t in self._tickets.items() if t.expires_at > now}
        ticket = self._tickets.get(order)
        if ticket is None:
            ticket = _Ticket(secrets.token_hex(3).upper(), now + self._ttl)
            self._tickets[order] = ticket
        return ticket.ticket_id

    def redeem(self, order: OrderRequest) -> bool:
        """Use up this order's ticket; False when there is none (used or expired)."""
        ticket = self._tickets.pop(order, None)
        return ticket is not None and ticket.expires_at > self._clock()


class Backend:
    """The client, guard, ledger and confirmations one server uses."""

    def __init__(
        self,
        settings: Settings,
        client: HappyFollowerClient,
        ledger: JsonlAuditLedger,
    ) -> None:
        self.settings = settings
        self.client = client
        self.ledger = ledger
        self.guard = SpendGuard(
            settings.caps, source=SOURCE, history=ledger.load(), record=ledger.append_async
        )
        self.confirmations = ConfirmationBook()

    @property
    def environment(self) -> Environment:
        return self.settings.environment

    @property
    def result_fields(self) -> dict[str, Any]:
        """The fields every tool result starts with: which environment answered."""
        return {"environment": self.environment, "notice": notice_for(self.environment)}

    async def audit_refusal(self, order: OrderRequest, reason: str) -> None:
        """Record an order refused before it reached the guard (declined, unconfirmable)."""
        await self.guard.record_refusal(order, reason, sandbox=self.client.sandbox)


@asynccontextmanager
async def open_backend(
    settings: Settings, *, base_url: str | None = None
) -> AsyncIterator[Backend]:
    """Start the backend the settings describe. ``base_url`` overrides the API root (tests)."""
    with tempfile.TemporaryDirectory(prefix="happy-follower-mcp-") as scratch:
        ledger_path = settings.ledger
        if ledger_path is None:
            # Simulated orders must never count against, or mix with, real ones.
            ledger_path = Path(scratch) / "ledger.jsonl"
            if not settings.simulate:
                ledger_path = default_ledger_path(settings)
        ledger = JsonlAuditLedger(ledger_path)
        if settings.simulate and base_url is None:
            # Imported here: only --simulate needs it, and it costs start-up time otherwise.
            from shared_client.simulator import Simulator  # noqa: PLC0415

            simulator = Simulator()
            await simulator.start("127.0.0.1", 0)
            try:
                api_key = simulator.add_account(credit=SIMULATED_CREDIT)
                root = simulator.sandbox_base_url if settings.sandbox else simulator.base_url
                async with _client(settings, api_key, root) as client:
                    yield Backend(settings, client, ledger)
            finally:
                await simulator.stop()
        else:
            if settings.api_key is None:
                raise SettingsError(f"no API key: set {ENV_API_KEY}")
            async with _client(settings, settings.api_key, base_url) as client:
                yield Backend(settings, client, ledger)


def _client(settings: Settings, api_key: str, base_url: str | None) -> HappyFollowerClient:
    return HappyFollowerClient(api_key, sandbox=settings.sandbox, base_url=base_url)
