"""The wire protocol of the Happy Follower API v1, in one place.

Everything marked ASSUMPTION is something the vendor's documentation
(``../shared/seed/happy-follower-api-v1.fa.txt``) leaves unsaid. The client is
tolerant of each of them, and the embedded simulator behaves exactly as written
here, so a change to an assumption is a change to this file only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

from yarl import URL

from .errors import HappyFollowerInputError
from .validation import has_hidden_characters

Environment = Literal["live", "sandbox"]

LIVE_API_ROOT: Final = "https://www.happy-follower.com/api/v1"
SANDBOX_API_ROOT: Final = "https://www.happy-follower.com/api/sandbox/v1"

# The vendor's domain: its API roots are on it, with or without ``www.``. Any other
# name under it is the vendor's too, so it is never taken for a mirror.
VENDOR_DOMAIN: Final = "happy-follower.com"
_VENDOR_ROOT_PATHS: Final[dict[str, Environment]] = {
    "/api/v1": "live",
    "/api/sandbox/v1": "sandbox",
}
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Direction marks that a root copied from Persian text may carry; never part of a URL.
_BIDI_MARKS: Final = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
_WHAT_TO_WRITE: Final = (
    f"write {LIVE_API_ROOT} for the live API or {SANDBOX_API_ROOT} for the sandbox, "
    "or leave it unset"
)


class ApiRootRefusal(StrEnum):
    """Why an API root is refused (a front-end may say it in its own words)."""

    INVALID = "invalid"  # not an http(s) address with a host (or a port out of range)
    CREDENTIALS = "credentials"  # a user name or password in it
    QUERY = "query"  # a query or fragment in it
    INSECURE = "insecure"  # http:// on the vendor's host
    NOT_A_VENDOR_ROOT = "not_a_vendor_root"  # on the vendor's host, but neither root
    LIVE_ROOT_IN_SANDBOX = "live_root_in_sandbox"  # the live root, the sandbox chosen
    SANDBOX_ROOT_IN_LIVE = "sandbox_root_in_live"  # the sandbox root, live chosen


class ApiRootError(HappyFollowerInputError):
    """An API root that cannot be used, refused before anything was sent.

    ``reason`` says why; ``detail`` says it as a predicate ("must ...", "is ..."), so
    that a front-end can name the setting itself. The message never repeats the root
    (it may hold a password); a front-end may show it when ``reason`` allows.
    """

    def __init__(self, reason: ApiRootRefusal, detail: str, *, subject: str) -> None:
        super().__init__(f"{subject} {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ApiRoot:
    """An API root in canonical form, and the vendor's environment it is, if it is one.

    ``environment`` is None for another host (a mirror, a proxy, the simulator): the
    environment is then the one the caller chose.
    """

    url: str
    environment: Environment | None


def _typed_root(root: str, subject: str) -> str:
    """The root as typed, without the direction marks copied from Persian text around it;
    any other hidden character is refused (percent-encoded, it would look like another)."""
    text = root.translate(_BIDI_MARKS).strip()
    if has_hidden_characters(text):
        raise ApiRootError(
            ApiRootRefusal.INVALID,
            "must not contain a hidden character (a control or zero-width character, "
            "perhaps copied with it): type it again",
            subject=subject,
        )
    return text


def classify_api_root(root: str, *, subject: str = "the API root") -> ApiRoot:
    """Canonicalise an API root and say whose root it is, or raise ApiRootError.

    Canonical form: scheme and host in lower case, the host's trailing dot and the
    scheme's default port dropped, repeated and trailing slashes collapsed, an empty
    query or fragment dropped. On the vendor's host (``www.`` optional) only its two
    documented roots, over https, are accepted, and their canonical form is the one
    documented; any other root there cannot be classified and is refused. A root with
    a non-empty query or fragment, a user name or password, or a scheme other than
    http(s) is refused on any host.
    """
    text = _typed_root(root, subject)
    try:
        url = URL(text)
        port = url.explicit_port
    except (ValueError, TypeError):
        url, port = None, None
    # A percent-encoded host name is refused: no resolver decodes it, and it could hide
    # the vendor's name from the check below.
    host = url.raw_host.rstrip(".") if url is not None and url.raw_host else ""
    if url is None or url.scheme not in _DEFAULT_PORTS or not host or "%" in host:
        raise ApiRootError(
            ApiRootRefusal.INVALID,
            "must be an http(s) address, e.g. http://127.0.0.1:8080/api/v1",
            subject=subject,
        )
    if url.user is not None or url.password is not None:
        raise ApiRootError(
            ApiRootRefusal.CREDENTIALS,
            "must not contain a user name or password: the API key is the only "
            "credential, and it is sent as a header",
            subject=subject,
        )
    if url.raw_query_string or url.raw_fragment:
        raise ApiRootError(
            ApiRootRefusal.QUERY,
            "must not have a query (?...) or a fragment (#...)",
            subject=subject,
        )
    if port == _DEFAULT_PORTS[url.scheme]:
        port = None
    path = re.sub("/{2,}", "/", url.raw_path).rstrip("/")
    if host == VENDOR_DOMAIN or host.endswith(f".{VENDOR_DOMAIN}"):
        if url.scheme != "https":
            raise ApiRootError(
                ApiRootRefusal.INSECURE,
                "must be https:// on Happy Follower's host, or the API key would travel "
                f"in clear: {_WHAT_TO_WRITE}",
                subject=subject,
            )
        environment = _VENDOR_ROOT_PATHS.get(path)
        if environment is None or port is not None or host.removeprefix("www.") != VENDOR_DOMAIN:
            raise ApiRootError(
                ApiRootRefusal.NOT_A_VENDOR_ROOT,
                f"is on Happy Follower's host but is neither of its API roots: {_WHAT_TO_WRITE}",
                subject=subject,
            )
        return ApiRoot(LIVE_API_ROOT if environment == "live" else SANDBOX_API_ROOT, environment)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return ApiRoot(f"{url.scheme}://{netloc}{path}", None)


def api_root_for(root: str | None, *, sandbox: bool, subject: str = "the API root") -> str:
    """The canonical API root to use for ``root`` in the chosen environment.

    Unset (None or blank): the chosen environment's documented root. Another host
    stands for the chosen environment. The vendor's root of the other environment is
    refused (ApiRootError), as is anything ``classify_api_root`` refuses: whether orders
    are live or sandbox is decided here, once, from the canonical root.
    """
    if root is None or not root.translate(_BIDI_MARKS).strip():
        return SANDBOX_API_ROOT if sandbox else LIVE_API_ROOT
    api_root = classify_api_root(root, subject=subject)
    if sandbox and api_root.environment == "live":
        raise ApiRootError(
            ApiRootRefusal.LIVE_ROOT_IN_SANDBOX,
            "is Happy Follower's live API root, but the sandbox is chosen: leave it unset "
            f"(or write {SANDBOX_API_ROOT}) for the sandbox, or choose live",
            subject=subject,
        )
    if not sandbox and api_root.environment == "sandbox":
        raise ApiRootError(
            ApiRootRefusal.SANDBOX_ROOT_IN_LIVE,
            "is Happy Follower's sandbox API root, but live is chosen: choose the sandbox, "
            f"or leave it unset (or write {LIVE_API_ROOT}) for the live API",
            subject=subject,
        )
    return api_root.url


# Paths exactly as documented, trailing slashes included.
PATH_AUTH: Final = "/auth"
PATH_REFRESH: Final = "/ref-auth"
PATH_SERVICES: Final = "/services"
PATH_ORDER: Final = "/order"
PATH_STATUS: Final = "/status/{order_id}/"
PATH_CANCEL: Final = "/cancel"
PATH_RECHECK: Final = "/recheck"
PATH_CREDIT: Final = "/credit/"

HEADER_AUTHORIZATION: Final = "Authorization"
HEADER_REFRESH_TOKEN: Final = "refresh-token"
HEADER_OLD_TOKEN: Final = "old-token"

OPERATION_SUCCESS: Final = "success"

# ASSUMPTION: an error answer is JSON ``{"operation": "error", "message": "..."}``;
# the message may be Persian. The client also reads the message under ``msg`` or
# ``error`` and accepts any HTTP status with it (200, 4xx, 5xx).
OPERATION_ERROR: Final = "error"
ERROR_MESSAGE_KEYS: Final = ("message", "msg", "error")
# ASSUMPTION (simulator): refused requests (bad input, not enough credit, an order
# that cannot be cancelled) answer HTTP 400; an unknown order or service 404; a bad
# API key or token 401. The client does not rely on these codes beyond 401/403/429/5xx.
HTTP_STATUS_REFUSED: Final = 400
HTTP_STATUS_NOT_FOUND: Final = 404
HTTP_STATUS_UNAUTHORIZED: Final = 401


# ASSUMPTION: answers are JSON in UTF-8, possibly after a byte-order mark (PHP files saved
# with one print it first).
def parse_body(body: bytes) -> Any:
    """An answer's JSON value, or None when the body is not JSON."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


