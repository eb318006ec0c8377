"""The tools that change something at Happy Follower: place, cancel and re-check orders.

Placing an order runs in two steps: the resolvers check the order and ask the user (MCP
elicitation), then the handler places it through the spend guard. This module does not use
``from __future__ import annotations``: the SDK reads the handlers' annotations at
registration.

An answer counts for the question it answered (invariant I12), in both protocol eras:
- Every question shown is a ``Dialog`` with its own ticket, on its last line. A new question
  for an order supersedes the open ones for the same order; a ticket counts once.
- 2025 clients (legacy) answer inside the same ``tools/call``, as the reply to its
  ``elicitation/create`` request: the call holds its own dialog and redeems that ticket.
- 2026-07-28 clients answer by calling the tool again with the answer and the SDK's sealed
  ``request_state``, which holds a digest of the exact question asked. The resolver finds the
  dialog with that digest; the SDK takes the answer only if the question is the same text.
An answer to an older dialog or a reused one is refused and audited: it never confirms a
newer question, whatever their texts. The guard still refuses a possible duplicate that the
answered question did not warn of.
"""

import base64
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any, Final, Literal, NoReturn

from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.request_state import compact_json
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitRequestFormParams
from mcp_types.version import is_version_at_least

from shared_client import HappyFollowerError
from shared_client.errors import HappyFollowerOrderOutcomeUnknownError
from shared_client.guard import OrderQuote, PlacedOrder
from shared_client.validation import OrderRequest

from .arguments import OrderId, ServiceId, count_type, link_type
from .backend import Backend, Closed, Dialog, OrderKey
from .errors import guarded, tool_error
from .models import OrderActionResult, OrderConfirmation, PlaceOrderResult
from .tools import COST_HELP

_LOGGER = logging.getLogger(__name__)

OPERATOR_APPROVAL: Final = "operator"
NO_ELICITATION: Final = (
    "Nothing was placed: this client cannot show the user a confirmation (it does not "
    "support MCP elicitation), and this server places orders only after the user "
    "confirms them. Use a client that supports elicitation, or the operator can start "
    "the server with --allow-unconfirmed-orders."
)
PLACE_ORDER_HELP: Final = (
    "Place an order: Happy Follower delivers `count` likes, followers or views of the "
    "service to the Instagram link. SPENDS REAL CREDIT and cannot be undone. "
    + COST_HELP
    + " The user is asked to confirm on clients that support it; the server's caps apply "
    "whatever happens, and it takes no other arguments (nothing like a cost limit: the caps "
    "are the operator's). If the outcome is unknown, do not order again: check "
    "get_order_status, get_credit and list_orders first."
)
_WHERE: Final = {
    "live": "LIVE: this spends real credit",
    "sandbox": "SANDBOX: vendor test environment",
    "simulated": "SIMULATED: nothing real is ordered or spent",
}


OUTCOME_UNKNOWN: Final = (
    "outcome unknown — do not retry; check with get_order_status/get_credit/list_orders"
)
CONFIRMED_BY: Final = {
    "user": "user (MCP elicitation)",
    "operator": "operator (--allow-unconfirmed-orders)",
}


def can_elicit(ctx: Context) -> bool:
    """True when the client declared form elicitation (a bare capability counts as form)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


INPUT_REQUIRED_VERSION: Final = "2026-07-28"  # answers arrive in a retry from here on
_QUESTION_SCHEMA: Final = render_elicitation_schema(OrderConfirmation)
REFUSALS: Final[dict[Closed, tuple[str, str]]] = {
    # why -> (audit reason, what the model is told); {ticket} is the dialog's code
    "superseded": (
        "confirmation {ticket} answered after a newer question for the same order",
        "Nothing was placed: this answer is to an older confirmation question (code "
        "{ticket}); a newer question for the same order was shown since, and only the newest "
        "one counts. Answer that one, or call place_order again to ask the user again.",
    ),
    "used": (
        "confirmation {ticket} already used",
        "Nothing was placed: confirmation {ticket} was already used (each counts once). "
        "Call place_order again to ask the user again.",
    ),
    "expired": (
        "confirmation {ticket} expired",
        "Nothing was placed: confirmation {ticket} has expired. Call place_order again to ask "
        "the user again.",
    ),
}


def confirmation_message(backend: Backend, quote: OrderQuote, ticket: str) -> str:
    """The question the user answers: the guard's fixed lines, then this dialog's code."""
    lines = quote.confirmation_lines(_WHERE[backend.environment], backend.settings.credit_unit)
    lines.append(
        f"Confirmation {ticket}: valid once, for this order only; a newer question for the "
        "same order replaces it."
    )
    return "\n".join(lines)


def question_digest(message: str, schema: dict[str, Any] = _QUESTION_SCHEMA) -> str:
    """What the SDK's ``request_state`` records of a confirmation question asked (an order's
    by default, a price's with its schema): its digest of the rendered
    ``elicitation/create`` params (``_request_digest`` in ``mcp.server.mcpserver.resolve``;
    tests pin the two together). Were they ever to differ, no dialog would be found and
    the SDK would ask again: nothing is placed."""
    params = ElicitRequestFormParams(message=message, requested_schema=schema)
    rendered = compact_json(params.model_dump(mode="json", by_alias=True, exclude_none=True))
    digest = hashlib.sha256(rendered.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def asked_digests(ctx: Context) -> set[str]:
    """On a 2026-07-28 retry, the digests of the questions it answers (from the SDK's
    sealed ``request_state``, which only the SDK mints); empty otherwise."""
    version = ctx.protocol_version
    if version is None or not is_version_at_least(version, INPUT_REQUIRED_VERSION):
        return set()
    if not ctx.input_responses:  # no answer: nothing to find, ask anew
        return set()
    try:
        state = json.loads(ctx.request_state or "{}")
    except ValueError:
        return set()
    if not isinstance(state, dict):
        return set()
    asked, outcomes = state.get("asked"), state.get("outcomes")
    digests = list(asked.values()) if isinstance(asked, dict) else []
    if isinstance(outcomes, dict):  # answers recorded in an earlier round
        digests += [o.get("q") for o in outcomes.values() if isinstance(o, dict)]
    return {q for q in digests if isinstance(q, str)}


@dataclass(frozen=True, slots=True)
class Asked:
    """The order as the guard priced it in this call, and how it is approved: the dialog
    asked (the user answers it) or ``OPERATOR_APPROVAL``."""

    quote: OrderQuote
    dialog: Dialog | str

    @property
    def confirmed(self) -> OrderQuote:
        """The quote to place: at most the cost the user's question showed."""
        if isinstance(self.dialog, Dialog):
            return replace(self.quote, cost_bound=self.dialog.cost_bound)
        return self.quote


