"""The tools that change something at Happy Follower: place, cancel and re-check orders.

Placing an order runs in two steps: the resolver ``confirm`` checks the order and asks
the user (MCP elicitation), then the handler places it through the spend guard. This
module does not use ``from __future__ import annotations``: the SDK reads the handlers'
annotations at registration.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, Literal, NoReturn

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError

from shared_client import HappyFollowerError
from shared_client.errors import HappyFollowerOrderOutcomeUnknownError
from shared_client.guard import OrderQuote, PlacedOrder

from .arguments import Link, OrderId, ServiceId, count_type
from .backend import Backend, OrderKey
from .errors import guarded, tool_error
from .models import OrderActionResult, OrderConfirmation, PlaceOrderResult
from .reads import COST_HELP

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


def confirmation_message(backend: Backend, quote: OrderQuote, ticket: str) -> str:
    """The question the user answers: the guard's fixed lines, then this ticket's code.
    The same text for the same ticket, so a recorded answer counts for this question only."""
    lines = quote.confirmation_lines(_WHERE[backend.environment])
    lines.append(f"Confirmation {ticket}: valid for this order only, once.")
    return "\n".join(lines)


def make_confirm(
    backend: Backend,
) -> Callable[[int, str, int, Context], Awaitable[Elicit[OrderConfirmation] | str]]:
    async def confirm(
        service_id: int, link: str, count: int, ctx: Context
    ) -> Elicit[OrderConfirmation] | str:
        """Resolver: check the order (input, service, caps), then ask the user to confirm
        exactly what will be sent. Refusals are audited by the guard."""
        return await before_sending(lambda: ask(service_id, link, count, ctx))

    async def ask(
        service_id: int, link: str, count: int, ctx: Context
    ) -> Elicit[OrderConfirmation] | str:
        quote = await guarded(
            backend.environment, lambda: backend.guard.quote(service_id, link, count)
        )
        if can_elicit(ctx):
            ticket = backend.confirmations.ticket_for(
                (service_id, link, count), duplicate_warned=quote.possible_duplicate is not None
            )
            return Elicit(confirmation_message(backend, quote, ticket), OrderConfirmation)
        if backend.settings.allow_unconfirmed_orders:
            return OPERATOR_APPROVAL
        reason = "the client cannot ask the user to confirm (no elicitation support)"
        await refuse(backend, (service_id, link, count), reason, NO_ELICITATION)

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


async def refuse(backend: Backend, order: OrderKey, reason: str, message: str) -> NoReturn:
    """Audit an order refused here (nothing was sent) and tell the model why."""
    try:
        await backend.guard.record_refusal(*order, reason=reason)
    except HappyFollowerError as err:
        _LOGGER.error("A refused order could not be audited: %s", err)
        message += f" (The refusal could not be written to the audit ledger: {err})"
    raise ToolError(message)


async def approval(
    backend: Backend, order: OrderKey, confirmation: ElicitationResult[Any]
) -> tuple[Literal["user", "operator"], bool]:
    """Who approved the order, and whether they saw a duplicate warning; refuses (and
    audits) anything but a fresh yes."""
    data: object = confirmation.data if isinstance(confirmation, AcceptedElicitation) else None
    if data == OPERATOR_APPROVAL:
        return "operator", False
    if isinstance(data, OrderConfirmation) and data.confirm:
        ticket = backend.confirmations.redeem(order)
        if ticket is None:
            await refuse(
                backend,
                order,
                "confirmation already used or expired",
                "Nothing was placed: this confirmation was already used or has expired. "
                "Call place_order again to ask the user again.",
            )
        return "user", ticket.duplicate_warned
    answer = "confirm: no" if data is not None else confirmation.action
    await refuse(
        backend,
        order,
        f"not confirmed by the user ({answer})",
        "Nothing was placed: the user did not confirm the order.",
    )


async def place(
    backend: Backend, order: OrderKey, approved_by: Literal["user", "operator"], warned: bool
) -> PlacedOrder:
    """Place through the guard; every failure becomes a clear tool error."""
    try:
        return await backend.guard.place_order(
            *order, confirmed_by=CONFIRMED_BY[approved_by], duplicate_confirmed=warned
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
    confirm = make_confirm(backend)
    Count = count_type(backend.settings.caps.max_count_per_order)

    async def place_order(
        service_id: ServiceId,
        link: Link,
        count: Count,  # type: ignore[valid-type]
        confirmation: Annotated[ElicitationResult[OrderConfirmation], Resolve(confirm)],
    ) -> PlaceOrderResult:
        order: OrderKey = (service_id, link, count)
        approved_by, warned = await before_sending(lambda: approval(backend, order, confirmation))
        placed = await place(backend, order, approved_by, warned)
        return PlaceOrderResult(
            order_id=placed.order_id,
            service_id=placed.service_id,
            link=placed.link,
            count=placed.count,
            cost=placed.cost,
            estimated_cost=placed.estimated_cost,
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
