"""Asyncio client of the Happy Follower API, its spend guard and ledger, and a simulator."""

from .client import HappyFollowerClient
from .errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerConnectionError,
    HappyFollowerError,
    HappyFollowerInputError,
    HappyFollowerLedgerError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerRateLimitError,
    HappyFollowerResponseError,
    HappyFollowerSandboxUnsupportedError,
    HappyFollowerSpendCapError,
    HappyFollowerUnknownServiceError,
)
from .models import OrderStatus, Service
from .protocol import LIVE_API_ROOT, SANDBOX_API_ROOT

__version__ = "0.1.0"

__all__ = [
    "LIVE_API_ROOT",
    "SANDBOX_API_ROOT",
    "HappyFollowerApiError",
    "HappyFollowerAuthenticationError",
    "HappyFollowerClient",
    "HappyFollowerConnectionError",
    "HappyFollowerError",
    "HappyFollowerInputError",
    "HappyFollowerLedgerError",
    "HappyFollowerNotEnoughCreditError",
    "HappyFollowerOrderOutcomeUnknownError",
    "HappyFollowerRateLimitError",
    "HappyFollowerResponseError",
    "HappyFollowerSandboxUnsupportedError",
    "HappyFollowerSpendCapError",
    "HappyFollowerUnknownServiceError",
    "OrderStatus",
    "Service",
    "__version__",
]
