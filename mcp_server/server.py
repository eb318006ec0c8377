"""The MCP server: one tool per endpoint, resources, a prompt, and the spend-safety flow.

Tools are built per server in ``build_server`` so that the settings (caps, tool
lists, read-only mode) shape what is registered and what the input schemas allow.
This module deliberately does not use ``from __future__ import annotations``: the SDK
reads the tools' annotations, which refer to values local to ``build_server``.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp_types import ToolAnnotations
from pydantic import Field

from shared_client import HappyFollowerError, __version__
from shared_client.errors import (
    HappyFollowerNotEnoughCreditError,
    HappyFollowerSandboxUnsupportedError,
    HappyFollowerSpendCapError,
)
from shared_client.guard import AuditEvent
from shared_client.validation import MAX_LINK_LENGTH, OrderRequest, validate_order

from .backend import Backend
from .models import (
    ConnectionResult,
    CreditResult,
    Environment,
    LedgerOrder,
    OrderActionResult,
    OrderConfirmation,
    OrdersResult,
    OrderStatusResult,
    PlaceOrderResult,
    ServiceItem,
    ServicesResult,
    ToolResult,
    notice_for,
)

_LOGGER = logging.getLogger(__name__)

SERVER_NAME: Final = "happy-follower"
OPERATOR_APPROVAL: Final = "operator"
MAX_ID: Final = 2**31 - 1
MAX_COUNT: Final = 10_000_000
SERVICES_URI: Final = "happy-follower://services"
ORDER_URI: Final = "happy-follower://orders/{order_id}"

_READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)
_LOCAL_READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
_SPEND = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
_CANCEL = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
_RECHECK = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)

_COST_HELP = (
    "The API lists no prices: an order's cost (count x the service's unit price, in the "
    "account's currency) is known only once it is placed, from get_order_status; "
    "list_services shows the unit price of the last order of each service placed here."
)

OrderId = Annotated[int, Field(ge=1, le=MAX_ID, description="The id place_order returned")]
ServiceId = Annotated[int, Field(ge=1, le=MAX_ID, description="A service_id from list_services")]
Link = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_LINK_LENGTH,
        description="Full address of the Instagram page or post, e.g. https://www.instagram.com/name",
    ),
]


def instructions_for(backend: Backend) -> str:
    """The server's instructions: what it is, which environment, and the rules of spending."""
    settings = backend.settings
    lines = [
        "Happy Follower is a paid Iranian service that delivers Instagram likes, followers "
        "and views. These tools read the account's credit, the services, and orders, and "
        "place, cancel or re-check orders.",
        "Placing an order spends credit and cannot be undone. "
        "Ask the user before ordering; the server also asks them for confirmation itself "
        "when the client supports it, and enforces the operator's caps "
        f"(largest count per order: {settings.caps.max_count_per_order or 'no limit'}, "
        f"orders per 24 hours: {settings.caps.max_orders_per_day or 'no limit'}, "
        f"spend per 24 hours: {settings.caps.max_spend_per_day or 'no limit'}).",
        _COST_HELP,
        "The API cannot list past orders: list_orders shows those placed through this server.",
    ]
    if settings.read_only:
        lines.append("READ-ONLY MODE: orders cannot be placed, cancelled or re-checked here.")
    if backend.environment == "simulated":
        lines.insert(
            0,
            "SIMULATED MODE: every answer comes from an embedded simulator. Nothing is real: "
            "no credit is spent and no order reaches Happy Follower. Say so to the user.",
        )
    elif backend.environment == "sandbox":
        lines.insert(0, "SANDBOX MODE: the vendor's test API; cancel and recheck do not exist.")
    return "\n".join(lines)


