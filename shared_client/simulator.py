"""A stateful simulator of the Happy Follower API v1, as an aiohttp web application.

It serves the documented paths (trailing slashes included) under both roots, the live
``/api/v1`` and the sandbox ``/api/sandbox/v1``, each with its own credit, orders and
tokens. Everything the vendor leaves unsaid — the error format, HTTP status codes,
status values and titles, messages, form or JSON bodies — follows the assumptions
written in :mod:`shared_client.protocol`, whose constants this module imports.

Time is the simulator's own clock (:class:`SimulatorClock`): real time by default (for
``happy-follower simulate`` and the demo), or a driven clock that moves only when
:meth:`Simulator.advance` moves it, so that tests age tokens, watch orders progress and
end held answers without waiting and without a loaded machine changing what they see;
a test that runs the simulator in another process drives it over HTTP at
:data:`TEST_CONTROL_PATH`, served only when the simulator is made with ``test_control``.
:meth:`Simulator.inject` makes the next requests fail the ways a real service behind a
CDN can fail. A
:class:`Dialect` switches it into each alternative the documentation leaves open
(JSON-only bodies, another refused-token status, other error shapes, status words and
wordings), so that ``happy-follower probe`` and the client can be tested against them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from shared_client import protocol as p

_LIVE_ROOT: Final = URL(p.LIVE_API_ROOT).path
_SANDBOX_ROOT: Final = URL(p.SANDBOX_API_ROOT).path

# Endpoint name -> (path relative to a root, method). The status path is matched apart.
_ENDPOINTS: Final = {
    "auth": (p.PATH_AUTH, "GET"),
    "ref-auth": (p.PATH_REFRESH, "GET"),
    "services": (p.PATH_SERVICES, "GET"),
    "order": (p.PATH_ORDER, "POST"),
    "status": (p.PATH_STATUS, "GET"),
    "cancel": (p.PATH_CANCEL, "POST"),
    "recheck": (p.PATH_RECHECK, "POST"),
    "credit": (p.PATH_CREDIT, "GET"),
}
_FIXED_PATHS: Final = {path: name for name, (path, _) in _ENDPOINTS.items() if name != "status"}
_STATUS_PREFIX, _STATUS_SUFFIX = p.PATH_STATUS.split("{order_id}")
_STATUS_PATH: Final = re.compile(re.escape(_STATUS_PREFIX) + "([^/]+)" + re.escape(_STATUS_SUFFIX))
_NO_SANDBOX: Final = frozenset({"cancel", "recheck"})
_CANCELLABLE: Final = frozenset({p.STATUS_REGISTERED, p.STATUS_IN_PROGRESS})

# Lets an advance by exactly a documented duration reach the state it leads to, despite
# the float rounding of monotonic time plus offset.
_CLOCK_EPSILON: Final = 1e-6


class SimulatorClock:
    """The simulator's time: what ages tokens, delivers orders and ends held answers.

    A real clock (the default) is :func:`time.monotonic` plus what :meth:`advance` added.
    A driven clock (``driven=True``, for tests) starts at 0 and moves only when
    :meth:`advance` moves it: nothing a test sees depends on how fast the machine runs.
    """

    def __init__(self, *, driven: bool = False) -> None:
        self.driven = driven
        self._offset = 0.0
        self._moved: set[asyncio.Future[None]] = set()  # woken at every advance

    def now(self) -> float:
        return self._offset if self.driven else time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward: tokens age, orders progress, held answers may end."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        for waiter in self._moved:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, moment: float) -> None:
        """Return once the clock reads ``moment`` (a driven clock: once advanced there)."""
        while (left := moment - _CLOCK_EPSILON - self.now()) > 0:
            moved = asyncio.get_running_loop().create_future()
            self._moved.add(moved)
            try:
                if self.driven:
                    await moved
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(moved, left)
            finally:
                self._moved.discard(moved)


# Where a simulator made with test_control=True takes orders from a test in another process.
TEST_CONTROL_PATH: Final = "/_simulator"

_CDN_ERROR_PAGE: Final = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center>"
    "</body></html>"
)
_TRUNCATED_JSON: Final = '{"operation": "success", "'


class Fault(StrEnum):
    """A failure :meth:`Simulator.inject` makes a request meet.

    Only ``SLOW`` and the ``PROCESS_THEN_*`` kinds let the request take effect.
    """

    SERVER_ERROR_HTML = "server_error_html"  # 502 with a CDN's HTML error page
    RATE_LIMITED = "rate_limited"  # 429, Retry-After, error JSON
    SLOW = "slow"  # hold the answer (on the simulator's clock), then answer normally
    DROP_CONNECTION = "drop_connection"  # close the connection, no answer, nothing done
    MALFORMED_JSON = "malformed_json"  # 200 with a cut-off JSON body
    ERROR_MESSAGE = "error_message"  # 200 with the error JSON
    PROCESS_THEN_DROP = "process_then_drop"  # take effect, then close without answering
    PROCESS_THEN_SLOW = "process_then_slow"  # take effect, then hold the answer


class BodyEncoding(StrEnum):
    """Which POST bodies the service reads; a body it does not read counts as empty."""

    FORM = "form"  # application/x-www-form-urlencoded (and multipart), as PHP reads $_POST
    JSON = "json"  # application/json only
    FORM_OR_JSON = "form_or_json"  # either (protocol.py's assumption, plus JSON)


class ErrorShape(StrEnum):
    """How an error answer is written."""

    OPERATION_MESSAGE = "operation_message"  # {"operation": "error", "message": m} (assumed)
    OPERATION_MSG = "operation_msg"  # {"operation": "error", "msg": m}
    OPERATION_ERROR = "operation_error"  # {"operation": "error", "error": m}
    STATUS_MESSAGE = "status_message"  # {"status": "error", "message": m}: no "operation"
    PLAIN_TEXT = "plain_text"  # the message alone, as text/plain


class StatusCost(StrEnum):
    """How an order's status gives its cost. The documentation does not say whether
    ``cost`` is the total or the price per unit; the rest are a vendor that misreports."""

    TOTAL = "total"  # what the order cost, less refunds (assumed)
    PER_UNIT = "per_unit"  # the price per unit
    MISSING = "missing"  # no cost field
    ZERO = "zero"
    NEGATIVE = "negative"  # the total, negated
    LATE = "late"  # no cost on the order's first status read, the total after


@dataclass(frozen=True, slots=True)
class Dialect:
    """How the simulator answers where the vendor's documentation is silent.

    The defaults are exactly the assumptions of :mod:`shared_client.protocol`; every other
    value is something the real service might do instead (see :data:`DIALECTS`).
    """

    bodies: BodyEncoding = BodyEncoding.FORM_OR_JSON
    # HTTP status of a refused API key, token or refresh token: 401 (assumed), 403, or 200
    # with the error body.
    credential_refused_status: int = p.HTTP_STATUS_UNAUTHORIZED
    error_shape: ErrorShape = ErrorShape.OPERATION_MESSAGE
    errors_with_http_200: bool = False  # every error answer says HTTP 200
    status_words: Mapping[str, str] = field(default_factory=dict)  # assumed status -> sent
    not_enough_credit_message: str = p.MESSAGE_NOT_ENOUGH_CREDIT
    token_refused_message: str = p.MESSAGE_TOKEN_EXPIRED
    echo_credentials: bool = False  # a refused credential is repeated in the message
    status_cost: StatusCost = StatusCost.TOTAL


# Status words of the generic "SMM panel" APIs, which this service may share.
PANEL_STATUS_WORDS: Final = {
    p.STATUS_REGISTERED: "Pending",
    p.STATUS_IN_PROGRESS: "Processing",
    p.STATUS_COMPLETED: "Completed",
    p.STATUS_PARTIAL: "Partial",
    p.STATUS_CANCELED: "Canceled",
}

# Named dialects, for tests and ``happy-follower simulate --dialect``.
DIALECTS: Final[Mapping[str, Dialect]] = {
    "assumed": Dialect(),
    "form-bodies-only": Dialect(bodies=BodyEncoding.FORM),
    "json-bodies-only": Dialect(bodies=BodyEncoding.JSON),
    "credential-refused-403": Dialect(credential_refused_status=403),
    "credential-refused-200": Dialect(credential_refused_status=200),
    "token-refused-unauthenticated": Dialect(
        credential_refused_status=200, token_refused_message="Unauthenticated."
    ),
    "errors-under-msg": Dialect(error_shape=ErrorShape.OPERATION_MSG),
    "errors-under-error": Dialect(error_shape=ErrorShape.OPERATION_ERROR),
    "errors-status-key": Dialect(error_shape=ErrorShape.STATUS_MESSAGE),
    "errors-plain-text": Dialect(error_shape=ErrorShape.PLAIN_TEXT),
    "errors-http-200": Dialect(errors_with_http_200=True),
    "panel-status-words": Dialect(status_words=PANEL_STATUS_WORDS),
    "credit-wording-english": Dialect(
        not_enough_credit_message="You do not have enough funds for this order"
    ),
    "echo-credentials": Dialect(echo_credentials=True),
}


@dataclass(frozen=True, slots=True)
class SimulatedService:
    """A service of the catalogue. Only ``service_id`` and ``name`` go on the wire."""

    service_id: int
    name: str
    unit_price: float  # credit charged per unit ordered
    min_count: int = 10
    max_count: int = 100_000
    start_delay: float = 10.0  # simulator seconds an order stays "registered"
    rate: float = 5.0  # units delivered per simulator second


DEFAULT_SERVICES: Final = (
    SimulatedService(10, "لایک ایرانی(سرعت متوسط)", 2.0, max_count=20_000),
    SimulatedService(11, "لایک ایرانی(سرعت بالا)", 3.0, max_count=20_000, rate=20.0),
    SimulatedService(20, "فالوور ایرانی(سرعت متوسط)", 8.0, min_count=50, rate=2.0),
    SimulatedService(21, "فالوور خارجی(سرعت بالا)", 4.0, min_count=50, rate=10.0),
    SimulatedService(30, "بازدید ویدیو(سرعت بالا)", 0.5, min_count=100, rate=50.0),
    SimulatedService(31, "بازدید استوری", 1.0, min_count=100, start_delay=5.0, rate=25.0),
)


@dataclass(slots=True)
class SimulatedOrder:
    """An order as the simulator holds it; :meth:`Simulator.orders` gives copies."""

    order_id: int
    api_key: str
    service_id: int
    link: str
    count: int
    cost: float  # what was charged, less any refund
    status: str
    remain: int
    old_count: int
    placed_at: float  # simulator clock
    partial_at: int | None = None
    recheck_count: int = 0
    unit_price: float = 0.0  # the price per unit charged when it was placed
    status_reads: int = 0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the simulator received, recorded before any fault or processing."""

    method: str
    path: str
    endpoint: str | None  # a name of :data:`_ENDPOINTS`, None for an unknown path
    sandbox: bool
    headers: CIMultiDict[str]
    form: dict[str, str]  # body parameters, from a form or a JSON object