def make_open_dialog(
    backend: Backend,
) -> Callable[[int, str, int, Context], Awaitable[Asked]]:
    async def open_dialog(service_id: int, link: str, count: int, ctx: Context) -> Asked:
        """Resolver: check the order (input, service, caps) and give the question to ask:
        the dialog this call answers (a 2026 retry) or a new one. Refusals are audited."""
        return await before_sending(lambda: dialog_for(service_id, link, count, ctx))

    async def dialog_for(service_id: int, link: str, count: int, ctx: Context) -> Asked:
        # The arguments' types applied the input policy (``arguments``): the order as typed.
        order = OrderRequest(service_id, link, count)
        quote = await guarded(backend.environment, lambda: backend.guard.prepare_request(order))
        if can_elicit(ctx):
            book = backend.confirmations
            key = (quote.order.service_id, quote.order.link, quote.order.count)

            def render(ticket: str) -> str:
                return confirmation_message(backend, quote, ticket)

            asked = asked_digests(ctx)  # empty unless a 2026 retry carries an answer
            answered = (
                book.find(key, lambda text: question_digest(text) in asked) if asked else None
            )
            # A closed dialog is asked as it was shown, so that its answer is refused (and
            # audited); an open one only while the order still reads the same.
            if answered is not None and (
                book.status(answered) is not None or render(answered.ticket) == answered.message
            ):
                return Asked(quote, answered)
            warned = quote.possible_duplicate is not None
            dialog = book.open(key, render, duplicate_warned=warned, cost_bound=quote.cost_bound)
            return Asked(quote, dialog)
        if backend.settings.allow_unconfirmed_orders:
            return Asked(quote, OPERATOR_APPROVAL)
        reason = "the client cannot ask the user to confirm (no elicitation support)"
        await refuse(backend, (service_id, link, count), reason, NO_ELICITATION)

    return open_dialog


def make_confirm(
    open_dialog: Callable[[int, str, int, Context], Awaitable[Asked]],
) -> Callable[[Asked], Awaitable[Elicit[OrderConfirmation] | str]]:
    async def confirm(
        asked: Annotated[Asked, Resolve(open_dialog)],
    ) -> Elicit[OrderConfirmation] | str:
        """Resolver: ask the user the dialog's question, word for word."""
        if isinstance(asked.dialog, Dialog):
            return Elicit(asked.dialog.message, OrderConfirmation)
        return asked.dialog

    return confirm


async def before_sending[T](call: Callable[[], Awaitable[T]]) -> T:
    """Run a step before the order is sent; a crash in it is a clear error, not a bare one."""
    try:
        return await call()
    except (ToolError, MCPError):
        raise
    except Exception:
        _LOGGER.exception("Unexpected failure before an order was sent")
        raise ToolError(
            "Nothing was placed: checking the order failed on this server. Try again; if it "
            "keeps failing, the server's log (stderr) says why."
        ) from None


async def refuse(
    backend: Backend,
    order: tuple[object, object, object],  # as asked: refusals keep what is well-formed
    reason: str,
    message: str,
    *,
    confirmed_by: str | None = None,
) -> NoReturn:
    """Audit an order refused here (nothing was sent) and tell the model why."""
    try:
        await backend.guard.record_refusal(*order, reason=reason, confirmed_by=confirmed_by)
    except HappyFollowerError as err:
        _LOGGER.error("A refused order could not be audited: %s", err)
        message += f" (The refusal could not be written to the audit ledger: {err})"
    raise ToolError(message)


