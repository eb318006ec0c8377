"""The tools that change something at Happy Follower: place, cancel and re-check orders.

Placing an order runs in two steps: the resolver ``confirm`` checks the order and asks
the user (MCP elicitation), then the handler places it through the spend guard. This
module does not use ``from __future__ import annotations``: the SDK reads the handlers'
annotations at registration.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, Literal

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError

from shared_client import HappyFollowerError
from shared_client.errors import HappyFollowerSpendCapError
from shared_client.validation import OrderRequest, validate_order

from .arguments import Link, OrderId, ServiceId, count_type
from .backend import Backend
from .errors import guarded, tool_error
from .models import OrderActionResult, OrderConfirmation, PlaceOrderResult
from .reads import COST_HELP

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
    "whatever happens. If the answer is lost (outcome unknown), do not order again: check "
    "list_orders, get_credit and get_order_status first."
)
_WHERE: Final = {
    "live": "LIVE: this spends real credit",
    "sandbox": "SANDBOX: vendor test environment",
    "simulated": "SIMULATED: nothing real is ordered or spent",
}


def can_elicit(ctx: Context) -> bool:
    """True when the client declared form elicitation (a bare capability counts as form)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def validated(backend: Backend, service_id: int, link: str, count: int) -> OrderRequest:
    try:
        return validate_order(service_id, link, count)
    except HappyFollowerError as err:
        raise tool_error(err, backend.environment) from None


async def confirmation_message(backend: Backend, order: OrderRequest, ticket: str) -> str:
    """The question the user answers; the same text for the same ticket."""
    names = {}
    try:
        services = await backend.client.get_services()
        names = {service.service_id: service.name for service in services}
    except HappyFollowerError:
        pass  # the id alone still identifies the service
    estimate = backend.guard.estimated_cost(order)
    return "\n".join(
        [
            f"Place this Happy Follower order? ({_WHERE[backend.environment]})",
            f"Service: {order.service_id} {names.get(order.service_id, '')}".rstrip(),
            f"Link: {order.link}",
            f"Count: {order.count}",
            "Estimated cost: "
            + (f"about {estimate:g}" if estimate is not None else "unknown until placed"),
            f"Confirmation {ticket}: valid for this order only, once.",
        ]
    )


def make_confirm(
    backend: Backend,
) -> Callable[[int, str, int, Context], Awaitable[Elicit[OrderConfirmation] | str]]:
    async def confirm(
        service_id: int, link: str, count: int, ctx: Context
    ) -> Elicit[OrderConfirmation] | str:
        """Resolver: check the order against the caps, then ask the user to confirm it."""
        order = validated(backend, service_id, link, count)
        try:
            backend.guard.check(order)
        except HappyFollowerSpendCapError as err:
            await backend.audit_refusal(order, str(err))
            raise tool_error(err, backend.environment) from None
        if can_elicit(ctx):
            ticket = backend.confirmations.ticket_for(order)
            message = await confirmation_message(backend, order, ticket)
            return Elicit(message, OrderConfirmation)
        if backend.settings.allow_unconfirmed_orders:
            return OPERATOR_APPROVAL
        await backend.audit_refusal(
            order, "the client cannot ask the user to confirm (no elicitation support)"
        )
        raise ToolError(NO_ELICITATION)

    return confirm


async def confirmed_by(
    backend: Backend, order: OrderRequest, confirmation: ElicitationResult[Any]
) -> Literal["user", "operator"]:
    """Who approved the order; refuses (and audits) anything but a fresh yes."""
    data: object = confirmation.data if isinstance(confirmation, AcceptedElicitation) else None
    if data == OPERATOR_APPROVAL:
        return "operator"
    if isinstance(data, OrderConfirmation) and data.confirm:
        if not backend.confirmations.redeem(order):
            await backend.audit_refusal(order, "confirmation already used or expired")
            raise ToolError(
                "Nothing was placed: this confirmation was already used or has expired. "
                "Call place_order again to ask the user again."
            )
        return "user"
    answer = "confirm: no" if data is not None else confirmation.action
    await backend.audit_refusal(order, f"not confirmed by the user ({answer})")
    raise ToolError("Nothing was placed: the user did not confirm the order.")


def make_place_order(backend: Backend) -> Callable[..., Awaitable[PlaceOrderResult]]:
    confirm = make_confirm(backend)
    Count = count_type(backend.settings.caps.max_count_per_order)

    async def place_order(
        service_id: ServiceId,
        link: Link,
        count: Count,  # type: ignore[valid-type]
        confirmation: Annotated[ElicitationResult[OrderConfirmation], Resolve(confirm)],
    ) -> PlaceOrderResult:
        order = validated(backend, service_id, link, count)
        approved_by = await confirmed_by(backend, order, confirmation)
        placed = await guarded(
            backend.environment,
            lambda: backend.guard.place_order(
                backend.client, service_id=order.service_id, link=order.link, count=order.count
            ),
        )
        return PlaceOrderResult(
            order_id=placed.order_id,
            service_id=placed.service_id,
            link=placed.link,
            count=placed.count,
            cost=placed.cost,
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