# ASSUMPTION: POST bodies are form-encoded (``application/x-www-form-urlencoded``),
# as PHP panels read them. The simulator accepts JSON bodies as well.

# ASSUMPTION: a refused or expired token is answered with HTTP 401 (403 with a JSON
# body is treated the same; a 403 HTML page from a proxy is not about our token).
# On ``/auth`` that status means the API key itself is refused.
TOKEN_REFUSED_STATUSES: Final = frozenset({401, 403})
# ASSUMPTION: an error answer whose message speaks of the token means the same.
TOKEN_WORDS: Final = ("token", "توکن")


def is_token_refused(status: int, is_json_object: bool) -> bool:
    """Whether an answer's status says the token (or, on ``/auth``, the key) was refused."""
    return status == HTTP_STATUS_UNAUTHORIZED or (
        status in TOKEN_REFUSED_STATUSES and is_json_object
    )


def speaks_of_token(message: str) -> bool:
    """Whether an error message is about the token (so the token is renewed, not reported)."""
    lowered = message.lower()
    return any(word in lowered for word in TOKEN_WORDS)


# ASSUMPTION: a refusal of an order's parameters (its count outside the service's limits,
# a link of the wrong kind) names them; the document gives no wording.
INVALID_PARAMETER_WORDS: Final = ("پارامتر", "param", "invalid", "نامعتبر")