async def approval(
    backend: Backend,
    order: OrderKey,
    dialog: Dialog | str,
    confirmation: ElicitationResult[Any],
) -> tuple[Literal["user", "operator"], bool]:
    """Who approved the order, and whether they saw a duplicate warning; refuses (and
    audits) anything but a yes to an open question, which this answer closes."""
    data: object = confirmation.data if isinstance(confirmation, AcceptedElicitation) else None
    if not isinstance(dialog, Dialog):  # OPERATOR_APPROVAL: no question was asked
        return "operator", False
    closed = backend.confirmations.redeem(dialog)
    if isinstance(data, OrderConfirmation) and data.confirm:
        if closed is not None:
            reason, message = REFUSALS[closed]
            await refuse(
                backend,
                order,
                reason.format(ticket=dialog.ticket),
                message.format(ticket=dialog.ticket),
                confirmed_by=CONFIRMED_BY["user"],
            )
        return "user", dialog.duplicate_warned
    answer = "confirm: no" if data is not None else confirmation.action
    await refuse(
        backend,
        order,
        f"not confirmed by the user ({answer})",
        "Nothing was placed: the user did not confirm the order.",
    )


async def place(
    backend: Backend,
    quote: OrderQuote,
    approved_by: Literal["user", "operator"],
    warned: bool,
) -> PlacedOrder:
    """Place the quote through the guard, at no more than the cost it holds (the one the
    user was shown); every failure becomes a clear tool error."""
    try:
        return await backend.guard.place_order(
            quote, confirmed_by=CONFIRMED_BY[approved_by], duplicate_confirmed=warned
        )
    except HappyFollowerOrderOutcomeUnknownError as err:
        raise ToolError(f"{_simulated(backend)}Order sent, {OUTCOME_UNKNOWN}. {err}") from None
    except HappyFollowerError as err:
        raise tool_error(err, backend.environment) from None
    except Exception:
        _LOGGER.exception("Unexpected failure while placing an order")
        raise ToolError(
            f"{_simulated(backend)}Something failed on this server while the order was being "
            f"placed; it may or may not have been placed: {OUTCOME_UNKNOWN}."
        ) from None


def _simulated(backend: Backend) -> str:
    return "[SIMULATED] " if backend.environment == "simulated" else ""


def make_place_order(backend: Backend) -> Callable[..., Awaitable[PlaceOrderResult]]:
    open_dialog = make_open_dialog(backend)
    confirm = make_confirm(open_dialog)
    Count = count_type(backend.settings.caps.max_count_per_order)
    Link = link_type(backend.guard.link_hosts)

    async def place_order(
        service_id: ServiceId,
        link: Link,  # type: ignore[valid-type]
        count: Count,  # type: ignore[valid-type]
        asked: Annotated[Asked, Resolve(open_dialog)],
        confirmation: Annotated[ElicitationResult[OrderConfirmation], Resolve(confirm)],
    ) -> PlaceOrderResult:
        order: OrderKey = (service_id, link, count)
        approved_by, warned = await before_sending(
            lambda: approval(backend, order, asked.dialog, confirmation)
        )
        placed = await place(backend, asked.confirmed, approved_by, warned)
        return PlaceOrderResult(
            order_id=placed.order_id,
            service_id=placed.service_id,
            link=placed.link,
            count=placed.count,
            cost=placed.cost,
            estimated_cost=placed.estimated_cost,
            cost_bound=placed.cost_bound,
            cost_anomaly=placed.anomaly,
            confirmed_by=approved_by,
            **backend.result_fields,
        )

    place_order.__doc__ = PLACE_ORDER_HELP
    return place_order


def make_cancel_order(backend: Backend) -> Callable[[OrderId], Awaitable[OrderActionResult]]:
    async def cancel_order(order_id: OrderId) -> OrderActionResult:
        """Cancel an order that has not finished; the undelivered part is refunded. Only
        registered or in-progress orders can be cancelled. Not available in the sandbox."""
        await guarded(backend.environment, lambda: backend.client.cancel_order(order_id))
        return OrderActionResult(
            order_id=order_id, action="cancel", accepted=True, **backend.result_fields
        )

    return cancel_order


def make_recheck_order(backend: Backend) -> Callable[[OrderId], Awaitable[OrderActionResult]]:
    async def recheck_order(order_id: OrderId) -> OrderActionResult:
        """Ask Happy Follower to re-check an order's delivery (e.g. when likes dropped).
        Costs nothing. Not available in the sandbox."""
        await guarded(backend.environment, lambda: backend.client.recheck_order(order_id))
        return OrderActionResult(
            order_id=order_id, action="recheck", accepted=True, **backend.result_fields
        )

    return recheck_order
