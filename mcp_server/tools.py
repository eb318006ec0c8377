"""Every tool, declared once: name, title, annotations, whether it spends, and its handler.

What is registered (tools/list), read-only mode and the allow/deny lists all derive
from ``TOOLS``. Read-only mode keeps exactly the tools whose own annotation says
``readOnlyHint: true``, so a new tool cannot slip past it (as in github-mcp-server).
"""

from __future__ import annotations

import json
import types
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp_types import Tool as MCPTool
from mcp_types import ToolAnnotations
from pydantic import ConfigDict, Field

from .app import ACCOUNT_URI, ORDER_CARD_URI
from .arguments import count_bound
from .backend import Backend
from .errors import PriceOffers, offering_prices
from .settings import Settings, SettingsError

Handler = Callable[..., Awaitable[Any]]
CONFIRM_PRICE: Final = "confirm_price"
# Said by the instructions and by the descriptions of the tools that read or spend costs.
COST_HELP: Final = (
    "The API lists no prices: an order's cost (count x the service's unit price, in the "
    "account's currency) is known only once it is placed, from get_order_status. Before "
    "sending, the server bounds it with a price per unit a person stands behind (the "
    "operator's, or one the user confirmed with confirm_price, which asks them) and reserves "
    "that bound against the spend cap; under a spend cap, a service with no such price cannot "
    "be ordered. list_services shows the unit price it would use."
)

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
    make_handler: Callable[[Backend], Handler]
    spends: bool = False  # places orders: spends credit
    app_page: str | None = None  # the ui:// page that renders its result (MCP Apps)

    @property
    def read_only(self) -> bool:
        """From the tool's own annotation; anything but an explicit true is a write."""
        return self.annotations.read_only_hint is True


# The handlers' modules (with their result models) are imported when a tool is first
# called: a start lists the tools from their declarations (``DECLARATIONS``) and needs none.
def _check_connection(backend: Backend) -> Handler:
    from .reads import make_check_connection  # noqa: PLC0415 - at the first call (above)

    return make_check_connection(backend)


def _get_credit(backend: Backend) -> Handler:
    from .reads import make_get_credit  # noqa: PLC0415

    return make_get_credit(backend)


def _list_services(backend: Backend) -> Handler:
    from .reads import make_list_services  # noqa: PLC0415

    return make_list_services(backend)


def _get_order_status(backend: Backend) -> Handler:
    from .reads import make_get_order_status  # noqa: PLC0415

    return make_get_order_status(backend)


def _list_orders(backend: Backend) -> Handler:
    from .reads import make_list_orders  # noqa: PLC0415

    return make_list_orders(backend)


def _place_order(backend: Backend) -> Handler:
    from .orders import make_place_order  # noqa: PLC0415

    return make_place_order(backend)


def _cancel_order(backend: Backend) -> Handler:
    from .orders import make_cancel_order  # noqa: PLC0415

    return make_cancel_order(backend)


def _recheck_order(backend: Backend) -> Handler:
    from .orders import make_recheck_order  # noqa: PLC0415

    return make_recheck_order(backend)


def _confirm_price(backend: Backend) -> Handler:
    from .prices import make_confirm_price  # noqa: PLC0415

    return make_confirm_price(backend)


TOOLS: Final = (
    ToolSpec("check_connection", "Check connection", _READ, _check_connection),
    ToolSpec("get_credit", "Get credit", _READ, _get_credit),
    ToolSpec("list_services", "List services", _READ, _list_services),
    ToolSpec(
        "get_order_status", "Get order status", _READ, _get_order_status, app_page=ORDER_CARD_URI
    ),
    ToolSpec(
        "list_orders", "List orders placed here", _LOCAL_READ, _list_orders, app_page=ACCOUNT_URI
    ),
    ToolSpec(
        "place_order",
        "Place order (spends credit)",
        _SPEND,
        _place_order,
        spends=True,
        app_page=ORDER_CARD_URI,
    ),
    ToolSpec("cancel_order", "Cancel order", _CANCEL, _cancel_order),
    ToolSpec("recheck_order", "Re-check order", _RECHECK, _recheck_order),
    ToolSpec(
        CONFIRM_PRICE, "Confirm a price per unit (asks the user)", _LOCAL_WRITE, _confirm_price
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

    model_config = ConfigDict(defer_build=True)  # built with the first tool, at its call

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
    offers = backend.guard.price_offer if CONFIRM_PRICE in enabled else None
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


# What tools/list shows of each tool, as the SDK lists the tool ``build_tool`` builds:
# stored, so that a start does not build pydantic models for every tool's schemas.
# tests/mcp/test_tool_declarations.py checks it against the tools as built (with
# several settings) and rewrites it when asked.
DECLARATIONS: Final = Path(__file__).with_name("tools.json")


def declared_tools(specs: Sequence[ToolSpec], max_count: int | None) -> list[MCPTool]:
    """The tools/list entries of ``specs``, from ``DECLARATIONS``; ``count``'s bound, the
    one part that depends on the settings, is the operator's cap (``count_bound``)."""
    stored = json.loads(DECLARATIONS.read_text(encoding="utf-8"))
    most, description = count_bound(max_count)
    declared = []
    for spec in specs:
        entry = stored[spec.name]
        count = entry["inputSchema"]["properties"].get("count")
        if count is not None:
            count.update(maximum=most, description=description)
        declared.append(MCPTool.model_validate(entry))
    return declared


class ToolsBuiltOnFirstCall(ToolManager):
    """The SDK's tool manager, building each of ``specs`` (its handler, argument model
    and schemas) when it is first called or looked up; tools/list shows their
    declarations meanwhile. Tools added later (the Apps extension's) are kept as usual."""

    def __init__(self, backend: Backend, specs: Sequence[ToolSpec]) -> None:
        super().__init__()
        self._backend = backend
        self._specs = {spec.name: spec for spec in specs}
        self._built: dict[str, Tool] = {}

    def get_tool(self, name: str) -> Tool | None:
        spec = self._specs.get(name)
        if spec is None:
            return super().get_tool(name)
        if name not in self._built:
            self._built[name] = build_tool(spec, self._backend)
        return self._built[name]
