"""``happy-follower-mcp`` / ``python -m mcp_server``: start the MCP server."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from .backend import open_backend
from .http import serve_http
from .server import build_server
from .settings import Settings, SettingsError, load_settings
from .tools import enabled_tools


def configure_logging(level: str) -> None:
    """Logs go to stderr only: on stdio, stdout carries the protocol."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


async def run(settings: Settings) -> None:
    """Run the server on the transport the settings choose, until cancelled."""
    if settings.transport == "http":
        await serve_http(settings)
        return
    async with open_backend(settings) as backend:
        await build_server(backend).run_stdio_async()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = load_settings(argv)
        enabled_tools(settings)  # unknown tool names stop the start here
    except SettingsError as err:
        print(f"happy-follower-mcp: {err}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    except SettingsError as err:
        print(f"happy-follower-mcp: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
