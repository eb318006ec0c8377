"""Streamable HTTP transport: loopback by default, a bearer token always, Host checked.

``running_http_server`` is the programmatic entry point (another asyncio program,
such as a demo, can start the server and learn its URL); ``serve_http`` runs it
until cancelled.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from .backend import open_backend
from .server import build_server
from .settings import Settings, SettingsError, is_loopback

_LOGGER = logging.getLogger(__name__)
MCP_PATH = "/mcp"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_WILDCARDS = ("0.0.0.0", "::")  # noqa: S104


class BearerTokenMiddleware:
    """Refuse every HTTP request that does not carry ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            supplied = dict(scope["headers"]).get(b"authorization", b"")
            # Constant-time comparison: the token must not leak through timing.
            if not hmac.compare_digest(supplied, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"www-authenticate", b'Bearer realm="happy-follower-mcp"'),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b"Missing or wrong bearer token"})
                return
        await self._app(scope, receive, send)


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host and Origin checking against DNS rebinding, for the bound address.

    Origins: plain http on the allowed hosts, and exactly the operator's
    ``--allowed-origins`` (a browser page behind a TLS front, e.g. https://localhost)."""
    hosts = {*_LOOPBACK_HOSTS, *settings.allowed_hosts}
    if not is_loopback(settings.host) and settings.host not in _WILDCARDS:
        hosts.add(f"[{settings.host}]" if ":" in settings.host else settings.host)
    allowed = sorted({pattern for host in hosts for pattern in _host_patterns(host)})
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=allowed,
        allowed_origins=[f"http://{host}" for host in allowed] + list(settings.allowed_origins),
    )


def _host_patterns(host: str) -> tuple[str, ...]:
    """'name' or '[v6]' accepts it with any port or none (a front on port 80 or 443 sends
    no port); 'name:port' or '[v6]:port' only that port."""
    has_port = "]:" in host if host.startswith("[") else ":" in host
    return (host,) if has_port else (host, f"{host}:*")


def _check(settings: Settings) -> str:
    token = settings.http_token_value()
    if settings.transport != "http" or token is None:
        raise SettingsError("the HTTP server needs settings with transport 'http' and a token")
    return token


@asynccontextmanager
async def running_http_server(
    settings: Settings, *, base_url: str | None = None
) -> AsyncIterator[str]:
    """Serve MCP over streamable HTTP while the context is open; yields the endpoint URL.

    Port 0 picks a free port. ``base_url`` overrides the API root (tests).
    """
    async with _serving(settings, base_url) as (url, _):
        yield url


async def serve_http(settings: Settings) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM, which uvicorn handles)."""
    async with _serving(settings, None) as (url, server_task):
        _LOGGER.warning("Serving MCP over HTTP at %s (bearer token required)", url)
        await server_task


@asynccontextmanager
async def _serving(
    settings: Settings, base_url: str | None
) -> AsyncIterator[tuple[str, asyncio.Task[None]]]:
    # Imported here: only the HTTP transport needs it, and it costs stdio start-up time.
    import uvicorn  # noqa: PLC0415

    token = _check(settings)
    async with open_backend(settings, base_url=base_url) as backend:
        server = build_server(backend)
        app = BearerTokenMiddleware(
            server.streamable_http_app(
                streamable_http_path=MCP_PATH,
                transport_security=transport_security(settings),
                host=settings.host,
            ),
            token,
        )
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,  # keep our logging setup (stderr only)
            access_log=False,
            lifespan="on",
        )
        uvicorn_server = uvicorn.Server(config)
        listener = _listen(settings)
        task = asyncio.create_task(uvicorn_server.serve(sockets=[listener]))
        try:
            port = listener.getsockname()[1]
            host = f"[{settings.host}]" if ":" in settings.host else settings.host
            yield f"http://{host}:{port}{MCP_PATH}", task
        finally:
            uvicorn_server.should_exit = True
            await task
            listener.close()
            # Let the closed connections' callbacks run, which cancel their keep-alive timers.
            await asyncio.sleep(0.01)


def _listen(settings: Settings) -> socket.socket:
    """Bind here rather than in uvicorn, which exits the whole process when it cannot."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((settings.host, settings.port))
        # Listening now queues the first connections until uvicorn has started.
        listener.listen()
    except OSError as err:
        listener.close()
        raise SettingsError(
            f"cannot listen on {settings.host}:{settings.port} ({err.strerror}); "
            "choose another --host or --port"
        ) from None
    return listener
