"""One exception hierarchy for everything the Happy Follower client can raise.

Every message says what happened and what to do. No message ever contains the
API key or a token: the client builds them from fixed text and the service's own
error message only.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class HappyFollowerError(Exception):
    """Base of every error raised by this package.

    ``nothing_sent`` is True when it is known that no order left this process (refused
    before sending): a front-end says so from this fact, never from the message's words.
    Each kind sets its default; an instance says otherwise where it knows better.
    """

    nothing_sent: bool = False

    def __init__(self, *args: object, nothing_sent: bool | None = None) -> None:
        super().__init__(*args)
        if nothing_sent is not None:
            self.nothing_sent = nothing_sent


class HappyFollowerInputError(HappyFollowerError, ValueError):
    """Bad input, refused before anything was sent.

    ``field`` names the order's input at fault (``service_id``, ``link``, ``count``,
    ``order_id``) when there is one, so that a front-end can say it in its own words.
    """

    nothing_sent = True

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class HappyFollowerUnknownServiceError(HappyFollowerInputError):
    """The service id is well formed but names no active service."""


class HappyFollowerAuthenticationError(HappyFollowerError):
    """The API key was refused: the user must enter a working key."""


class HappyFollowerConnectionError(HappyFollowerError):
    """The service could not be reached, or did not answer in time."""


class HappyFollowerRateLimitError(HappyFollowerError):
    """The service asked us to slow down."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HappyFollowerApiError(HappyFollowerError):
    """The service answered with an error of its own (its message may be Persian)."""

    def __init__(self, message: str, *, service_message: str, http_status: int) -> None:
        super().__init__(message)
        self.service_message = service_message
        self.http_status = http_status


class HappyFollowerNotEnoughCreditError(HappyFollowerApiError):
    """The account's credit does not cover the order."""


class HappyFollowerResponseError(HappyFollowerError):
    """The answer was not what the API documents (HTML from a proxy, wrong shape)."""


class HappyFollowerSandboxUnsupportedError(HappyFollowerError):
    """The endpoint has no sandbox version (cancel and recheck)."""

    nothing_sent = True


class HappyFollowerOrderOutcomeUnknownError(HappyFollowerError):
    """The order was sent but no answer came back: it may or may not have been placed.

    It is never retried automatically, since a retry could place it twice.
    """


class Refusal(StrEnum):
    """Why the spend guard refused an order. The values are Home Assistant's translation
    keys without their ``cap_`` prefix (a test keeps the two in step)."""

    MAX_COUNT_PER_ORDER = "max_count_per_order"
    MAX_ORDERS_PER_DAY = "max_orders_per_day"
    MAX_SPEND_PER_DAY = "max_spend_per_day"
    COST_UNKNOWN = "cost_unknown"  # under a spend cap, nothing bounds a cost
    PRICE_CHANGED = "price_changed"  # the service charged above a bound: a person decides
    COST_CHANGED = "cost_changed"  # the bound rose after the person confirmed the order
    POSSIBLE_DUPLICATE = "possible_duplicate"


class HappyFollowerSpendCapError(HappyFollowerError):
    """The guard refused the order (a cap the operator configured, a price no person stands
    behind, a possible duplicate); nothing was sent. ``amounts`` holds the figures the
    message gives (e.g. spent, reserved, bound, cap, room), for translated messages."""

    nothing_sent = True

    def __init__(
        self, message: str, *, cap: Refusal, amounts: Mapping[str, float] | None = None
    ) -> None:
        super().__init__(message)
        self.cap = cap
        self.amounts: Mapping[str, float] = dict(amounts or {})


class HappyFollowerLedgerError(HappyFollowerError):
    """The audit ledger cannot be read, written or locked, or is damaged.

    Orders are refused while it is so: nothing is sent without a record written first
    (the guard logs, never raises, an outcome it cannot write after sending).
    """

    nothing_sent = True


def with_outcome(err: HappyFollowerError) -> str:
    """The error's message for a person, led by "Nothing was sent." where the message is
    about something else (the ledger's file) and whether an order left is what matters."""
    if isinstance(err, HappyFollowerLedgerError) and err.nothing_sent:
        return f"Nothing was sent. {err}"
    return str(err)
