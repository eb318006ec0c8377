"""The server's MCP Apps extension: the ``ui://`` pages, the app-only tools they call,
and the middleware that keeps all of it away from clients that did not negotiate Apps.

Tools name the page that renders their result in ``tools.TOOLS`` (``_meta.ui``); the
pages call back only ``app_order_card`` and ``app_account`` — read-only, visible to the
app and not to the model. Nothing here can place, cancel or confirm an order. Their
handlers (``handlers``) are imported when a client first needs them.
"""

import inspect
from collections.abc import Collection
from typing import Any, Final

from mcp.server import MCPServer
from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.resources import FunctionResource
from mcp_types import CallToolRequestParams, CallToolResult, TextContent, ToolAnnotations

from ..backend import Backend
from . import ACCOUNT_URI, ORDER_CARD_URI, page

ORDER_CARD_TOOL: Final = "app_order_card"
ACCOUNT_TOOL: Final = "app_account"
# app tool -> (the page that calls it, its title, the model's tool whose reads it repeats)
APP_TOOLS: Final = {
    ORDER_CARD_TOOL: (ORDER_CARD_URI, "Order card", "get_order_status"),
    ACCOUNT_TOOL: (ACCOUNT_URI, "Account view", "list_orders"),
}
_READ: Final = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)
# No network, resources or frames: the pages are self-contained.
_NO_DOMAINS: Final = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[])


def _page_resource(uri: str, view: page.View, description: str) -> FunctionResource:
    async def read() -> str:
        return page.build(view)  # built at the first read, then cached

    return FunctionResource(
        uri=uri,
        name=f"{view}-app",
        title=page.TITLES[view],
        description=description,
        mime_type=APP_MIME_TYPE,
        meta={
            "ui": {
                "csp": _NO_DOMAINS.model_dump(by_alias=True, exclude_none=True),
                "prefersBorder": True,
            }
        },
        fn=read,
    )


class OrderApps(Apps):
    """The pages and, for the tools the operator enabled, the app tools behind them.

    The app tools (their handlers, models and schemas) are registered on the server when
    a client first needs them: a ``tools/list`` from a client that negotiated Apps, or a
    call of one by name. Until then no client can see them (``negotiated_only`` hides
    them from the others anyway), and a start-up that no App client follows skips them."""

    def __init__(self, backend: Backend, enabled: Collection[str]) -> None:
        super().__init__()
        self._backend = backend
        self._enabled = tuple(enabled)
        self._server: MCPServer[Any] | None = None
        # An app tool reads only what an enabled tool of the model already reads.
        self.app_tool_names = tuple(
            name for name, (_, _, reads) in APP_TOOLS.items() if reads in self._enabled
        )
        self.app_tools: dict[str, tuple[str, ...]] = {}  # registered: name -> its parameters
        self.add_resource(
            _page_resource(ORDER_CARD_URI, "order", "An order's card that follows its progress")
        )
        self.add_resource(
            _page_resource(ACCOUNT_URI, "account", "Credit, caps used today and latest orders")
        )

    def install(self, server: MCPServer[Any]) -> None:
        """Serve the app tools on ``server`` (built with this extension) once needed."""
        self._server = server
        server.middleware.append(self.negotiated_only)  # clients without Apps: today's server

    def _register_tools(self) -> None:
        if self._server is None or self.app_tools or not self.app_tool_names:
            return
        from .handlers import app_tool_handlers  # noqa: PLC0415 - on first need (see class)

        handlers = app_tool_handlers(self._backend, self._enabled)
        for name in self.app_tool_names:
            uri, title, _ = APP_TOOLS[name]
            self.tool(
                resource_uri=uri, visibility=["app"], name=name, title=title, annotations=_READ
            )(handlers[name])
            self.app_tools[name] = tuple(inspect.signature(handlers[name]).parameters)
        for binding in self.tools():  # as the server registers an extension's tools
            self._server.add_tool(binding.fn, meta=binding.meta, **binding.kwargs)

    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        """A client that did not negotiate Apps cannot call the app tools: to it they do
        not exist. Unknown arguments are refused, as for every tool of the server."""
        takes = self.app_tools.get(params.name)
        if takes is None:
            return await call_next(ctx)
        if not client_supports_apps(ctx):
            return _error(f"Unknown tool: {params.name}")
        unknown = sorted(set(params.arguments or {}) - set(takes))
        if unknown:
            listed = ", ".join(takes) or "no arguments"
            return _error(
                f"Error executing tool {params.name}: Nothing was sent: unknown argument(s) "
                f"{', '.join(map(repr, unknown))} (this tool takes {listed})."
            )
        return await call_next(ctx)

    async def negotiated_only(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Server middleware: a client that did not negotiate Apps lists today's server —
        no app tools, no ``ui://`` pages, no ``_meta.ui`` on tools. (It sees the wire
        form: dicts.)"""
        if self._needs_tools(ctx):
            self._register_tools()
        result = await call_next(ctx)
        if ctx.request_id is None or not isinstance(result, dict) or client_supports_apps(ctx):
            return result
        if ctx.method == "tools/list":
            tools = [_without_ui(tool) for tool in result.get("tools", [])]
            return {
                **result,
                "tools": [tool for tool in tools if tool["name"] not in self.app_tool_names],
            }
        if ctx.method == "resources/list":
            listed = [item for item in result.get("resources", []) if not _is_page(item)]
            return {**result, "resources": listed}
        return result

    def _needs_tools(self, ctx: ServerRequestContext[Any, Any]) -> bool:
        """A list that shows the app tools, or a call of one (which ``intercept_tool_call``
        refuses, as before, for a client without Apps)."""
        if ctx.method == "tools/list":
            return client_supports_apps(ctx)
        if ctx.method == "tools/call":
            return (ctx.params or {}).get("name") in self.app_tool_names
        return False


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _is_page(resource: dict[str, Any]) -> bool:
    return str(resource.get("uri", "")).startswith("ui://")


def _without_ui(tool: dict[str, Any]) -> dict[str, Any]:
    meta = tool.get("_meta")
    if not isinstance(meta, dict) or "ui" not in meta:
        return tool
    rest = {key: value for key, value in meta.items() if key != "ui"}
    without = {key: value for key, value in tool.items() if key != "_meta"}
    return {**without, "_meta": rest} if rest else without


def order_apps(backend: Backend, enabled: Collection[str]) -> OrderApps:
    """The Apps extension for a server whose enabled tools are ``enabled``."""
    return OrderApps(backend, enabled)
