"""A tiny aiohttp app on 127.0.0.1 that answers every request from a mutable slot.

Used where the simulator is too well-behaved: the documentation's exact example
bodies, and fuzzed answers. Not a test module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web
from yarl import URL


@dataclass(frozen=True, slots=True)
class Answer:
    """One canned HTTP answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the scripted server received."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


Responder = Callable[[str, str], Answer]  # (method, path) -> answer


class ScriptedServer:
    """Answers each request with ``responder(method, path)``; swap it at any time."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or (lambda method, path: Answer())
        self.seen: list[Seen] = []
        self._runner: web.AppRunner | None = None
        self.origin = ""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._app = app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        form: dict[str, str] = {}
        if request.can_read_body:
            form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.seen.append(Seen(request.method, request.path, dict(request.headers), form))
        answer = self.responder(request.method, request.path)
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)

    async def __aenter__(self) -> Self:
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        self._runner = runner
        self.origin = str(URL.build(scheme="http", host=host, port=port))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
