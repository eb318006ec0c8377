"""The confirm_price tool: the user stands behind a service's price per unit.

Under a spend cap only a price a person stands behind bounds an order (invariant I10): the
operator's (``--unit-prices``) or one a person confirmed (a ``price`` line in the ledger). A
price the vendor was seen to charge is only offered. A language model cannot stand behind a
price: this tool asks the USER (MCP elicitation), showing the service, the price and where
it was seen, and writes the price only on their yes. A client without elicitation is
refused whatever the settings: ``--allow-unconfirmed-orders`` approves orders, not prices.

Answers are bound as place_order's are (``orders``): every question shown is a ``Dialog``
with its own ticket, in a ``ConfirmationBook`` of its own, keyed by service (a newer
question about a service's price supersedes the open ones); a 2025 client answers inside
its own call, a 2026-07-28 retry finds its dialog by the SDK's digest of the question it
answers; a ticket counts once; the price written is the one the answered text shows.

This module does not use ``from __future__ import annotations``: the SDK reads the
handler's annotations at registration.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final
from weakref import WeakKeyDictionary

from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from pydantic import BeforeValidator, Field

from shared_client.validation import amount_text, display_text, positive_amount

from . import orders
from .arguments import ServiceId
from .backend import Backend, Closed, ConfirmationBook, Dialog, OrderKey
from .errors import OPERATOR_CONFIRMS, OPERATOR_PRICES, guarded
from .models import PriceConfirmation, PriceResult
from .orders import CONFIRMED_BY, asked_digests, can_elicit

_LOGGER = logging.getLogger(__name__)

EXAMPLE_COUNT: Final = 100  # the count the question's example reserves for
NO_ELICITATION: Final = (
    "No price was written: this client cannot ask the user (it does not support MCP "
    "elicitation), and a price per unit bounds orders only when a person stands behind it: "
    "the assistant cannot confirm one alone. --allow-unconfirmed-orders does not change "
    "this: it approves orders, not prices. The user can confirm the price from a client "
    f"that supports elicitation; or {OPERATOR_PRICES}, or "
    f"{OPERATOR_CONFIRMS.format(service_id='<service_id>')}, which also lets a service "
    "stopped after a price rise order again."
)
CLOSED_REFUSALS: Final[dict[Closed, str]] = {
    "superseded": "No price was written: this answer is to an older question (code {ticket}); "
    "a newer question about this service's price was shown since, and only the newest one "
    "counts. Answer that one, or call confirm_price again to ask the user again.",
    "used": "No price was written: confirmation {ticket} was already used (each counts once). "
    "Call confirm_price again to ask the user again.",
    "expired": "No price was written: confirmation {ticket} has expired. Call confirm_price "
    "again to ask the user again.",
}
CHANGED: Final = (
    "No price was written: since confirmation {ticket} was shown, what it says changed (the "
    "price in force, or a stop of the service's orders). Call confirm_price again to ask the "
    "user again."
)
DECLINED: Final = "No price was written: the user did not confirm the price."
CONFIRM_PRICE_HELP: Final = (
    "Ask the USER to confirm a price per unit for a service (a dialog in their client), so "
    "that under the operator's spend cap its orders can be placed: each order of the service "
    "then reserves its count times this price against the cap. The API lists no prices: "
    "by default the price is the one the service was seen to charge here (an earlier "
    "order's status); give unit_price only when the user told you another. Use it when "
    "place_order says the cost cannot be bounded or the service's price changed. Writes the "
    "price to the local audit ledger only on the user's yes; nothing reaches Happy "
    "Follower. Refused on clients that cannot ask the user."
)
_WHERE: Final = {
    "live": "LIVE: orders of this service spend real credit",
    "sandbox": "SANDBOX: vendor test environment; its prices never bound live orders",
    "simulated": "SIMULATED: nothing real is ordered or spent",
}
_QUESTION_SCHEMA: Final = render_elicitation_schema(PriceConfirmation)


def _read_price(value: object) -> float | None:
    """A price per unit as typed (Persian digits too), read as every front-end reads it."""
    return None if value is None else positive_amount(value, "the price per unit")


UnitPrice = Annotated[
    float | None,
    Field(
        description="Price per unit, in the account's currency. Leave it out to confirm the "
        "price the service was seen to charge (the usual case)"
    ),
    BeforeValidator(_read_price),
]


_BOOKS: WeakKeyDictionary[Backend, ConfirmationBook] = WeakKeyDictionary()


def price_questions(backend: Backend) -> ConfirmationBook:
    """The price questions shown by this backend's servers (apart from order questions)."""
    book = _BOOKS.get(backend)
    if book is None:
        book = _BOOKS[backend] = ConfirmationBook()
    return book


