"""``happy-follower probe``: what the real service does where its documentation is silent.

``shared_client/protocol.py`` states the client's guesses (form or JSON bodies, how a
refused token is signalled, the error shape, the status words, how "not enough credit"
reads). The probe provokes each of them on the service and reports, for each, what the
service did, whether that matches the guess, and whether the client still copes.

It sends raw requests (the client would hide exactly what is to be seen) and, beside
them, the same situations through ``HappyFollowerClient`` to see what the client makes
of them. On the sandbox it places sandbox orders (they cost nothing). On the live API
(``--live``) it only reads and provokes refusals that cannot place or change an order:
it never sends an order, and its one cancel names order 0, which cannot exist.

The report never holds the API key or a token: answers are reduced to their shape
(keys and kinds of values), and the only vendor text kept (messages, status words)
is made display-safe with every credential seen replaced by ``***``.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from yarl import URL

from .. import __version__
from .. import protocol as p
from ..client import HappyFollowerClient
from ..errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerConnectionError,
    HappyFollowerError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerResponseError,
)
from ..models import OrderStatus
from ..validation import amount_text, display_text

PROBE_LINK = "https://www.instagram.com/instagram"
PROBE_COUNT = 100
UNKNOWN_ORDER_ID = 2**31 - 1  # no account has placed that many orders
IMPOSSIBLE_ORDER_ID = 0  # ids start at 1: a cancel of order 0 cannot touch an order
KNOWN_STATUSES = frozenset(p.STATUS_TITLES) | p.FINAL_STATUSES
_KINDS: Mapping[type, str] = {bool: "true/false", int: "whole number", float: "number"}


class Verdict(StrEnum):
    AS_ASSUMED = "as_assumed"
    DIFFERS = "differs"
    NOT_RUN = "not_run"


@dataclass(slots=True)
class Answer:
    """One raw answer, kept in memory; only ``describe`` of it reaches the report."""

    http_status: int | None  # None: no answer at all
    content_type: str = ""
    payload: Any = None  # the parsed JSON, if it was JSON
    text: str = ""  # the body, if it was not JSON
    problem: str = ""  # why there was no answer

    @property
    def is_object(self) -> bool:
        return isinstance(self.payload, dict)

    @property
    def operation(self) -> object:
        return self.payload.get("operation") if isinstance(self.payload, dict) else None

    @property
    def succeeded(self) -> bool:
        return self.http_status == 200 and self.operation == p.OPERATION_SUCCESS


@dataclass(frozen=True, slots=True)
class Check:
    """What one provocation showed."""

    name: str
    request: str  # what was sent
    observed: str  # what came back, reduced to its shape
    assumed: str  # what protocol.py assumes
    verdict: Verdict
    client_copes: bool | None = None  # does the client still work with what was observed
    note: str = ""


@dataclass(slots=True)
class Report:
    environment: str
    base_url: str
    checks: list[Check] = field(default_factory=list)
    blocked: HappyFollowerError | None = None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def count(self, verdict: Verdict) -> int:
        return sum(check.verdict is verdict for check in self.checks)

    def as_data(self) -> dict[str, Any]:
        return {
            "probe_version": __version__,
            "environment": self.environment,
            "base_url": self.base_url,
            "started_at": self.started_at,
            "summary": {verdict.value: self.count(verdict) for verdict in Verdict},
            "client_does_not_cope": [c.name for c in self.checks if c.client_copes is False],
            "checks": [asdict(check) for check in self.checks],
        }

    def as_text(self) -> str:
        lines = [
            f"Happy Follower probe ({PROGRAM_VERSION}) of the {self.environment} API at "
            f"{self.base_url}, {self.started_at}",
            _ENVIRONMENT_NOTES[self.environment],
            "",
        ]
        for check in self.checks:
            lines += _check_lines(check)
        lines += ["", self._summary(), attach_hint()]
        return "\n".join(lines)

    def _summary(self) -> str:
        not_coping = [c.name for c in self.checks if c.client_copes is False]
        text = (
            f"Summary: {self.count(Verdict.AS_ASSUMED)} as assumed, "
            f"{self.count(Verdict.DIFFERS)} differ, {self.count(Verdict.NOT_RUN)} not run."
        )
        if not_coping:
            text += f" The client does not cope with: {', '.join(not_coping)}."
        return text

    def blocked_message(self) -> str:
        return f"the probe could not go on: {self.blocked}"


PROGRAM_VERSION = f"happy-follower {__version__}"
ECHO_NOTE = (
    "the service repeats the refused credential in its message (shown here as ***); the "
    "client removes its own key and tokens from the messages it shows"
)


def attach_hint() -> str:
    """What to do with the report, with the command as it runs here."""
    from . import program_hint  # noqa: PLC0415 - the package imports this module lazily

    return (
        f"Attach this report to a bug report (or the output of `{program_hint('probe', '--json')}`"
        "): it holds no API key and no token."
    )


_ENVIRONMENT_NOTES = {
    "sandbox": "Sandbox: the orders the probe places there cost nothing.",
    "live": "LIVE API: only reads and refusals were provoked; no order was sent, nothing spent.",
}
_VERDICT_LABELS = {
    Verdict.AS_ASSUMED: "ok",
    Verdict.DIFFERS: "DIFFERS",
    Verdict.NOT_RUN: "not run",
}


def _check_lines(check: Check) -> list[str]:
    lines = [f"{_VERDICT_LABELS[check.verdict]:<8} {check.name}: {check.request}"]
    if check.observed:
        lines.append(f"         observed: {check.observed}")
    if check.verdict is Verdict.DIFFERS:
        lines.append(f"         assumed:  {check.assumed}")
    if check.client_copes is False:
        lines.append("         THE CLIENT DOES NOT COPE")
    elif check.client_copes and check.verdict is Verdict.DIFFERS:
        lines.append("         the client copes")
    if check.note:
        lines.append(f"         note: {check.note}")
    return lines


def public_url(url: str) -> str:
    """A URL without any user name or password in it."""
    parsed = URL(url)
    return str(parsed.with_user(None)) if parsed.user or parsed.password else url


# --- what protocol.py assumes, applied to an answer --------------------------------------


def error_message(answer: Answer) -> str | None:
    """The service's message, read where the client reads it (protocol.ERROR_MESSAGE_KEYS)."""
    if not answer.is_object:
        return None
    for key in p.ERROR_MESSAGE_KEYS:
        value = answer.payload.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def is_assumed_error(answer: Answer) -> bool:
    """``{"operation": "error", "message": ...}``, as protocol.py assumes errors look (the
    client reads the other message keys too, but they are not what it assumes)."""
    message = answer.payload.get(p.ERROR_MESSAGE_KEYS[0]) if answer.is_object else None
    return answer.operation == p.OPERATION_ERROR and isinstance(message, str) and bool(message)