@dataclass(slots=True)
class _Token:
    api_key: str
    expires_at: float


@dataclass(slots=True)
class _Refresh:
    api_key: str
    token: str  # the access token this refresh token may replace
    expires_at: float


@dataclass(slots=True)
class _Root:
    """The independent state of one API root (live or sandbox)."""

    sandbox: bool
    credit: dict[str, float] = field(default_factory=dict)
    orders: dict[int, SimulatedOrder] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    refresh_tokens: dict[str, _Refresh] = field(default_factory=dict)
    next_order_id: int = 1
    unit_prices: dict[int, float] = field(default_factory=dict)  # prices changed since


@dataclass(slots=True)
class _FaultRule:
    endpoint: str
    fault: Fault
    times: int | None
    delay: float
    retry_after: int | None
    message: str | None
    sandbox: bool | None


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        charset="utf-8",
    )


def _success(**fields: Any) -> web.Response:
    return _json({"operation": p.OPERATION_SUCCESS, **fields})


def _number(value: float) -> int | float:
    """A money amount as the documentation shows it: an int when it is whole."""
    value = round(value, 2)
    return int(value) if value.is_integer() else value


def _integer(value: str | None) -> int | None:
    if value is None or not (value := value.strip()).isascii() or not value.isdigit():
        return None
    return int(value)