def _key(service_id: int) -> OrderKey:
    """A price question's key in its book: by service, so the newest question counts."""
    return (service_id, "unit price", 0)


def question_digest(message: str) -> str:
    """The SDK's digest of a price question asked (``orders.question_digest``)."""
    return orders.question_digest(message, _QUESTION_SCHEMA)


@dataclass(frozen=True, slots=True)
class _Question:
    """What a price question says, before it has a ticket."""

    service_id: int
    name: str  # display-safe
    unit_price: float
    seen: str | None
    offer: tuple[float, str] | None

    def message(self, backend: Backend, ticket: str) -> str:
        guard, price = backend.guard, amount_text(self.unit_price)
        current = guard.unit_price(self.service_id)
        held = guard.held_services().get(self.service_id)
        cap = guard.caps.max_spend_per_day
        lines = [
            "Confirm this price per unit for a Happy Follower service? "
            f"({_WHERE[backend.environment]})",
            f"Service: {self.service_id} - {self.name}",
            f"Price per unit: {price}",
            self._seen_line(),
            f"Price now: {amount_text(current[0])} ({current[1]})"
            if current is not None
            else "Price now: none (under a spend cap its orders are refused)",
        ]
        if held is not None:
            lines.append(
                f"Orders of this service are stopped: it charged {amount_text(held)} per unit, "
                "more than an order's bound. Yes lets them go again."
            )
        if self.offer is not None and self.unit_price < self.offer[0]:
            lines.append(
                f"WARNING: below what it was seen to charge ({amount_text(self.offer[0])} per "
                f"unit, {self.offer[1]}): its orders may cost more than they reserve."
            )
        spend_cap = (
            f"the spend cap ({amount_text(cap)} per 24 hours)"
            if cap is not None
            else "the spend cap (none is set now)"
        )
        operator = guard.caps.unit_prices.get(self.service_id)
        bounding = self.unit_price
        meaning = f"Meaning: each order of this service then reserves its count times {price}"
        if operator is not None and operator > self.unit_price:
            bounding = float(operator)
            meaning = (
                f"Meaning: the operator's price ({amount_text(bounding)}) stays higher and "
                f"keeps bounding its orders: each reserves its count times {amount_text(bounding)}"
            )
        lines += [
            f"{meaning} against {spend_cap}; {EXAMPLE_COUNT} units reserve "
            f"{EXAMPLE_COUNT * bounding:.10g}.",
            f"Confirmation {ticket}: valid once, for this price only; a newer question about "
            "this service's price replaces it.",
        ]
        return "\n".join(lines)

    def _seen_line(self) -> str:
        if self.seen is not None:
            return f"Seen: {self.seen}"
        if self.offer is None:
            return "Seen: never charged here; the assistant gave this price"
        seen_price, where = self.offer
        return f"Seen: {amount_text(seen_price)} per unit ({where}); the assistant gave this price"


@dataclass(frozen=True, slots=True)
class PriceDialog:
    """A price question shown to the user, with what its text says."""

    dialog: Dialog
    question: _Question

    def reads_the_same(self, backend: Backend) -> bool:
        """Whether the question, asked now, would read as it was shown."""
        return self.question.message(backend, self.dialog.ticket) == self.dialog.message


async def _question(backend: Backend, service_id: int, unit_price: float | None) -> _Question:
    """What to ask: the service as listed, the price given or seen. Refuses (a tool error)
    an unknown service or a price that is neither given nor seen."""
    listed = await guarded(backend.environment, backend.client.get_services)
    names = {service.service_id: service.name for service in listed}
    if service_id not in names:
        raise ToolError(
            f"No price was written: service {service_id} is not among the active services "
            "(list_services lists them)."
        )
    await guarded(backend.environment, backend.guard.refresh)
    offer = backend.guard.price_offer(service_id)
    if unit_price is None:
        if offer is None:
            raise ToolError(
                f"No price was written: service {service_id} was not seen to charge a price "
                "here yet, so there is none to confirm. Give unit_price if the user told you "
                f"one (they are asked to confirm it), or {OPERATOR_PRICES}."
            )
        unit_price = offer[0]
    seen = offer[1] if offer is not None and offer[0] == unit_price else None
    return _Question(service_id, display_text(names[service_id]), unit_price, seen, offer)