def speaks_of_parameters(message: str) -> bool:
    """Whether an error message says the order's parameters were refused."""
    lowered = message.lower()
    return any(word in lowered for word in INVALID_PARAMETER_WORDS)


def is_not_enough_credit(message: str) -> bool:
    """Whether a refused order's message says the credit does not cover it."""
    lowered = message.lower()
    return any(marker in lowered for marker in NOT_ENOUGH_CREDIT_MARKERS)


# ASSUMPTION: rate limiting is HTTP 429, with ``Retry-After`` in seconds when known.
RATE_LIMITED_STATUS: Final = 429

# Order statuses. Only ``registered`` ("در انتظار") is documented; the others are
# ASSUMPTIONS, and an unknown status is always kept, never rejected.
STATUS_REGISTERED: Final = "registered"
STATUS_IN_PROGRESS: Final = "in_progress"
STATUS_COMPLETED: Final = "completed"
STATUS_PARTIAL: Final = "partial"
STATUS_CANCELED: Final = "canceled"

STATUS_TITLES: Final = {
    STATUS_REGISTERED: "در انتظار",  # documented
    STATUS_IN_PROGRESS: "در حال انجام",
    STATUS_COMPLETED: "تکمیل شده",
    STATUS_PARTIAL: "تکمیل ناقص",
    STATUS_CANCELED: "لغو شده",
}

# Statuses after which an order never changes again. Spelling variants other panels
# use are included so that a real answer we have not seen still ends tracking.
FINAL_STATUSES: Final = frozenset(
    {
        STATUS_COMPLETED,
        STATUS_PARTIAL,
        STATUS_CANCELED,
        "cancelled",
        "refunded",
        "failed",
        "rejected",
    }
)

# ASSUMPTION: the messages the simulator uses for the errors users meet most.
# The client recognises "not enough credit" by these words (Persian or English).
MESSAGE_NOT_ENOUGH_CREDIT: Final = "اعتبار حساب شما کافی نیست"
NOT_ENOUGH_CREDIT_MARKERS: Final = ("اعتبار", "موجودی", "credit", "balance")
MESSAGE_INVALID_API_KEY: Final = "کلید API نامعتبر است"
MESSAGE_TOKEN_EXPIRED: Final = "توکن منقضی شده است"
MESSAGE_ORDER_NOT_FOUND: Final = "سفارش یافت نشد"
MESSAGE_SERVICE_NOT_FOUND: Final = "سرویس یافت نشد"
MESSAGE_NOT_CANCELLABLE: Final = "این سفارش قابل لغو نیست"
MESSAGE_INVALID_INPUT: Final = "پارامترهای ارسالی نامعتبر است"

# ASSUMPTION (simulator): the messages of the remaining refusals. The sandbox one
# is the vendor's own wording for "this service has no sandbox version".
MESSAGE_NO_SANDBOX: Final = "این سرویس نسخه سندباکس ندارد"
MESSAGE_REFRESH_REFUSED: Final = "توکن بروزرسانی نامعتبر است"
MESSAGE_NOT_RECHECKABLE: Final = "سفارش لغو شده قابل بررسی مجدد نیست"
MESSAGE_PATH_NOT_FOUND: Final = "آدرس درخواستی یافت نشد"
MESSAGE_METHOD_NOT_ALLOWED: Final = "روش درخواست مجاز نیست"
MESSAGE_RATE_LIMITED: Final = "تعداد درخواست‌ها بیش از حد مجاز است"
MESSAGE_GENERIC_ERROR: Final = "خطایی رخ داد، لطفا دوباره تلاش کنید"