def _bearer(request: web.Request, header: str) -> str | None:
    scheme, _, credential = request.headers.get(header, "").strip().partition(" ")
    return (credential.strip() or None) if scheme.lower() == "bearer" else None


def _valid_link(link: str) -> bool:
    try:
        url = URL(link)
    except ValueError:
        return False
    return url.scheme in {"http", "https"} and bool(url.host)


def _old_count(link: str) -> int:
    """The page's count before delivery: made up, but stable for a link."""
    return 100 + int.from_bytes(hashlib.sha256(link.encode()).digest()[:4]) % 9_900


def _drop(request: web.Request) -> web.Response:
    """Close the connection; aiohttp then fails to write the returned answer, quietly."""
    if request.transport is not None:
        request.transport.close()
    return web.Response()


@dataclass(frozen=True, slots=True)
class _Body:
    params: dict[str, str]
    encoding: BodyEncoding | None  # None: no body


async def _read_body(request: web.Request) -> _Body:
    if not request.can_read_body:
        return _Body({}, None)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return _Body({}, BodyEncoding.JSON)
        params = {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        return _Body(params, BodyEncoding.JSON)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    return _Body(form, BodyEncoding.FORM)


class Simulator:
    """The Happy Follower API, simulated: accounts, tokens, orders, faults, a clock."""

    def __init__(
        self,
        *,
        token_lifetime: float = 3600.0,
        refresh_token_lifetime: float = 30 * 86400.0,
        latency: float = 0.0,
        services: list[SimulatedService] | None = None,
        dialect: Dialect | None = None,
        clock: SimulatorClock | None = None,
        test_control: bool = False,
    ) -> None:
        """``test_control`` serves :data:`TEST_CONTROL_PATH` (advance the clock, wait for and
        release held answers) for tests that run the simulator in another process; it
        exists only when asked for, outside both API roots."""
        catalogue = list(DEFAULT_SERVICES) if services is None else services
        self._services = {service.service_id: service for service in catalogue}
        if len(self._services) != len(catalogue):
            raise ValueError("service ids must be unique")
        self.token_lifetime = token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        # Network latency, in real time whatever the clock: it stands for the wire, which a
        # client's own (real) timeouts measure.
        self.latency = latency
        self.clock = clock or SimulatorClock()
        # Settable at any time: how answers are written where the documentation is silent.
        self.dialect = dialect or Dialect()
        self.requests: list[RecordedRequest] = []
        self._api_keys: set[str] = set()
        self._revoked: set[str] = set()
        self._roots = {False: _Root(sandbox=False), True: _Root(sandbox=True)}
        self._faults: list[_FaultRule] = []
        self._runner: web.AppRunner | None = None
        self._origin: str | None = None
        self._stopping = asyncio.Event()  # wakes the requests a fault holds, at stop()
        self._releasing = asyncio.Event()  # wakes the requests held now, at release_held()
        self._held: dict[str, int] = {}  # endpoint -> requests whose answer a fault holds
        self._held_changed = asyncio.Event()
        # Endpoints that need a token: (root, API key, body parameters, path argument).
        self._handlers: dict[str, Callable[[_Root, str, dict[str, str], str], web.Response]] = {
            "services": self._list_services,
            "order": self._order,
            "status": self._status,
            "cancel": self._cancel,
            "recheck": self._recheck,
            "credit": self._credit,
        }
        self.app = web.Application()
        if test_control:
            control = self.app.router
            control.add_post(f"{TEST_CONTROL_PATH}/advance", self._control_advance)
            control.add_post(f"{TEST_CONTROL_PATH}/wait-until-held", self._control_wait_held)
            control.add_post(f"{TEST_CONTROL_PATH}/release-held", self._control_release_held)
        # One catch-all route, so that every request is recorded and every refusal,
        # 404 included, answers in the API's error format.
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    # --- lifecycle ------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port); return the live base URL."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        # A short shutdown timeout: stop() must not wait on a request a fault holds.
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        self._stopping = asyncio.Event()
        self._releasing = asyncio.Event()
        self._held_changed = asyncio.Event()
        await runner.setup()
        # A deep backlog: with the default 128, a burst of concurrent connections waits
        # out a SYN retransmission (a second) and benchmarks measure that instead.
        try:
            await web.TCPSite(runner, host, port, backlog=1024).start()
        except OSError:
            await runner.cleanup()
            raise
        bound_host, bound_port = runner.addresses[0][:2]
        self._runner = runner
        self._origin = str(URL.build(scheme="http", host=bound_host, port=bound_port))
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            # Requests held by a fault end now, so that no handler outlives the server.
            self._stopping.set()
            await self._runner.cleanup()
            self._runner = None
            self._origin = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return self._url(_LIVE_ROOT)

    @property
    def sandbox_base_url(self) -> str:
        return self._url(_SANDBOX_ROOT)

    def _url(self, root: str) -> str:
        if self._origin is None:
            raise RuntimeError("the simulator is not running")
        return self._origin + root

    # --- clock ----------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the clock forward: tokens age, orders progress, held answers may end."""
        self.clock.advance(seconds)

    # --- test control over HTTP (only with test_control=True) ------------------

    async def _control_advance(self, request: web.Request) -> web.Response:
        try:
            self.advance(float(request.query["seconds"]))
        except (KeyError, ValueError) as err:
            return _json({"error": f"seconds: {err}"}, 400)
        return _json({"now": self.now()})

    async def _control_wait_held(self, request: web.Request) -> web.Response:
        endpoint = request.query.get("endpoint", "")
        count = _integer(request.query.get("count", "1"))
        if endpoint not in _ENDPOINTS or count is None:
            return _json({"error": "endpoint: one of the API's; count: a whole number"}, 400)
        await self.wait_until_held(endpoint, count)
        return _json({"held": self.held(endpoint)})

    async def _control_release_held(self, request: web.Request) -> web.Response:
        await self.release_held()
        return _json({"now": self.now()})

    # --- held answers ---------------------------------------------------------

    def held(self, endpoint: str) -> int:
        """How many requests to ``endpoint`` a SLOW or PROCESS_THEN_SLOW fault holds now."""
        return self._held.get(endpoint, 0)

    async def wait_until_held(self, endpoint: str, count: int = 1) -> None:
        """Return once ``count`` requests to ``endpoint`` are held (a PROCESS_THEN_SLOW
        request has then taken effect): an event to wait on instead of polling."""
        while self.held(endpoint) < count:
            self._held_changed.clear()
            await self._held_changed.wait()

    async def release_held(self) -> None:
        """End every hold now and return once each held request has answered."""
        self._releasing.set()
        self._releasing = asyncio.Event()  # requests held from now on are held again
        while self._held:
            self._held_changed.clear()
            await self._held_changed.wait()

    # --- accounts and tokens --------------------------------------------------

    def add_account(self, credit: float = 100_000, api_key: str | None = None) -> str:
        """Open an account with ``credit`` on each root; return its API key."""
        key = secrets.token_urlsafe(24) if api_key is None else api_key
        if key in self._api_keys:
            raise ValueError("an account with this API key exists")
        self._api_keys.add(key)
        for root in self._roots.values():
            root.credit[key] = credit
        return key

    def revoke_api_key(self, api_key: str) -> None:
        """The key, and every token issued for it, stops working on both roots."""
        self._account(api_key)
        self._revoked.add(api_key)

    def expire_tokens(self) -> None:
        """Expire every access token issued so far; their refresh tokens still work."""
        for root in self._roots.values():
            for token in root.tokens.values():
                token.expires_at = -float("inf")

    def expire_refresh_tokens(self) -> None:
        for root in self._roots.values():
            root.refresh_tokens.clear()

    def set_credit(self, api_key: str, value: float, *, sandbox: bool = False) -> None:
        self._account(api_key)
        self._roots[sandbox].credit[api_key] = value

    def credit(self, api_key: str, *, sandbox: bool = False) -> float:
        self._account(api_key)
        root = self._roots[sandbox]
        self._settle(root)
        return root.credit[api_key]

    def _account(self, api_key: str) -> None:
        if api_key not in self._api_keys:
            raise KeyError(api_key)

    def _live_key(self, api_key: str | None) -> str | None:
        if api_key in self._api_keys and api_key not in self._revoked:
            return api_key
        return None

    # --- orders ---------------------------------------------------------------

    def orders(self, api_key: str, *, sandbox: bool = False) -> list[SimulatedOrder]:
        """Copies of the account's orders on one root, as of now, oldest first."""
        self._account(api_key)
        root = self._roots[sandbox]
        self._settle(root)
        return [replace(order) for order in root.orders.values() if order.api_key == api_key]

    def set_unit_price(self, service_id: int, price: float, *, sandbox: bool | None = None) -> None:
        """Change what the service charges per unit from now on (``sandbox`` None: on both
        roots). Orders already placed keep their price."""
        if service_id not in self._services:
            raise KeyError(service_id)
        for root in self._roots.values():
            if sandbox is None or root.sandbox == sandbox:
                root.unit_prices[service_id] = price

    def unit_price(self, service_id: int, *, sandbox: bool = False) -> float:
        """What the service charges per unit now."""
        root = self._roots[sandbox]
        return root.unit_prices.get(service_id, self._services[service_id].unit_price)

    def set_order_outcome(
        self, order_id: int, *, partial_at: int | None, sandbox: bool = False
    ) -> None:
        """Make a running order end ``partial`` after ``partial_at`` units (None: complete)."""
        root = self._roots[sandbox]
        self._settle(root)
        order = root.orders[order_id]
        if order.status not in _CANCELLABLE:
            raise ValueError(f"order {order_id} is already {order.status}")
        if partial_at is not None and not 0 <= partial_at < order.count:
            raise ValueError("partial_at must be at least 0 and less than the order's count")
        order.partial_at = partial_at

    def _settle(self, root: _Root) -> None:
        """Bring every running order to the state the clock says; refund partial ends."""
        now = self.now() + _CLOCK_EPSILON
        for order in root.orders.values():
            if order.status not in _CANCELLABLE:
                continue
            service = self._services[order.service_id]
            elapsed = now - order.placed_at - service.start_delay
            if elapsed < 0:
                continue
            target = order.count if order.partial_at is None else order.partial_at
            delivered = min(target, int(elapsed * service.rate))
            order.remain = order.count - delivered
            if delivered < target:
                order.status = p.STATUS_IN_PROGRESS
            elif target == order.count:
                order.status = p.STATUS_COMPLETED
            else:
                order.status = p.STATUS_PARTIAL
                self._refund(root, order)

    def _refund(self, root: _Root, order: SimulatedOrder) -> None:
        refund = order.remain * order.unit_price
        root.credit[order.api_key] += refund
        order.cost -= refund

    # --- faults ---------------------------------------------------------------

    def inject(
        self,
        endpoint: str,
        fault: Fault,
        *,
        times: int | None = 1,
        delay: float = 1.0,
        retry_after: int | None = 5,
        message: str | None = None,
        sandbox: bool | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``endpoint`` (None: all, until cleared) fail.

        ``sandbox`` None matches both roots. Rules are consumed in the order injected.
        ``delay`` is how long SLOW and PROCESS_THEN_SLOW hold an answer, in seconds of the
        simulator's clock (on a driven clock: until advanced that far, or released).
        """
        if endpoint not in _ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(_ENDPOINTS)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None")
        self._faults.append(
            _FaultRule(endpoint, Fault(fault), times, delay, retry_after, message, sandbox)
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, endpoint: str | None, sandbox: bool) -> _FaultRule | None:
        for rule in self._faults:
            if rule.endpoint == endpoint and rule.sandbox in (None, sandbox):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self._faults.remove(rule)
                return rule
        return None

    # --- HTTP -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        root, endpoint, arg = self._route(request.path)
        sandbox = root is not None and root.sandbox
        body = await _read_body(request)
        self.requests.append(
            RecordedRequest(
                request.method, request.path, endpoint, sandbox, CIMultiDict(request.headers),
                body.params,
            )
        )  # fmt: skip
        if self.latency:
            await asyncio.sleep(self.latency)
        rule = self._take_fault(endpoint, sandbox)
        if rule is not None and rule.fault in self._fault_answers:
            return self._fault_answers[rule.fault](rule, request)
        if rule is not None and rule.fault is Fault.SLOW:
            await self._hold(endpoint, rule.delay)
        if root is None or endpoint is None:
            response = self._refusal(p.HTTP_STATUS_NOT_FOUND, p.MESSAGE_PATH_NOT_FOUND)
        else:
            response = self._process(root, endpoint, arg, request, self._readable(body))
        if rule is not None and rule.fault is Fault.PROCESS_THEN_DROP:
            return _drop(request)
        if rule is not None and rule.fault is Fault.PROCESS_THEN_SLOW:
            await self._hold(endpoint, rule.delay)
        return response

    async def _hold(self, endpoint: str | None, seconds: float) -> None:
        """Wait ``seconds`` of the clock before answering, or until released or stopped."""
        # The moment is read now: an advance made as soon as the hold is seen counts.
        ends = [
            asyncio.ensure_future(self.clock.wait_until(self.now() + seconds)),
            asyncio.ensure_future(self._stopping.wait()),
            asyncio.ensure_future(self._releasing.wait()),
        ]
        key = endpoint or ""
        self._held[key] = self._held.get(key, 0) + 1
        self._held_changed.set()
        try:
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for end in ends:
                end.cancel()
            if (left := self._held.pop(key) - 1) > 0:
                self._held[key] = left
            self._held_changed.set()

    def _route(self, path: str) -> tuple[_Root | None, str | None, str]:
        """The root, the endpoint's name and the status path's order id of a path."""
        for prefix, sandbox in ((_LIVE_ROOT, False), (_SANDBOX_ROOT, True)):
            if path.startswith(prefix + "/"):
                rel = path[len(prefix) :]
                if (status := _STATUS_PATH.fullmatch(rel)) is not None:
                    return self._roots[sandbox], "status", status.group(1)
                return self._roots[sandbox], _FIXED_PATHS.get(rel), ""
        return None, None, ""

    def _readable(self, body: _Body) -> dict[str, str]:
        """The body's parameters, if the dialect reads its encoding (else none at all)."""
        accepted = self.dialect.bodies
        if body.encoding is None or accepted in (BodyEncoding.FORM_OR_JSON, body.encoding):
            return body.params
        return {}

    @property
    def _fault_answers(self) -> dict[Fault, Callable[[_FaultRule, web.Request], web.Response]]:
        """Faults answered at once, without the request taking effect."""
        return {
            Fault.SERVER_ERROR_HTML: lambda _rule, _request: web.Response(
                status=502, text=_CDN_ERROR_PAGE, content_type="text/html"
            ),
            Fault.RATE_LIMITED: self._rate_limited,
            Fault.DROP_CONNECTION: lambda _rule, request: _drop(request),
            Fault.MALFORMED_JSON: lambda _rule, _request: web.Response(
                text=_TRUNCATED_JSON, content_type="application/json", charset="utf-8"
            ),
            Fault.ERROR_MESSAGE: lambda rule, _request: self._refusal(
                200, rule.message or p.MESSAGE_GENERIC_ERROR
            ),
        }

    def _rate_limited(self, rule: _FaultRule, request: web.Request) -> web.Response:
        message = rule.message or p.MESSAGE_RATE_LIMITED
        response = self._refusal(p.RATE_LIMITED_STATUS, message, keep_status=True)
        if rule.retry_after is not None:
            response.headers["Retry-After"] = str(rule.retry_after)
        return response

    def _refusal(self, status: int, message: str, *, keep_status: bool = False) -> web.Response:
        """An error answer, written as the dialect writes them."""
        dialect = self.dialect
        if dialect.errors_with_http_200 and not keep_status:
            status = 200
        if dialect.error_shape is ErrorShape.PLAIN_TEXT:
            return web.Response(status=status, text=message, charset="utf-8")
        key = {
            ErrorShape.OPERATION_MESSAGE: ("operation", "message"),
            ErrorShape.OPERATION_MSG: ("operation", "msg"),
            ErrorShape.OPERATION_ERROR: ("operation", "error"),
            ErrorShape.STATUS_MESSAGE: ("status", "message"),
        }[dialect.error_shape]
        return _json({key[0]: p.OPERATION_ERROR, key[1]: message}, status)

    def _credential_refused(self, message: str, credential: str | None) -> web.Response:
        """A refused API key, token or refresh token, as the dialect signals it."""
        if self.dialect.echo_credentials and credential:
            message = f"{message}: {credential}"
        return self._refusal(self.dialect.credential_refused_status, message)

    def _process(
        self, root: _Root, endpoint: str, arg: str, request: web.Request, form: dict[str, str]
    ) -> web.Response:
        """Answer a request to a known endpoint. Synchronous, so each request is atomic."""
        if root.sandbox and endpoint in _NO_SANDBOX:
            return self._refusal(p.HTTP_STATUS_NOT_FOUND, p.MESSAGE_NO_SANDBOX)
        method = _ENDPOINTS[endpoint][1]
        if request.method != method:
            response = self._refusal(405, p.MESSAGE_METHOD_NOT_ALLOWED)
            response.headers["Allow"] = method
            return response
        if endpoint == "auth":
            return self._auth(root, request)
        if endpoint == "ref-auth":
            return self._refresh(root, request)
        sent = _bearer(request, p.HEADER_AUTHORIZATION)
        token = root.tokens.get(sent or "")
        if token is None or token.expires_at <= self.now() or not self._live_key(token.api_key):
            return self._credential_refused(self.dialect.token_refused_message, sent)
        self._settle(root)
        return self._handlers[endpoint](root, token.api_key, form, arg)

    def _issue_token(self, root: _Root, api_key: str) -> str:
        token = secrets.token_urlsafe(32)
        root.tokens[token] = _Token(api_key, self.now() + self.token_lifetime)
        return token

    def _auth(self, root: _Root, request: web.Request) -> web.Response:
        sent = _bearer(request, p.HEADER_AUTHORIZATION)
        api_key = self._live_key(sent)
        if api_key is None:
            return self._credential_refused(p.MESSAGE_INVALID_API_KEY, sent)
        token = self._issue_token(root, api_key)
        refresh = secrets.token_urlsafe(32)
        root.refresh_tokens[refresh] = _Refresh(
            api_key, token, self.now() + self.refresh_token_lifetime
        )
        return _success(refreshToken=refresh, token=token)

    def _refresh(self, root: _Root, request: web.Request) -> web.Response:
        """Replace the access token issued with a live refresh token, expired or not."""
        sent = _bearer(request, p.HEADER_REFRESH_TOKEN)
        record = root.refresh_tokens.get(sent or "")
        if (
            record is None
            or record.expires_at <= self.now()
            or record.token != _bearer(request, p.HEADER_OLD_TOKEN)
            or not self._live_key(record.api_key)
        ):
            return self._credential_refused(p.MESSAGE_REFRESH_REFUSED, sent)
        root.tokens.pop(record.token, None)
        record.token = self._issue_token(root, record.api_key)
        return _success(token=record.token)

    def _list_services(
        self, root: _Root, api_key: str, form: dict[str, str], arg: str
    ) -> web.Response:
        return _success(
            services=[
                {"serviceId": service.service_id, "name": service.name}
                for service in self._services.values()
            ]
        )

    def _order(self, root: _Root, api_key: str, form: dict[str, str], arg: str) -> web.Response:
        service_id, count = _integer(form.get("serviceId")), _integer(form.get("count"))
        link = form.get("link", "").strip()
        if service_id is None or count is None or not link:
            return self._refusal(p.HTTP_STATUS_REFUSED, p.MESSAGE_INVALID_INPUT)
        service = self._services.get(service_id)
        if service is None:
            return self._refusal(p.HTTP_STATUS_NOT_FOUND, p.MESSAGE_SERVICE_NOT_FOUND)
        if not service.min_count <= count <= service.max_count or not _valid_link(link):
            return self._refusal(p.HTTP_STATUS_REFUSED, p.MESSAGE_INVALID_INPUT)
        unit_price = root.unit_prices.get(service_id, service.unit_price)
        cost = count * unit_price
        if cost > root.credit[api_key]:
            return self._refusal(p.HTTP_STATUS_REFUSED, self.dialect.not_enough_credit_message)
        root.credit[api_key] -= cost
        order_id = root.next_order_id
        root.next_order_id += 1
        root.orders[order_id] = SimulatedOrder(
            order_id=order_id,
            api_key=api_key,
            service_id=service_id,
            link=link,
            count=count,
            cost=cost,
            status=p.STATUS_REGISTERED,
            remain=count,
            old_count=_old_count(link),
            placed_at=self.now(),
            unit_price=unit_price,
        )
        return _success(orderId=order_id)

    def _own_order(self, root: _Root, api_key: str, order_id: int | None) -> SimulatedOrder | None:
        order = root.orders.get(order_id) if order_id is not None else None
        return order if order is not None and order.api_key == api_key else None

    def _status(self, root: _Root, api_key: str, form: dict[str, str], arg: str) -> web.Response:
        order = self._own_order(root, api_key, _integer(arg))
        if order is None:
            return self._refusal(p.HTTP_STATUS_NOT_FOUND, p.MESSAGE_ORDER_NOT_FOUND)
        order.status_reads += 1
        cost = self._reported_cost(order)
        return _success(
            status=self.dialect.status_words.get(order.status, order.status),
            statusTitle=p.STATUS_TITLES[order.status],
            remain=order.remain,
            oldCount=order.old_count,
            count=order.count,
            **({} if cost is None else {"cost": _number(cost)}),
            link=order.link,
        )

    def _reported_cost(self, order: SimulatedOrder) -> float | None:
        """The cost a status gives, as the dialect writes it (None: no cost field)."""
        match self.dialect.status_cost:
            case StatusCost.PER_UNIT:
                return order.unit_price
            case StatusCost.MISSING:
                return None
            case StatusCost.ZERO:
                return 0
            case StatusCost.NEGATIVE:
                return -order.cost
            case StatusCost.LATE if order.status_reads == 1:
                return None
        return order.cost

    def _order_in_body(
        self, root: _Root, api_key: str, form: dict[str, str]
    ) -> SimulatedOrder | web.Response:
        order_id = _integer(form.get("orderId"))
        if order_id is None:
            return self._refusal(p.HTTP_STATUS_REFUSED, p.MESSAGE_INVALID_INPUT)
        order = self._own_order(root, api_key, order_id)
        return order or self._refusal(p.HTTP_STATUS_NOT_FOUND, p.MESSAGE_ORDER_NOT_FOUND)

    def _cancel(self, root: _Root, api_key: str, form: dict[str, str], arg: str) -> web.Response:
        """Cancel a running order, refunding what is left to deliver."""
        order = self._order_in_body(root, api_key, form)
        if isinstance(order, web.Response):
            return order
        if order.status not in _CANCELLABLE:
            return self._refusal(p.HTTP_STATUS_REFUSED, p.MESSAGE_NOT_CANCELLABLE)
        order.status = p.STATUS_CANCELED
        self._refund(root, order)
        return _success()

    def _recheck(self, root: _Root, api_key: str, form: dict[str, str], arg: str) -> web.Response:
        order = self._order_in_body(root, api_key, form)
        if isinstance(order, web.Response):
            return order
        if order.status == p.STATUS_CANCELED:
            return self._refusal(p.HTTP_STATUS_REFUSED, p.MESSAGE_NOT_RECHECKABLE)
        order.recheck_count += 1
        return _success()

    def _credit(self, root: _Root, api_key: str, form: dict[str, str], arg: str) -> web.Response:
        return _success(credit=_number(root.credit[api_key]))
