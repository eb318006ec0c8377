"""Constants of the Happy Follower integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from shared_client import validation

DOMAIN: Final = "happy_follower"
LOGGER = logging.getLogger(__package__)

# Config entry data.
CONF_ENVIRONMENT: Final = "environment"
CONF_ADVANCED: Final = "advanced"
CONF_API_ROOT: Final = "api_root"
ENVIRONMENT_LIVE: Final = "live"
ENVIRONMENT_SANDBOX: Final = "sandbox"

# Options.
CONF_CREDIT_UNIT: Final = "credit_unit"
CONF_LOW_CREDIT_THRESHOLD: Final = "low_credit_threshold"
CONF_MAX_COUNT_PER_ORDER: Final = "max_count_per_order"
CONF_MAX_ORDERS_PER_DAY: Final = "max_orders_per_day"
CONF_MAX_SPEND_PER_DAY: Final = "max_spend_per_day"
CONF_UNIT_PRICES: Final = "unit_prices"
CONF_FINAL_RETENTION_HOURS: Final = "final_retention_hours"
# Home Assistant's assistants may place orders (approved by a person, under a spend cap).
CONF_ASSISTANTS_MAY_ORDER: Final = "assistants_may_order"

# Iranian panels price in Toman (no ISO 4217 code) or Rial (IRR).
DEFAULT_CREDIT_UNIT: Final = validation.DEFAULT_CREDIT_UNIT  # one default, every front-end
CREDIT_UNIT_SUGGESTIONS: Final = ("Toman", "IRR", "تومان", "ریال")
DEFAULT_LOW_CREDIT_THRESHOLD: Final = 0
DEFAULT_FINAL_RETENTION_HOURS: Final = 24

# Credit changes only when orders are placed or the account is topped up; orders
# take minutes to hours to deliver. See docs/home-assistant.md for calls per hour.
CREDIT_UPDATE_INTERVAL: Final = timedelta(minutes=15)
ORDERS_UPDATE_INTERVAL: Final = timedelta(minutes=5)
# Status requests in flight at once during one refresh of the tracked orders.
STATUS_CONCURRENCY: Final = 10

# Order statuses: one spelling each (sensor states and event data), at most this long.
# "canceled" as Home Assistant's style guide writes it; the words generic SMM panels use
# for the documented "registered" (در انتظار, pending) and for "in progress".
STATUS_SPELLINGS: Final = {
    "cancelled": "canceled",
    "pending": "registered",
    "processing": "in_progress",
}
MAX_STATUS_LENGTH: Final = 40

EVENT_ORDER_STATUS_CHANGED: Final = f"{DOMAIN}_order_status_changed"
EVENT_ORDER_FINISHED: Final = f"{DOMAIN}_order_finished"
EVENT_CREDIT_LOW: Final = f"{DOMAIN}_credit_low"

ISSUE_LOW_CREDIT: Final = "low_credit"
ISSUE_INTERRUPTED_ORDERS: Final = "interrupted_orders"
# A service charged more than an order's bound: its orders stop until a person confirms.
ISSUE_PRICE_CHANGED: Final = "price_changed"

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_ORDER_ID: Final = "order_id"
ATTR_SERVICE_ID: Final = "service_id"
ATTR_LINK: Final = "link"
ATTR_COUNT: Final = "count"
ATTR_CONFIRM_DUPLICATE: Final = "confirm_possible_duplicate"
ATTR_UNIT_PRICE: Final = "unit_price"

SOURCE: Final = "home_assistant"
SIGNUP_URL: Final = "https://www.happy-follower.com"
