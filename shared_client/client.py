"""The asyncio client of the Happy Follower API v1.

One class owns every HTTP call (``_send`` is the single choke point), the token
lifecycle and the mapping of every failure to ``HappyFollowerError`` subclasses.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from pydantic import BaseModel, ValidationError
from yarl import URL

from . import protocol
from .errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerConnectionError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerResponseError,
    HappyFollowerSandboxUnsupportedError,
)
from .models import OrderStatus, Service, to_whole_number
from .validation import OrderRequest, positive_int, to_number, validate_order

if TYPE_CHECKING:
    import aiohttp

_LOGGER = logging.getLogger(__name__)
_ModelT = TypeVar("_ModelT", bound=BaseModel)

DEFAULT_TIMEOUT = 20.0
MAX_MESSAGE_LENGTH = 300
_KEY_REFUSED = (
    "Happy Follower refused the API key: copy it again from your account on happy-follower.com"
)

# --- redaction of secrets --------------------------------------------------------
# Secrets are redacted by what they are, not by which one is current: every API key,
# access token and refresh token a client has held is remembered (the most recent
# SECRET_MEMORY of them; tokens are few per process) and removed from every text that
# came from the service, so an error that echoes a token the client replaced long ago
# is as clean as one that echoes the current token. Beside each client's own memory,
# a process-wide one keeps the secrets of at least _MIN_SHARED_SECRET characters that
# any client held, so that a client made after a reauthentication (a new key) still
# hides the old key and its tokens. Shorter secrets stay with their client only: a
# short string is too likely to be an ordinary word in someone else's message.
SECRET_MEMORY = 256
_MIN_SHARED_SECRET = 16
REDACTED = "***"

# Text that has the shape of a credential is redacted too, even if this process never
# held it, but only where the shape cannot be an ordinary word (the vendor does not
# document its tokens' format): a JSON Web Token (``eyJ…`` with two dots), whatever
# follows "Bearer" when it is at least 16 characters long, and an unbroken run of at
# least 32 letters, digits, ``-`` or ``_`` that mixes upper case, lower case and digits
# (base64-like random tokens) or is all hexadecimal with letters and digits. No word,
# handle, link, number or snake_case error code looks like that; shorter or
# punctuated fragments are left alone. Applied to the service's error messages, not
# to successful answers (a service name or a link is never rewritten by shape).
_CREDENTIAL_SHAPE = re.compile(
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
    r"|(?<=[Bb][Ee][Aa][Rr][Ee][Rr] )[^\s\"',;]{16,}"
    r"|(?<![A-Za-z0-9_-])(?:"
    r"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{32,}"
    r"|(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{32,}"
    r")(?![A-Za-z0-9_-])"
)


class _SecretMemory:
    """The most recent ``size`` secrets, remembered in the order they were last seen."""

    def __init__(self, size: int = SECRET_MEMORY, *, min_length: int = 1) -> None:
        self._size = size
        self._min_length = min_length
        self._secrets: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()  # clients may live on several event loops

    def remember(self, secret: str | None) -> None:
        if not secret or len(secret) < self._min_length:
            return
        with self._lock:
            self._secrets[secret] = None
            self._secrets.move_to_end(secret)
            while len(self._secrets) > self._size:
                self._secrets.popitem(last=False)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._secrets))


_PROCESS_SECRETS = _SecretMemory(min_length=_MIN_SHARED_SECRET)


def _redact_secrets(text: str, secrets: Iterable[str]) -> str:
    # Longest first, so that a secret holding another one is removed whole.
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """One HTTP answer as it came, before the protocol's checks."""

    status: int
    content_type: str
    retry_after: str | None
    body: bytes


class _Kind(Enum):
    """What a request does, which decides how its failures are reported."""

    READ = "read"  # GET: safe to retry
    ORDER = "order"  # spends credit: never retried, outcome unknown on a lost answer
    ACTION = "action"  # cancel / recheck: never retried


class _TokenRefusedError(Exception):
    """Internal: the service refused the token (or the refresh pair) we sent."""


class _TransientError(HappyFollowerConnectionError):
    """Internal: a failure after which a read may be retried."""