def build_server(backend: Backend) -> MCPServer[Any]:
    """Build the MCP server for one backend; only the enabled tools are registered."""
    settings = backend.settings
    client = backend.client
    guard = backend.guard
    environment: Environment = settings.environment
    common: dict[str, Any] = {"environment": environment, "notice": notice_for(environment)}
    max_count = settings.caps.max_count_per_order or MAX_COUNT

    server: MCPServer[Any] = MCPServer(
        SERVER_NAME,
        title="Happy Follower",
        instructions=instructions_for(backend),
        version=__version__,
        website_url="https://www.happy-follower.com",
    )

    def failure(err: HappyFollowerError) -> ToolError:
        """A tool error the model can act on; the client's messages hold no secret."""
        message = str(err)
        if isinstance(err, HappyFollowerNotEnoughCreditError):
            message += " (check get_credit; order less or top up the account)"
        elif isinstance(err, HappyFollowerSandboxUnsupportedError):
            message += " (cancel and recheck exist only in the live environment)"
        if environment == "simulated":
            message = f"[SIMULATED] {message}"
        return ToolError(message)

    async def guarded[T](call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except HappyFollowerError as err:
            raise failure(err) from None

    def validated(service_id: int, link: str, count: int) -> OrderRequest:
        try:
            return validate_order(service_id, link, count)
        except HappyFollowerError as err:
            raise failure(err) from None

    async def status_result(order_id: int) -> OrderStatusResult:
        status = await guarded(lambda: client.get_order_status(order_id))
        return OrderStatusResult(
            order_id=order_id,
            status=status.status,
            status_title=status.status_title,
            count=status.count,
            remain=status.remain,
            delivered=status.delivered,
            progress=status.progress,
            is_final=status.is_final,
            old_count=status.old_count,
            cost=status.cost,
            link=status.link,
            **common,
        )

    async def services_result() -> ServicesResult:
        services = await guarded(client.get_services)
        items = [
            ServiceItem(
                service_id=service.service_id,
                name=service.name,
                last_unit_price=guard.estimated_cost(OrderRequest(service.service_id, "", 1)),
            )
            for service in services
        ]
        return ServicesResult(services=items, **common)

    # --- tools ------------------------------------------------------------------

    async def check_connection() -> ConnectionResult:
        """Check that the API key works: authenticates with Happy Follower and reports which
        environment answered (live, sandbox or simulated). Tokens never leave the server."""
        await guarded(client.authenticate)
        return ConnectionResult(authenticated=True, api_root=client.base_url, **common)

    async def get_credit() -> CreditResult:
        """Read the account's credit (balance) in the account's currency. Orders are paid
        from it; an order whose cost exceeds it is refused."""
        credit = await guarded(client.get_credit)
        return CreditResult(credit=credit, **common)

    async def list_services() -> ServicesResult:
        """List the active services (likes, followers, views...) with their service_id,
        needed to place an order. Names are the vendor's, often Persian."""
        return await services_result()

    async def get_order_status(order_id: OrderId) -> OrderStatusResult:
        """Read one order's status: delivered and remaining units, progress, cost, and
        whether it is final. Use it to follow an order after placing it."""
        return await status_result(order_id)

    async def list_orders(
        limit: Annotated[int, Field(ge=1, le=200, description="Most orders to return")] = 20,
    ) -> OrdersResult:
        """List the orders placed through this server (newest first), from its own audit
        ledger: the Happy Follower API has no way to list orders. Also shows how much of
        today's caps is used."""
        records = [
            record
            for record in guard.records
            if record.event in (AuditEvent.PLACED, AuditEvent.OUTCOME_UNKNOWN)
            and record.sandbox == client.sandbox
        ]
        orders = [
            LedgerOrder(
                at=record.at,
                outcome="placed" if record.event is AuditEvent.PLACED else "outcome_unknown",
                order_id=record.order_id,
                service_id=record.service_id,
                link=record.link,
                count=record.count,
                cost=record.cost,
            )
            for record in reversed(records[-limit:])
        ]
        return OrdersResult(
            orders=orders,
            orders_last_24h=guard.orders_in_window(),
            spent_last_24h=guard.spent_in_window(),
            max_orders_per_day=settings.caps.max_orders_per_day,
            max_spend_per_day=settings.caps.max_spend_per_day,
            **common,
        )

    async def confirm_order(
        service_id: int, link: str, count: int, ctx: Context
    ) -> Elicit[OrderConfirmation] | str:
        """Resolver: check the order against the caps, then ask the user to confirm it."""
        order = validated(service_id, link, count)
        try:
            guard.check(order)
        except HappyFollowerSpendCapError as err:
            await backend.audit_refusal(order, str(err))
            raise failure(err) from None
        if _can_elicit(ctx):
            ticket = backend.confirmations.ticket_for(order)
            return Elicit(await confirmation_message(order, ticket), OrderConfirmation)
        if settings.allow_unconfirmed_orders:
            return OPERATOR_APPROVAL
        reason = "the client cannot ask the user to confirm (no elicitation support)"
        await backend.audit_refusal(order, reason)
        raise ToolError(
            "Nothing was placed: this client cannot show the user a confirmation (it does not "
            "support MCP elicitation), and this server places orders only after the user "
            "confirms them. Use a client that supports elicitation, or the operator can start "
            "the server with --allow-unconfirmed-orders."
        )

    async def confirmation_message(order: OrderRequest, ticket: str) -> str:
        # Deterministic for a given ticket: a recorded answer counts only for the same text.
        names = {}
        try:
            names = {service.service_id: service.name for service in await client.get_services()}
        except HappyFollowerError:
            _LOGGER.info("Service names unavailable for the confirmation of %s", ticket)
        estimate = guard.estimated_cost(order)
        where = {
            "live": "LIVE: this spends real credit",
            "sandbox": "SANDBOX: vendor test environment",
            "simulated": "SIMULATED: nothing real is ordered or spent",
        }[environment]
        return "\n".join(
            [
                f"Place this Happy Follower order? ({where})",
                f"Service: {order.service_id} {names.get(order.service_id, '')}".rstrip(),
                f"Link: {order.link}",
                f"Count: {order.count}",
                "Estimated cost: "
                + (f"about {estimate:g}" if estimate is not None else "unknown until placed"),
                f"Confirmation {ticket}: valid for this order only, once.",
            ]
        )

    async def place_order(
        service_id: ServiceId,
        link: Link,
        count: Annotated[
            int,
            Field(
                ge=1,
                le=max_count,
                description=f"Units to deliver (likes, followers or views); at most {max_count}",
            ),
        ],
        confirmation: Annotated[ElicitationResult[OrderConfirmation], Resolve(confirm_order)],
    ) -> PlaceOrderResult:
        order = validated(service_id, link, count)
        confirmed_by: Literal["user", "operator"]
        data: object = confirmation.data if isinstance(confirmation, AcceptedElicitation) else None
        if data == OPERATOR_APPROVAL:
            confirmed_by = "operator"
        elif isinstance(data, OrderConfirmation) and data.confirm:
            if not backend.confirmations.redeem(order):
                await backend.audit_refusal(order, "confirmation already used or expired")
                raise ToolError(
                    "Nothing was placed: this confirmation was already used or has expired. "
                    "Call place_order again to ask the user again."
                )
            confirmed_by = "user"
        else:
            answer = "confirm: no" if data is not None else confirmation.action
            await backend.audit_refusal(order, f"not confirmed by the user ({answer})")
            raise ToolError("Nothing was placed: the user did not confirm the order.")
        placed = await guarded(
            lambda: guard.place_order(
                client, service_id=order.service_id, link=order.link, count=order.count
            )
        )
        return PlaceOrderResult(
            order_id=placed.order_id,
            service_id=placed.service_id,
            link=placed.link,
            count=placed.count,
            cost=placed.cost,
            confirmed_by=confirmed_by,
            **common,
        )

    place_order.__doc__ = (
        "Place an order: Happy Follower delivers `count` likes, followers or views of the "
        "service to the Instagram link. SPENDS REAL CREDIT and cannot be undone. "
        + _COST_HELP
        + " The user is asked to confirm on clients that support it; the server's caps apply "
        "whatever happens. If the answer is lost (outcome unknown), do not order again: check "
        "list_orders, get_credit and get_order_status first."
    )

    async def cancel_order(order_id: OrderId) -> OrderActionResult:
        """Cancel an order that has not finished; the undelivered part is refunded. Only
        registered or in-progress orders can be cancelled. Not available in the sandbox."""
        await guarded(lambda: client.cancel_order(order_id))
        return OrderActionResult(order_id=order_id, action="cancel", accepted=True, **common)

    async def recheck_order(order_id: OrderId) -> OrderActionResult:
        """Ask Happy Follower to re-check an order's delivery (e.g. when likes dropped).
        Costs nothing. Not available in the sandbox."""
        await guarded(lambda: client.recheck_order(order_id))
        return OrderActionResult(order_id=order_id, action="recheck", accepted=True, **common)

    tools: dict[str, tuple[Callable[..., Any], str, ToolAnnotations]] = {
        "check_connection": (check_connection, "Check connection", _READ),
        "get_credit": (get_credit, "Get credit", _READ),
        "list_services": (list_services, "List services", _READ),
        "get_order_status": (get_order_status, "Get order status", _READ),
        "list_orders": (list_orders, "List orders placed here", _LOCAL_READ),
        "place_order": (place_order, "Place order (spends credit)", _SPEND),
        "cancel_order": (cancel_order, "Cancel order", _CANCEL),
        "recheck_order": (recheck_order, "Re-check order", _RECHECK),
    }
    for name in settings.enabled_tools():
        fn, title, annotations = tools[name]
        server.add_tool(fn, name=name, title=title, annotations=annotations)

    # --- resources and prompt ------------------------------------------------------

    async def resource_json(read: Callable[[], Awaitable[ToolResult]]) -> str:
        try:
            return (await read()).model_dump_json()
        except ToolError as err:
            raise ResourceError(str(err)) from None

    @server.resource(
        SERVICES_URI,
        name="services",
        title="Service catalogue",
        description="The active services and their ids",
        mime_type="application/json",
    )
    async def services_resource() -> str:
        return await resource_json(services_result)

    @server.resource(
        ORDER_URI,
        name="order",
        title="Order status",
        description="The status of one order, by id",
        mime_type="application/json",
    )
    async def order_resource(order_id: str) -> str:
        if not order_id.isascii() or not order_id.isdigit() or not 0 < int(order_id) <= MAX_ID:
            raise ResourceError("order_id must be a positive whole number")
        return await resource_json(lambda: status_result(int(order_id)))

    @server.prompt(
        name="safe_order",
        title="Place an order safely",
        description="Walk the user through a careful Happy Follower order",
    )
    def safe_order(
        link: Annotated[str, Field(description="The Instagram page or post")],
        goal: Annotated[str, Field(description="What the user wants, e.g. 200 likes")] = "",
    ) -> list[UserMessage]:
        steps = [
            f"Help me order Happy Follower delivery for {json.dumps(link)}"
            + (f" ({goal})" if goal else "")
            + ". Go step by step and stop to ask me whenever something is unclear:",
            "1. Run check_connection and tell me which environment answers "
            "(live spends real money; sandbox and simulated do not).",
            "2. Run get_credit and tell me the balance.",
            "3. Run list_services, translate the names, and let me pick one.",
            "4. Agree a count with me. Prices are not listed: suggest a small first order "
            "and tell me the cost shows only after placing it.",
            "5. Before calling place_order, repeat service, link and count and wait for my "
            "yes. Confirm again in the dialog the client shows, if any.",
            "6. Afterwards run get_order_status and tell me the cost and progress. If the "
            "outcome is unknown, never re-order: check list_orders and get_credit first.",
        ]
        return [UserMessage("\n".join(steps))]

    return server


def _can_elicit(ctx: Context) -> bool:
    """True when the client declared form elicitation (a bare capability counts as form)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)
