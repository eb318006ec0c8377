"""Asyncio client of the Happy Follower API, with an embedded simulator and a CLI."""

from .client import HappyFollowerClient
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
    "HappyFollowerNotEnoughCreditError",
    "HappyFollowerOrderOutcomeUnknownError",
    "HappyFollowerRateLimitError",
    "HappyFollowerResponseError",
    "HappyFollowerSandboxUnsupportedError",
    "OrderStatus",
    "Service",
    "__version__",
]