def echoes(answer: Answer, credential: str | None) -> bool:
    """Whether the answer repeats a credential that was sent."""
    if not credential:
        return False
    return credential in answer.text or credential in json.dumps(answer.payload)


def client_sees_token_refused(answer: Answer) -> bool:
    """Whether the client takes this answer as "the token was refused" (and renews it): HTTP
    401, 403 with a JSON body, or an error whose message speaks of the token."""
    if answer.http_status is None:
        return False
    if p.is_token_refused(answer.http_status, answer.is_object):
        return True
    failed = answer.is_object and answer.operation not in (p.OPERATION_SUCCESS, None)
    return failed and p.speaks_of_token(error_message(answer) or "")


# --- the probe ------------------------------------------------------------------------------


class _Probe:
    """Sends the provocations and writes down what they showed."""

    def __init__(self, client: HappyFollowerClient, api_key: str) -> None:
        self.client = client  # its transport sends the provocations, as it sends all else
        self.api_key = api_key
        self.base = client.base_url
        self.secrets: set[str] = {api_key}
        self.report = Report("sandbox" if client.sandbox else "live", public_url(self.base))
        self.token: str | None = None
        self.refresh_token: str | None = None
        self.placed: int | None = None
        self.unit_price: float | None = None
        self.service_id: int | None = None
        self.invalid_message = ""  # how the service refuses an order without parameters
        self.json_only = False  # the service reads JSON bodies but not forms

    # --- sending and describing ---------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if token is not None:
            sent[p.HEADER_AUTHORIZATION] = f"Bearer {token}"
        try:
            raw = await self.client.exchange_raw(
                method, path, headers=sent, data=form, json_body=json_body
            )
        except HappyFollowerConnectionError as err:
            return Answer(None, problem=str(err))
        answer = Answer(raw.status, raw.content_type, payload=p.parse_body(raw.body))
        if answer.payload is None:
            answer.text = raw.body.decode("utf-8", "replace")
        self._learn_secrets(answer)
        return answer

    def _learn_secrets(self, answer: Answer) -> None:
        if answer.is_object:
            for key in ("token", "refreshToken"):
                value = answer.payload.get(key)
                if isinstance(value, str) and value:
                    self.secrets.add(value)

    def made_up(self, prefix: str) -> str:
        """A credential no account has; kept out of the report like a real one."""
        credential = f"{prefix}-{secrets.token_hex(12)}"
        self.secrets.add(credential)
        return credential

    def safe(self, text: str, max_length: int = 120) -> str:
        """Vendor text as the report may hold it: no credential, no hidden characters."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return display_text(text, max_length)

    def describe(self, answer: Answer) -> str:
        """What came back, as its shape: no values but messages, operation and status words."""
        if answer.http_status is None:
            return f"no answer ({answer.problem})"
        head = f"HTTP {answer.http_status}"
        if answer.is_object:
            return f"{head}, JSON {{{self._fields(answer.payload)}}}"
        if answer.payload is not None:
            return f"{head}, JSON {type(answer.payload).__name__}"
        kind = "HTML page" if "html" in answer.content_type else "text"
        return (
            f'{head}, {kind} ({answer.content_type or "no type"}): "{self.safe(answer.text, 80)}"'
        )

    def _fields(self, mapping: dict[Any, Any]) -> str:
        return ", ".join(
            f"{self.safe(str(key), 30)}: {self._value(str(key), value)}"
            for key, value in mapping.items()
        )

    def _value(self, key: str, value: object) -> str:
        if key in ("operation", "status", "statusTitle", *p.ERROR_MESSAGE_KEYS) and isinstance(
            value, str
        ):
            return f'"{self.safe(value, 80)}"'
        if isinstance(value, str):
            return "number as text" if _numeric(value) else "text"
        if isinstance(value, list):
            return f"list of {len(value)}"
        if isinstance(value, dict):
            return "object"
        return _KINDS.get(type(value), "null" if value is None else type(value).__name__)

    def add(self, check: Check) -> None:
        self.report.checks.append(check)

    # --- the checks -----------------------------------------------------------------------

    async def auth(self) -> bool:
        """``GET /auth`` with the key; without a token nothing else can run."""
        answer = await self.send("GET", p.PATH_AUTH, token=self.api_key)
        token = answer.payload.get("token") if answer.is_object else None
        refresh = answer.payload.get("refreshToken") if answer.is_object else None
        ok = answer.succeeded and isinstance(token, str) and isinstance(refresh, str)
        self.add(
            Check(
                "auth",
                "GET /auth with the API key",
                self.describe(answer),
                'HTTP 200, JSON {operation: "success", refreshToken: text, token: text}',
                Verdict.AS_ASSUMED if ok else Verdict.DIFFERS,
                client_copes=isinstance(token, str) and bool(token),
            )
        )
        if isinstance(token, str) and token:
            self.token = token
            self.refresh_token = refresh if isinstance(refresh, str) and refresh else None
            return True
        self.report.blocked = _blocking_error(answer)
        return False

    async def wrong_key(self) -> None:
        wrong = self.made_up("probe-wrong-key")
        answer = await self.send("GET", p.PATH_AUTH, token=wrong)
        copes = await self._client_says(
            HappyFollowerClient(wrong, sandbox=self.client.sandbox, base_url=self.base),
            HappyFollowerAuthenticationError,
        )
        self.add(
            self._refusal_check(
                "wrong-api-key",
                "GET /auth with a made-up API key",
                answer,
                p.HTTP_STATUS_UNAUTHORIZED,
                copes=copes,
                sent=wrong,
            )
        )

    async def reads(self) -> None:
        assert self.token is not None
        services = await self.send("GET", p.PATH_SERVICES, token=self.token)
        rows = services.payload.get("services") if services.is_object else None
        first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        if isinstance(first.get("serviceId"), int | str) and str(first["serviceId"]).isdigit():
            self.service_id = int(first["serviceId"])
        item = f"; first item {{{self._fields(first)}}}"
        self.add(
            self._success_check(
                "services",
                "GET /services",
                services,
                "services: list of {serviceId, name}",
                ok=isinstance(rows, list) and {"serviceId", "name"} <= set(first),
                copes=await self._client_works(self.client.get_services),
                extra=item if first else "",
            )
        )
        credit = await self.send("GET", p.PATH_CREDIT, token=self.token)
        value = credit.payload.get("credit") if credit.is_object else None
        self.add(
            self._success_check(
                "credit",
                "GET /credit/",
                credit,
                "credit: a number (or a number as text)",
                ok=isinstance(value, int | float) or (isinstance(value, str) and _numeric(value)),
                copes=await self._client_works(self.client.get_credit),
            )
        )

    async def wrong_token(self) -> None:
        wrong = self.made_up("probe-token")
        answer = await self.send("GET", p.PATH_CREDIT, token=wrong)
        self.add(
            self._token_check("wrong-token", "GET /credit/ with a made-up token", answer, wrong)
        )

    async def refresh(self) -> None:
        """``GET /ref-auth``, then the token it replaced, then a made-up refresh token."""
        if self.refresh_token is None or self.token is None:
            self.add(_not_run("refresh", "GET /ref-auth", "/auth gave no refresh token"))
            return
        old = self.token
        headers = {
            p.HEADER_REFRESH_TOKEN: f"Bearer {self.refresh_token}",
            p.HEADER_OLD_TOKEN: f"Bearer {old}",
        }
        answer = await self.send("GET", p.PATH_REFRESH, headers=headers)
        token = answer.payload.get("token") if answer.is_object else None
        ok = answer.succeeded and isinstance(token, str) and bool(token)
        new_refresh = answer.is_object and "refreshToken" in answer.payload
        self.add(
            Check(
                "refresh",
                "GET /ref-auth with the refresh token and the current token",
                self.describe(answer),
                'HTTP 200, JSON {operation: "success", token: text}',
                Verdict.AS_ASSUMED if ok else Verdict.DIFFERS,
                client_copes=ok or None,
                note="a new refresh token came too" if new_refresh else "",
            )
        )
        if not ok:
            return
        assert isinstance(token, str)
        self.token = token
        replaced = await self.send("GET", p.PATH_CREDIT, token=old)
        if replaced.succeeded:
            self.add(
                Check(
                    "replaced-token",
                    "GET /credit/ with the token /ref-auth replaced",
                    self.describe(replaced),
                    "refused, as a made-up token is",
                    Verdict.DIFFERS,
                    client_copes=True,
                    note="a replaced token keeps working",
                )
            )
        else:
            self.add(
                self._token_check(
                    "replaced-token",
                    "GET /credit/ with the token /ref-auth replaced",
                    replaced,
                    old,
                )
            )
        await self.wrong_refresh()

    async def wrong_refresh(self) -> None:
        assert self.token is not None
        wrong = self.made_up("probe-refresh")
        headers = {
            p.HEADER_REFRESH_TOKEN: f"Bearer {wrong}",
            p.HEADER_OLD_TOKEN: f"Bearer {self.token}",
        }
        answer = await self.send("GET", p.PATH_REFRESH, headers=headers)
        self.add(
            self._refusal_check(
                "wrong-refresh-token",
                "GET /ref-auth with a made-up refresh token",
                answer,
                p.HTTP_STATUS_UNAUTHORIZED,
                copes=not answer.succeeded,
                note="the client authenticates again with the API key after any refusal here",
                sent=wrong,
            )
        )

    async def unknown_order(self) -> None:
        assert self.token is not None
        path = p.PATH_STATUS.format(order_id=UNKNOWN_ORDER_ID)
        answer = await self.send("GET", path, token=self.token)
        copes = await self._client_says(
            self.client, HappyFollowerApiError, lambda c: c.get_order_status(UNKNOWN_ORDER_ID)
        )
        self.add(
            self._refusal_check(
                "unknown-order", f"GET {path}", answer, p.HTTP_STATUS_NOT_FOUND, copes=copes
            )
        )

    # --- sandbox only: orders ---------------------------------------------------------------

    def _order_body(self, count: int = PROBE_COUNT) -> dict[str, str]:
        assert self.service_id is not None
        return {"serviceId": str(self.service_id), "link": PROBE_LINK, "count": str(count)}

    async def sandbox_orders(self) -> None:
        """Bad parameters, then one order per body encoding, its status, and one beyond the
        credit. Only ever called on the sandbox."""
        assert self.client.sandbox
        assert self.token is not None
        empty = await self.send("POST", p.PATH_ORDER, token=self.token)
        self.invalid_message = error_message(empty) or empty.text
        self.add(
            self._refusal_check(
                "order-without-parameters",
                "POST /order with no body",
                empty,
                p.HTTP_STATUS_REFUSED,
                copes=None,
            )
        )
        if self.service_id is None:
            self.add(_not_run("order-bodies", "POST /order", "no service id to order from"))
            return
        await self._order_encodings()
        await self._placed_status()
        await self._not_enough_credit()
        await self._no_sandbox_actions()

    async def _order_encodings(self) -> None:
        assert self.token is not None
        form = await self.send("POST", p.PATH_ORDER, token=self.token, form=self._order_body())
        as_json = await self.send(
            "POST", p.PATH_ORDER, token=self.token, json_body=self._order_body()
        )
        for answer in (form, as_json):
            order_id = answer.payload.get("orderId") if answer.succeeded else None
            if self.placed is None and str(order_id).isdigit():
                self.placed = int(str(order_id))
        form_ok = form.succeeded and form.payload.get("orderId") is not None
        json_ok = as_json.succeeded and as_json.payload.get("orderId") is not None
        request = f"POST /order, service {self.service_id}, {PROBE_COUNT} to {PROBE_LINK}"
        self.add(
            Check(
                "order-form-body",
                f"{request}, as a form (the client's encoding)",
                self.describe(form),
                'HTTP 200, JSON {operation: "success", orderId: ...}',
                Verdict.AS_ASSUMED if form_ok else Verdict.DIFFERS,
                client_copes=form_ok,
            )
        )
        self.add(
            Check(
                "order-json-body",
                f"{request}, as JSON",
                self.describe(as_json),
                "accepted too (only the simulator relies on it)",
                Verdict.AS_ASSUMED if json_ok else Verdict.DIFFERS,
                client_copes=True,
                note="" if json_ok else "JSON bodies are not read: form is right",
            )
        )
        if not form_ok and json_ok:
            self.json_only = True
            self.report.checks[-2] = _with_note(
                self.report.checks[-2],
                "the service reads JSON bodies only: the client's form bodies are not read",
            )

    async def _placed_status(self) -> None:
        assert self.token is not None
        if self.placed is None:
            self.add(_not_run("order-status", "GET /status/{id}/", "no order was placed"))
            return
        path = p.PATH_STATUS.format(order_id=self.placed)
        answer = await self.send("GET", path, token=self.token)
        status = answer.payload.get("status") if answer.is_object else None
        known = isinstance(status, str) and status in KNOWN_STATUSES
        try:
            parsed: OrderStatus | None = await self.client.get_order_status(self.placed)
        except HappyFollowerError:
            parsed = None
        cost = parsed.cost if parsed is not None else None
        if cost is not None and cost > 0:
            self.unit_price = float(cost) / PROBE_COUNT
        self.add(
            Check(
                "order-status",
                f"GET {path} of the order just placed",
                self.describe(answer),
                f"status one of {', '.join(sorted(p.STATUS_TITLES))} (or a final one: "
                f"{', '.join(sorted(p.FINAL_STATUSES))})",
                Verdict.AS_ASSUMED if answer.succeeded and known else Verdict.DIFFERS,
                client_copes=parsed is not None,
                note=""
                if known
                else "the client keeps an unknown status but cannot tell whether "
                "it is final: tracking goes on until a known final word comes",
            )
        )

    async def _not_enough_credit(self) -> None:
        assert self.token is not None
        try:
            credit = float(await self.client.get_credit())
        except HappyFollowerError:
            credit = math.nan
        if self.unit_price is None or not math.isfinite(credit):
            reason = "the price per unit or the credit could not be learned"
            self.add(_not_run("not-enough-credit", "POST /order beyond the credit", reason))
            return
        count = math.floor(credit / self.unit_price) + 1
        body = self._order_body(count)
        answer = await self.send(
            "POST",
            p.PATH_ORDER,
            token=self.token,
            form=None if self.json_only else body,
            json_body=body if self.json_only else None,
        )
        message = error_message(answer) or answer.text
        recognised = p.is_not_enough_credit(message) and not answer.succeeded
        price = amount_text(self.unit_price)
        request = f"POST /order of {count} (credit {amount_text(credit)} at {price} a unit)"
        if not recognised and message and message == self.invalid_message:
            reason = (
                f"the count needed ({count}) was refused as bad parameters first, likely above "
                "the service's maximum; an account with less sandbox credit can provoke it"
            )
            self.add(_not_run("not-enough-credit", request, reason))
            return
        assert self.service_id is not None
        service_id = self.service_id
        copes = await self._client_says(
            self.client,
            HappyFollowerNotEnoughCreditError,
            lambda c: c.place_order(service_id=service_id, link=PROBE_LINK, count=count),
        )
        self.add(
            Check(
                "not-enough-credit",
                request,
                self.describe(answer),
                f"refused with a message holding one of {', '.join(p.NOT_ENOUGH_CREDIT_MARKERS)}",
                Verdict.AS_ASSUMED if recognised and is_assumed_error(answer) else Verdict.DIFFERS,
                client_copes=copes,
                note="" if copes else "the client does not report it as 'not enough credit'",
            )
        )

    async def _no_sandbox_actions(self) -> None:
        """Cancel and recheck, which the documentation says the sandbox does not have."""
        assert self.token is not None
        body = {"orderId": str(self.placed or IMPOSSIBLE_ORDER_ID)}
        for verb, path in (("cancel", p.PATH_CANCEL), ("recheck", p.PATH_RECHECK)):
            answer = await self.send("POST", path, token=self.token, form=body)
            self.add(
                Check(
                    f"sandbox-{verb}",
                    f"POST {path} on the sandbox (documented as absent there)",
                    self.describe(answer),
                    "refused: no sandbox version",
                    Verdict.DIFFERS if answer.succeeded else Verdict.AS_ASSUMED,
                    client_copes=True,
                    note="the client never sends cancel or recheck to the sandbox",
                )
            )

    # --- live only: bodies, without an order -------------------------------------------------

    async def live_bodies(self) -> None:
        """Whether form and JSON bodies are read, from cancels of order 0 (which cannot exist):
        a body that is read changes the answer from "no parameters" to "no such order"."""
        assert not self.client.sandbox
        assert self.token is not None
        body = {"orderId": str(IMPOSSIBLE_ORDER_ID)}
        empty = await self.send("POST", p.PATH_CANCEL, token=self.token)
        form = await self.send("POST", p.PATH_CANCEL, token=self.token, form=body)
        as_json = await self.send("POST", p.PATH_CANCEL, token=self.token, json_body=body)
        baseline = self.describe(empty)
        for name, answer, assumed in (("form", form, True), ("JSON", as_json, None)):
            observed = self.describe(answer)
            read = observed != baseline
            verdict = Verdict.AS_ASSUMED if read or assumed is None else Verdict.DIFFERS
            self.add(
                Check(
                    f"cancel-{name.lower()}-body",
                    f"POST /cancel of order 0 as {name} (no body: {baseline})",
                    observed,
                    "form bodies are read",
                    verdict,
                    client_copes=read if assumed else None,
                    note=("the body was read" if read else "answered as if there were no body"),
                )
            )

    # --- building checks ------------------------------------------------------------------

    def _success_check(
        self,
        name: str,
        request: str,
        answer: Answer,
        assumed: str,
        *,
        ok: bool,
        copes: bool,
        extra: str = "",
    ) -> Check:
        return Check(
            name,
            request,
            self.describe(answer) + extra,
            f'HTTP 200, JSON {{operation: "success", {assumed}}}',
            Verdict.AS_ASSUMED if answer.succeeded and ok else Verdict.DIFFERS,
            client_copes=copes,
        )

    def _refusal_check(
        self,
        name: str,
        request: str,
        answer: Answer,
        status: int,
        *,
        copes: bool | None,
        note: str = "",
        sent: str | None = None,
    ) -> Check:
        shape_ok = is_assumed_error(answer)
        status_ok = answer.http_status == status
        if shape_ok and not status_ok and not note:
            note = f"HTTP {answer.http_status} instead of {status}: only the simulator assumes it"
        echoed = echoes(answer, sent)
        return Check(
            name,
            request,
            self.describe(answer),
            f'HTTP {status}, JSON {{operation: "error", message: text}}',
            Verdict.AS_ASSUMED if shape_ok and status_ok and not echoed else Verdict.DIFFERS,
            client_copes=copes,
            note=ECHO_NOTE if echoed else note,
        )

    def _token_check(self, name: str, request: str, answer: Answer, sent: str) -> Check:
        refused = client_sees_token_refused(answer)
        echoed = echoes(answer, sent)
        ok = (
            answer.http_status == p.HTTP_STATUS_UNAUTHORIZED
            and is_assumed_error(answer)
            and not echoed
        )
        note = (
            ""
            if refused
            else ("the client does not see a refused token here: it would not renew the token")
        )
        if refused and answer.http_status != p.HTTP_STATUS_UNAUTHORIZED:
            note = "the client recognises it, by " + (
                "the 403 with JSON"
                if answer.http_status == 403
                else "the word token in the message"
            )
        return Check(
            name,
            request,
            self.describe(answer),
            'HTTP 401 (403 with JSON is read the same), JSON {operation: "error", message: text}',
            Verdict.AS_ASSUMED if ok else Verdict.DIFFERS,
            client_copes=refused,
            note=ECHO_NOTE if echoed else note,
        )

    async def _client_works(self, call: Callable[[], Awaitable[object]]) -> bool:
        try:
            await call()
        except HappyFollowerError:
            return False
        return True

    async def _client_says(
        self,
        client: HappyFollowerClient,
        expected: type[HappyFollowerError],
        call: Callable[[HappyFollowerClient], Awaitable[object]] | None = None,
    ) -> bool:
        """Whether the client raises ``expected`` (the right meaning) for this situation."""
        try:
            await (call(client) if call is not None else client.get_credit())
        except expected:
            return True
        except HappyFollowerError:
            return False
        finally:
            if client is not self.client:
                await client.close()
        return False


def _numeric(text: str) -> bool:
    try:
        float(text.strip().replace(",", ""))
    except ValueError:
        return False
    return True


def _not_run(name: str, request: str, reason: str) -> Check:
    return Check(name, request, "", "", Verdict.NOT_RUN, note=reason)


def _with_note(check: Check, note: str) -> Check:
    return Check(
        check.name,
        check.request,
        check.observed,
        check.assumed,
        check.verdict,
        check.client_copes,
        note,
    )


def _blocking_error(answer: Answer) -> HappyFollowerError:
    if answer.http_status is None:
        return HappyFollowerConnectionError(
            f"Happy Follower did not answer ({answer.problem}): check the address and the "
            "internet connection"
        )
    if answer.http_status in p.TOKEN_REFUSED_STATUSES or is_assumed_error(answer):
        return HappyFollowerAuthenticationError(
            "the API key was refused by /auth: copy it again from your account on "
            "happy-follower.com (the report shows how it was refused)"
        )
    return HappyFollowerResponseError(
        "/auth gave no token: the report shows what it answered; please attach it to a bug report"
    )


async def run_probe(client: HappyFollowerClient, api_key: str, *, sandbox: bool) -> Report:
    """Run every check the environment allows; the report says what each showed."""
    assert client.sandbox is sandbox
    probe = _Probe(client, api_key)
    if not await probe.auth():
        return probe.report
    await probe.wrong_key()
    await probe.reads()
    await probe.wrong_token()
    await probe.refresh()
    await probe.unknown_order()
    if sandbox and "sandbox" in URL(client.base_url).path:
        await probe.sandbox_orders()
    elif sandbox:
        # A live root given with --sandbox would spend: orders only where the path says so.
        reason = "the API root's path does not say sandbox, so no order was sent"
        probe.add(_not_run("sandbox-orders", "POST /order", reason))
    else:
        await probe.live_bodies()
    return probe.report
