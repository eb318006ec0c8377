"""The wire protocol of the Happy Follower API v1, in one place.

Everything marked ASSUMPTION is something the vendor's documentation
(``../shared/seed/happy-follower-api-v1.fa.txt``) leaves unsaid. The client is
tolerant of each of them, and the embedded simulator behaves exactly as written
here, so a change to an assumption is a change to this file only.
"""

from __future__ import annotations

from typing import Final

LIVE_API_ROOT: Final = "https://www.happy-follower.com/api/v1"
SANDBOX_API_ROOT: Final = "https://www.happy-follower.com/api/sandbox/v1"

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