class HappyFollowerClient:
    """Client of the Happy Follower API.

    ``session``: an ``aiohttp.ClientSession`` to use (never closed by the client);
    without one the client creates and closes its own. ``sandbox`` selects the
    vendor's sandbox root; ``base_url`` overrides the root (a mirror, a proxy, the
    simulator) and stands for the chosen environment. The vendor's own roots are
    recognised however they are spelled: the other environment's is refused
    (``ApiRootError``, a ``HappyFollowerInputError``), and ``base_url`` holds the
    canonical form (``protocol.api_root_for``).
    """

    def __init__(
        self,
        api_key: str,
        *,
        session: aiohttp.ClientSession | None = None,
        sandbox: bool = False,
        base_url: str | None = None,
        request_timeout: float = DEFAULT_TIMEOUT,
        read_retries: int = 2,
        retry_backoff: float = 0.5,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise HappyFollowerInputError(
                "an API key is required (see your Happy Follower account)"
            )
        if base_url is not None and not isinstance(base_url, str):
            raise HappyFollowerInputError(f"base_url must be text, got {type(base_url).__name__}")
        try:
            # Live or sandbox is decided here, once, from the canonical root.
            root = protocol.api_root_for(base_url, sandbox=sandbox, subject="base_url")
        except protocol.ApiRootError as err:
            if err.reason is protocol.ApiRootRefusal.CREDENTIALS:
                raise  # never echoed: it may hold a password
            raise protocol.ApiRootError(
                err.reason, f"{err.detail} (got {base_url!r})", subject="base_url"
            ) from None
        self._api_key = api_key.strip()
        self._secrets = _SecretMemory()
        self._remember(self._api_key)
        self._session = session
        self._owns_session = session is None
        self.sandbox = sandbox
        self.base_url = root
        self._request_timeout = request_timeout
        self._read_retries = max(0, read_retries)
        self._retry_backoff = retry_backoff
        self._token: str | None = None
        self._refresh: str | None = None
        self._token_lock = asyncio.Lock()
        # Counts refused authentications, so that calls which waited on one that failed
        # share its error instead of each sending the refused key again.
        self._auth_refusals = 0

    def __repr__(self) -> str:
        return f"HappyFollowerClient(base_url={self.base_url!r}, sandbox={self.sandbox})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if the client created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # --- the API -------------------------------------------------------------

    async def authenticate(self) -> None:
        """Get a fresh token pair with the API key (``GET /auth``)."""
        async with self._token_lock:
            await self._authenticate_locked()

    async def refresh_token(self) -> None:
        """Renew the token with the refresh token (``GET /ref-auth``).

        Normally automatic. Authenticates first when there is no token yet.
        """
        async with self._token_lock:
            if self._token is None:
                await self._authenticate_locked()
            await self._refresh_or_authenticate_locked()

    async def get_services(self) -> list[Service]:
        """List the active services (``GET /services``)."""
        payload = await self._call("GET", protocol.PATH_SERVICES, kind=_Kind.READ)
        services = payload.get("services")
        if not isinstance(services, list):
            raise self._shape_error(protocol.PATH_SERVICES, "no list under 'services'")
        return [self._parse(Service, item, protocol.PATH_SERVICES) for item in services]

    async def place_order(self, *, service_id: object, link: object, count: object) -> int:
        """Place an order (``POST /order``) and return its id. Spends credit.

        For a caller of the client itself: the input is validated here (the shape only:
        which hosts are allowed is the spend guard's policy), then sent by ``send_order``.
        """
        return await self.send_order(validate_order(service_id, link, count, link_hosts=None))

    async def send_order(self, order: OrderRequest) -> int:
        """Send an order the input policy validated (``validate_order``; the spend guard
        sends the one it priced) as it is, and return its id. Spends credit.

        Never retried: when the answer is lost, raises
        ``HappyFollowerOrderOutcomeUnknownError`` instead of risking a second order.
        """
        body = {"serviceId": str(order.service_id), "link": order.link, "count": str(order.count)}
        payload = await self._call("POST", protocol.PATH_ORDER, data=body, kind=_Kind.ORDER)
        try:
            order_id = to_whole_number(payload.get("orderId"))
        except ValueError:
            order_id = 0
        if order_id <= 0:
            raise HappyFollowerOrderOutcomeUnknownError(
                "Happy Follower accepted the order but its answer carried no order id. "
                "The order was probably placed: check your credit and the orders list "
                "on happy-follower.com before ordering again."
            )
        return order_id

    async def get_order_status(self, order_id: int) -> OrderStatus:
        """Read an order's status (``GET /status/{id}/``)."""
        number = positive_int(order_id, "order_id")
        path = protocol.PATH_STATUS.format(order_id=number)
        payload = await self._call("GET", path, kind=_Kind.READ)
        return self._parse(OrderStatus, payload, protocol.PATH_STATUS)

    async def cancel_order(self, order_id: int) -> None:
        """Cancel an order (``POST /cancel``). Not available in the sandbox."""
        await self._order_action(protocol.PATH_CANCEL, order_id, "cancel")

    async def recheck_order(self, order_id: int) -> None:
        """Ask the service to re-check an order (``POST /recheck``). Not in the sandbox."""
        await self._order_action(protocol.PATH_RECHECK, order_id, "recheck")

    async def get_credit(self) -> int | float:
        """Return the account's credit (``GET /credit/``)."""
        payload = await self._call("GET", protocol.PATH_CREDIT, kind=_Kind.READ)
        try:
            return to_number(payload.get("credit"))
        except ValueError:
            raise self._shape_error(protocol.PATH_CREDIT, "credit is not a number") from None

    async def _order_action(self, path: str, order_id: int, verb: str) -> None:
        number = positive_int(order_id, "order_id")
        if self.sandbox:
            raise HappyFollowerSandboxUnsupportedError(
                f"Happy Follower has no sandbox version of {verb}: "
                f"use the live environment to {verb} an order"
            )
        await self._call("POST", path, data={"orderId": str(number)}, kind=_Kind.ACTION)

    # --- token lifecycle -------------------------------------------------------

    async def _call(
        self, method: str, path: str, *, kind: _Kind, data: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Send an authorised request; on a refused token renew it once and retry once."""
        token = await self._current_token()
        try:
            return await self._send(method, path, kind=kind, data=data, token=token)
        except _TokenRefusedError:
            pass
        await self._renew_token(stale=token)
        token = await self._current_token()
        try:
            return await self._send(method, path, kind=kind, data=data, token=token)
        except _TokenRefusedError:
            raise HappyFollowerAuthenticationError(
                "Happy Follower refused a fresh token: check that the API key is still "
                "valid on happy-follower.com and enter it again"
            ) from None

    async def _current_token(self) -> str:
        if self._token is None:
            refusals = self._auth_refusals
            async with self._token_lock:
                if self._token is None:
                    self._raise_if_refused_since(refusals)
                    await self._authenticate_locked()
        assert self._token is not None
        return self._token

    async def _renew_token(self, *, stale: str) -> None:
        """Refresh once however many calls saw the same stale token; re-auth if that fails."""
        refusals = self._auth_refusals
        async with self._token_lock:
            self._raise_if_refused_since(refusals)
            if self._token != stale:
                return  # another call renewed it while we waited
            await self._refresh_or_authenticate_locked()

    def _raise_if_refused_since(self, refusals: int) -> None:
        """Fail like the authentication that failed while this call waited for the lock."""
        if self._auth_refusals != refusals:
            raise HappyFollowerAuthenticationError(_KEY_REFUSED)

    async def _refresh_or_authenticate_locked(self) -> None:
        if self._refresh is not None:
            try:
                await self._refresh_locked()
            except (_TokenRefusedError, HappyFollowerApiError, HappyFollowerResponseError):
                _LOGGER.debug("Token refresh refused; authenticating again with the API key")
            else:
                return
        await self._authenticate_locked()

    async def _authenticate_locked(self) -> None:
        try:
            payload = await self._send(
                "GET", protocol.PATH_AUTH, kind=_Kind.READ, headers=self._bearer(self._api_key)
            )
        except (_TokenRefusedError, HappyFollowerApiError) as err:
            self._token = self._refresh = None
            self._auth_refusals += 1
            raise HappyFollowerAuthenticationError(_KEY_REFUSED) from (
                None if isinstance(err, _TokenRefusedError) else err
            )
        token, refresh = payload.get("token"), payload.get("refreshToken")
        if not isinstance(token, str) or not token:
            raise self._shape_error(protocol.PATH_AUTH, "no token in the answer")
        self._token = token
        self._refresh = refresh if isinstance(refresh, str) and refresh else None
        self._remember(self._token, self._refresh)

    async def _refresh_locked(self) -> None:
        assert self._token is not None
        assert self._refresh is not None
        headers = {
            protocol.HEADER_REFRESH_TOKEN: f"Bearer {self._refresh}",
            protocol.HEADER_OLD_TOKEN: f"Bearer {self._token}",
        }
        payload = await self._send("GET", protocol.PATH_REFRESH, kind=_Kind.READ, headers=headers)
        token = payload.get("token")
        if not isinstance(token, str) or not token:
            raise self._shape_error(protocol.PATH_REFRESH, "no token in the answer")
        self._token = token
        refresh = payload.get("refreshToken")
        if isinstance(refresh, str) and refresh:
            self._refresh = refresh
        self._remember(self._token, self._refresh)

    @staticmethod
    def _bearer(secret: str) -> dict[str, str]:
        return {protocol.HEADER_AUTHORIZATION: f"Bearer {secret}"}

    # --- HTTP ------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        kind: _Kind,
        data: Mapping[str, str] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send one request (retrying transient failures of reads) and check its answer."""
        if headers is None:
            assert token is not None
            headers = self._bearer(token)
        attempts = 1 + (self._read_retries if kind is _Kind.READ else 0)
        for attempt in range(attempts):
            try:
                return await self._send_once(method, path, kind=kind, data=data, headers=headers)
            except _TransientError as err:
                if attempt + 1 == attempts:
                    raise HappyFollowerConnectionError(str(err)) from None
                delay = self._retry_backoff * 2**attempt
                _LOGGER.debug("%s %s failed (%s); retrying in %.1f s", method, path, err, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        kind: _Kind,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> dict[str, Any]:
        import aiohttp  # noqa: PLC0415 - on first use (see _exchange)

        try:
            answer = await self._exchange(method, path, headers=headers, data=data)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
            # Nothing reached the service, whatever the request was.
            raise _TransientError(
                f"Could not connect to Happy Follower at {URL(self.base_url).host}: "
                "check the internet connection and try again"
            ) from None
        except (TimeoutError, aiohttp.ClientError) as err:
            raise self._lost_answer(kind, path, err) from None
        _LOGGER.debug("%s %s -> HTTP %s", method, path, answer.status)
        return self._check_answer(path, kind, answer.status, answer.retry_after, answer.body)

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
    ) -> RawAnswer:
        """The one place that sends HTTP: one request on this client's session, as given."""
        # Imported on first use: it takes longer to import than the MCP server over stdio
        # takes to answer its first requests, which need no HTTP.
        import aiohttp  # noqa: PLC0415

        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self._request_timeout)
        async with self._session.request(
            method,
            self.base_url + path,
            headers=headers,
            data=data,
            json=json_body,
            timeout=timeout,
        ) as response:
            return RawAnswer(
                response.status,
                response.content_type,
                response.headers.get("Retry-After"),
                await response.read(),
            )

    async def exchange_raw(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
    ) -> RawAnswer:
        """One request exactly as given (no token, no retry, no check of the answer), on the
        client's transport: for the probe, which shows what the service really answers.
        Everything that acts on an account goes through the checked calls above.

        Raises HappyFollowerConnectionError (naming the failure) when no answer came."""
        import aiohttp  # noqa: PLC0415 - on first use (see _exchange)

        try:
            return await self._exchange(
                method, path, headers=headers or {}, data=data, json_body=json_body
            )
        except (TimeoutError, aiohttp.ClientError) as err:
            raise HappyFollowerConnectionError(type(err).__name__) from None

    def _lost_answer(self, kind: _Kind, path: str, err: BaseException) -> HappyFollowerError:
        """The request may have reached the service, but no usable answer came back."""
        what = "did not answer in time" if isinstance(err, TimeoutError) else "dropped the answer"
        if kind is _Kind.ORDER:
            return HappyFollowerOrderOutcomeUnknownError(
                f"The order was sent but Happy Follower {what}, so it may or may not have "
                "been placed. It was NOT sent again. Check your credit and your orders on "
                "happy-follower.com before ordering again."
            )
        if kind is _Kind.ACTION:
            return HappyFollowerConnectionError(
                f"Happy Follower {what} to {path}: the request may have been applied; "
                "check the order's status before trying again"
            )
        return _TransientError(f"Happy Follower {what} ({path}); try again later")

    def _check_answer(
        self, path: str, kind: _Kind, status: int, retry_after: str | None, body: bytes
    ) -> dict[str, Any]:
        """Map one HTTP answer to its payload or to the right exception."""
        payload = protocol.parse_body(body)
        if status == protocol.RATE_LIMITED_STATUS:
            seconds = _seconds(retry_after)
            hint = f"in {seconds:g} s" if seconds is not None else "in a minute"
            raise HappyFollowerRateLimitError(
                f"Happy Follower is limiting requests: try again {hint}", retry_after=seconds
            )
        if protocol.is_token_refused(status, isinstance(payload, dict)):
            # A 403 page from a proxy or CDN (not JSON) says nothing about our token.
            raise _TokenRefusedError
        if not isinstance(payload, dict):
            # An order answered with anything but a 4xx refusal may have been placed.
            if kind is _Kind.ORDER and not 400 <= status < 500:
                what = "a server error" if status >= 500 else "an answer it could not read"
                raise HappyFollowerOrderOutcomeUnknownError(
                    f"The order was sent but Happy Follower answered with {what} "
                    f"(HTTP {status}), so it may or may not have been placed. It was NOT "
                    "sent again. Check your credit and your orders on happy-follower.com "
                    "before ordering again."
                )
            if status >= 500:
                raise _TransientError(
                    f"Happy Follower is unavailable (HTTP {status}, {path}); try again later"
                )
            raise self._shape_error(path, f"HTTP {status}, not a JSON object")
        operation = payload.get("operation")
        if operation == protocol.OPERATION_SUCCESS or (operation is None and status < 300):
            return self._redact_success(path, payload)
        # Read as the service wrote it; shown with secrets removed (a secret held may,
        # by chance or on purpose, contain the words that tell the kinds apart).
        said = self._service_message(payload)
        if path not in (protocol.PATH_AUTH, protocol.PATH_REFRESH) and protocol.speaks_of_token(
            said
        ):
            raise _TokenRefusedError
        error_type = HappyFollowerApiError
        if path == protocol.PATH_ORDER and protocol.is_not_enough_credit(said):
            error_type = HappyFollowerNotEnoughCreditError
        message = self._redact(said)[:MAX_MESSAGE_LENGTH] if said else "no reason given"
        raise error_type(
            f"Happy Follower refused the request ({path}): {message}",
            service_message=message,
            http_status=status,
        )

    @staticmethod
    def _service_message(payload: Mapping[str, Any]) -> str:
        """The service's own message, as it wrote it ("" when it gave none)."""
        for key in protocol.ERROR_MESSAGE_KEYS:
            value = payload.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""

    def _remember(self, *secrets: str | None) -> None:
        for secret in secrets:
            self._secrets.remember(secret)
            _PROCESS_SECRETS.remember(secret)

    def _held_secrets(self) -> list[str]:
        return [*self._secrets, *_PROCESS_SECRETS]

    def _redact(self, text: str) -> str:
        """Remove secrets from an error message of the service, in case it echoes them.

        Every secret held (see ``SECRET_MEMORY``), then anything shaped like a
        credential (``_CREDENTIAL_SHAPE``). Only what can still be shown is read: the
        message is cut well beyond its shown length (and beyond the longest secret)
        before redaction, so a huge answer costs nothing and no credential that starts
        in the shown part is cut short before it is recognised.
        """
        held = self._held_secrets()
        longest = max(map(len, held), default=0)
        text = text[: max(4 * MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH + longest + 1)]
        text = _redact_secrets(text, held)
        return _CREDENTIAL_SHAPE.sub(REDACTED, text)

    def _redact_success(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        if path in (protocol.PATH_AUTH, protocol.PATH_REFRESH):
            return payload  # carries the new tokens themselves
        redacted: dict[str, Any] = self._redact_answer(payload)
        return redacted

    def _redact_answer(self, value: Any) -> Any:
        """Remove held secrets from every text of a successful answer (names, titles)."""
        if isinstance(value, str):
            return _redact_secrets(value, self._held_secrets())
        if isinstance(value, dict):
            return {key: self._redact_answer(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._redact_answer(item) for item in value]
        return value

    def _parse(self, model: type[_ModelT], data: object, path: str) -> _ModelT:
        try:
            return model.model_validate(data)
        except ValidationError as err:
            # Only field names and error kinds: values could carry anything.
            fields = ", ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'answer'} ({error['type']})"
                for error in err.errors()[:5]
            )
            raise self._shape_error(path, f"unexpected fields: {fields}") from None

    @staticmethod
    def _shape_error(path: str, detail: str) -> HappyFollowerResponseError:
        return HappyFollowerResponseError(
            f"Happy Follower sent an answer this client does not understand ({path}: {detail}). "
            "If it persists, the API may have changed: please report it."
        )


def _seconds(value: str | None) -> float | None:
    """Parse a Retry-After header given in seconds (dates are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < math.inf else None