async def _checked[T](call: Callable[[], Awaitable[T]]) -> T:
    """Run a step; a crash in it is a clear error, not a bare one."""
    try:
        return await call()
    except (ToolError, MCPError):
        raise
    except Exception:
        _LOGGER.exception("Unexpected failure while confirming a price")
        raise ToolError(
            "No price was written: confirming it failed on this server. Try again; if it keeps "
            "failing, the server's log (stderr) says why."
        ) from None


def make_open_dialog(
    backend: Backend,
) -> Callable[[int, float | None, Context], Awaitable[PriceDialog]]:
    book = price_questions(backend)

    async def open_dialog(service_id: int, unit_price: float | None, ctx: Context) -> PriceDialog:
        """Resolver: the question to ask, the dialog this call answers (a 2026 retry) or a
        new one. Refused on a client that cannot ask the user."""
        if not can_elicit(ctx):
            raise ToolError(NO_ELICITATION)
        question = await _checked(lambda: _question(backend, service_id, unit_price))

        def render(ticket: str) -> str:
            return question.message(backend, ticket)

        def dialog(shown: Dialog) -> PriceDialog:
            return PriceDialog(shown, question)

        asked = asked_digests(ctx)
        answered = book.find(_key(service_id), lambda text: question_digest(text) in asked)
        # A closed dialog is asked as it was shown, so that its answer is refused; an open
        # one only while it still reads the same (then its price is this one).
        if answered is not None and (
            book.status(answered) is not None or dialog(answered).reads_the_same(backend)
        ):
            return dialog(answered)
        return dialog(book.open(_key(service_id), render, duplicate_warned=False))

    return open_dialog


def make_ask(
    open_dialog: Callable[[int, float | None, Context], Awaitable[PriceDialog]],
) -> Callable[[PriceDialog], Awaitable[Elicit[PriceConfirmation]]]:
    async def ask(
        dialog: Annotated[PriceDialog, Resolve(open_dialog)],
    ) -> Elicit[PriceConfirmation]:
        """Resolver: ask the user the dialog's question, word for word."""
        return Elicit(dialog.dialog.message, PriceConfirmation)

    return ask


def make_confirm_price(backend: Backend) -> Callable[..., Awaitable[PriceResult]]:
    open_dialog = make_open_dialog(backend)
    ask = make_ask(open_dialog)
    book = price_questions(backend)

    async def confirm_price(
        service_id: ServiceId,
        dialog: Annotated[PriceDialog, Resolve(open_dialog)],
        confirmation: Annotated[ElicitationResult[PriceConfirmation], Resolve(ask)],
        unit_price: UnitPrice = None,
    ) -> PriceResult:
        data: Any = confirmation.data if isinstance(confirmation, AcceptedElicitation) else None
        closed = book.redeem(dialog.dialog)
        if not (isinstance(data, PriceConfirmation) and data.confirm):
            raise ToolError(DECLINED)
        ticket = dialog.dialog.ticket
        if closed is not None:
            raise ToolError(CLOSED_REFUSALS[closed].format(ticket=ticket))
        # A 2025 client answers inside the call: what the question says (the price in force,
        # a stop) may have changed while it was open. The answer counts only if it did not.
        await guarded(backend.environment, backend.guard.refresh)
        if not dialog.reads_the_same(backend):
            raise ToolError(CHANGED.format(ticket=ticket))
        return await _checked(lambda: _write(backend, dialog))

    confirm_price.__doc__ = CONFIRM_PRICE_HELP
    return confirm_price


async def _write(backend: Backend, dialog: PriceDialog) -> PriceResult:
    """Write the price the user confirmed; what bounds the service's orders now."""
    guard, question = backend.guard, dialog.question
    service_id = question.service_id
    held = service_id in guard.held_services()
    price = await guarded(
        backend.environment,
        lambda: guard.confirm_price(
            service_id, question.unit_price, confirmed_by=CONFIRMED_BY["user"]
        ),
    )
    bounding = guard.unit_price(service_id)
    if bounding is None:  # the guard just wrote it: never, unless the ledger lost the line
        raise ToolError("The price was not written to the audit ledger; try again.")
    return PriceResult(
        service_id=service_id,
        unit_price=price,
        seen_from=question.seen,
        bounding_unit_price=bounding[0],
        bounding_basis=bounding[1],
        confirmed_by="user",
        hold_lifted=held and service_id not in guard.held_services(),
        **backend.result_fields,
    )
