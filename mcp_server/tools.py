"""Every tool, declared once: name, title, annotations, whether it spends, and its handler.

What is registered (tools/list), read-only mode and the allow/deny lists all derive
from ``TOOLS``. Read-only mode keeps exactly the tools whose own annotation says
``readOnlyHint: true``, so a new tool cannot slip past it (as in github-mcp-server).
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp_types import ToolAnnotations
from pydantic import ConfigDict, Field

from . import orders, prices, reads
from .app import ACCOUNT_URI, ORDER_CARD_URI
from .backend import Backend
from .errors import PriceOffers, offering_prices
from .settings import Settings, SettingsError

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
# Writes a price to the local ledger only (nothing reaches Happy Follower): not read-only,
# so read-only mode drops it; not destructive (it replaces no order, spends nothing by
# itself, and a later confirmation replaces it); idempotent (the same price again changes
# nothing the caps count).
_LOCAL_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool. ``make_handler`` builds its handler for a backend."""

    name: str
    title: str
    annotations: ToolAnnotations
    make_handler: Callable[[Backend], Callable[..., Awaitable[Any]]]
    spends: bool = False  # places orders: spends credit
    app_page: str | None = None  # the ui:// page that renders its result (MCP Apps)

    @property
    def read_only(self) -> bool:
        """From the tool's own annotation; anything but an explicit true is a write."""
        return self.annotations.read_only_hint is True


TOOLS: Final = (
    ToolSpec("check_connection", "Check connection", _READ, reads.make_check_connection),
    ToolSpec("get_credit", "Get credit", _READ, reads.make_get_credit),
    ToolSpec("list_services", "List services", _READ, reads.make_list_services),
    ToolSpec(
        "get_order_status",
        "Get order status",
        _READ,
        reads.make_get_order_status,
        app_page=ORDER_CARD_URI,
    ),
    ToolSpec(
        "list_orders",
        "List orders placed here",
        _LOCAL_READ,
        reads.make_list_orders,
        app_page=ACCOUNT_URI,
    ),
    ToolSpec(
        "place_order",
        "Place order (spends credit)",
        _SPEND,
        orders.make_place_order,
        spends=True,
        app_page=ORDER_CARD_URI,
    ),
    ToolSpec("cancel_order", "Cancel order", _CANCEL, orders.make_cancel_order),
    ToolSpec("recheck_order", "Re-check order", _RECHECK, orders.make_recheck_order),
    ToolSpec(
        prices.CONFIRM_PRICE,
        "Confirm a price per unit (asks the user)",
        _LOCAL_WRITE,
        prices.make_confirm_price,
    ),
)
TOOL_NAMES: Final = tuple(spec.name for spec in TOOLS)
READ_ONLY_TOOLS: Final = tuple(spec.name for spec in TOOLS if spec.read_only)


def enabled_tools(settings: Settings) -> list[ToolSpec]:
    """The tools to register, in table order. Unknown names in the lists stop the start;
    read-only mode wins over both lists."""
    unknown = sorted(((settings.tools or frozenset()) | settings.exclude_tools) - set(TOOL_NAMES))
    if unknown:
        raise SettingsError(
            f"unknown tool name(s): {', '.join(unknown)}; the tools are {', '.join(TOOL_NAMES)}"
        )
    return [
        spec
        for spec in TOOLS
        if (settings.tools is None or spec.name in settings.tools)
        and spec.name not in settings.exclude_tools
        and (spec.read_only or not settings.read_only)
    ]


class _Tool(Tool):
    """The SDK's tool, refusing arguments it does not take (its strict argument model is
    built at its first call: only a call validates arguments), and whose refusals may
    point to confirm_price: while it runs, a refusal that a price the user confirms can
    resolve names the price seen (``errors``)."""

    price_offers: PriceOffers | None = Field(default=None, exclude=True)

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> Any:
        metadata = self.fn_metadata
        if metadata.arg_model.model_config.get("extra") != "forbid":
            metadata.arg_model = _forbid_extra(metadata.arg_model)
        if self.price_offers is None:
            return await super().run(arguments, context, convert_result)
        with offering_prices(self.price_offers):
            return await super().run(arguments, context, convert_result)


def build_tool(spec: ToolSpec, backend: Backend) -> Tool:
    """The SDK's tool for one spec, refusing arguments the tool does not take."""
    enabled = {enabled_spec.name for enabled_spec in enabled_tools(backend.settings)}
    offers = backend.guard.price_offer if prices.CONFIRM_PRICE in enabled else None
    tool = _Tool.from_function(
        spec.make_handler(backend),
        name=spec.name,
        title=spec.title,
        annotations=spec.annotations,
        meta={"ui": {"resourceUri": spec.app_page}} if spec.app_page else None,
    )
    return tool.model_copy(
        update={
            # What pydantic writes for the strict model (``_forbid_extra``), without
            # building that model (``_Tool.run`` does, at the first call).
            "parameters": {**tool.parameters, "additionalProperties": False},
            "price_offers": offers,
        }
    )


def _forbid_extra(model: type[ArgModelBase]) -> type[ArgModelBase]:
    """The SDK's argument model ignores unknown arguments: a model passing ``max_cost``
    would believe it limits spending. This subclass refuses them (and says so in the
    input schema: ``additionalProperties: false``)."""

    def body(namespace: dict[str, Any]) -> None:
        namespace["model_config"] = ConfigDict(extra="forbid")
        namespace["__module__"] = model.__module__

    return types.new_class(model.__name__, (model,), {}, body)
