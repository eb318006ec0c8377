"""Coordinators of the Happy Follower integration: the credit and the tracked orders."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from shared_client import HappyFollowerClient
from shared_client.errors import (
    HappyFollowerApiError,
    HappyFollowerAuthenticationError,
    HappyFollowerError,
    HappyFollowerRateLimitError,
)
from shared_client.guard import PlacedOrder, SpendGuard
from shared_client.models import OrderStatus
from shared_client.validation import display_text

from .const import (
    CONF_CREDIT_UNIT,
    CONF_FINAL_RETENTION_HOURS,
    CONF_LOW_CREDIT_THRESHOLD,
    CREDIT_UPDATE_INTERVAL,
    DEFAULT_CREDIT_UNIT,
    DEFAULT_FINAL_RETENTION_HOURS,
    DEFAULT_LOW_CREDIT_THRESHOLD,
    DOMAIN,
    EVENT_CREDIT_LOW,
    EVENT_ORDER_FINISHED,
    EVENT_ORDER_STATUS_CHANGED,
    ISSUE_LOW_CREDIT,
    LOGGER,
    MAX_STATUS_LENGTH,
    ORDERS_UPDATE_INTERVAL,
    SIGNUP_URL,
    STATUS_CONCURRENCY,
    STATUS_SPELLINGS,
)
from .errors import translation_for
from .repairs import async_sync_price_holds
from .store import HappyFollowerStore, TrackedOrder
from .texts import Language, isolated, number, system_language, unit_name


@dataclass(slots=True)
class HappyFollowerData:
    """What a loaded config entry holds."""

    client: HappyFollowerClient
    credit: CreditCoordinator
    orders: OrdersCoordinator
    guard: SpendGuard
    store: HappyFollowerStore

    async def async_placed(self, placed: PlacedOrder) -> None:
        """Track an order the guard just placed (its first status noted, not read again)
        and show the credit it cost, for the action and the assistants' tool alike."""
        self.orders.note_placed(placed)
        await self.orders.async_track(
            placed.order_id,
            status=placed.status,
            service_id=placed.service_id,
            service_name=placed.service_name,
            link=placed.link,
        )
        await self.credit.async_refresh()

    async def async_refresh_after_action(self, order_id: int) -> None:
        """Show the effect of a cancel or recheck on a tracked order (and the credit) at once."""
        if order_id in self.store.orders:
            await self.orders.async_refresh_order(order_id)
        await self.credit.async_refresh()


type HappyFollowerConfigEntry = ConfigEntry[HappyFollowerData]


def update_failed(err: HappyFollowerError, language: Language) -> Exception:
    """The exception a coordinator raises for ``err``: reauth, or a translated failure
    (shown as the entry's reason when it cannot start), its figures in ``language``."""
    key, placeholders = translation_for(err, language)
    if isinstance(err, HappyFollowerAuthenticationError):
        return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key=key)
    retry_after = err.retry_after if isinstance(err, HappyFollowerRateLimitError) else None
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
        retry_after=retry_after,
    )


def credit_unit(entry: HappyFollowerConfigEntry) -> str:
    """The unit of the credit, of the spend and of costs: one unit everywhere."""
    unit: str = entry.options.get(CONF_CREDIT_UNIT, DEFAULT_CREDIT_UNIT)
    return unit


def low_credit_issue_id(entry_id: str) -> str:
    return f"{ISSUE_LOW_CREDIT}_{entry_id}"


class CreditCoordinator(DataUpdateCoordinator[int | float]):
    """Polls the account's credit and warns when it falls below the threshold."""

    config_entry: HappyFollowerConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: HappyFollowerConfigEntry, client: HappyFollowerClient
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} credit",
            update_interval=CREDIT_UPDATE_INTERVAL,
        )
        self.client = client

    @override
    async def _async_update_data(self) -> int | float:
        try:
            credit = await self.client.get_credit()
        except HappyFollowerError as err:
            raise update_failed(err, system_language(self.hass)) from err
        self._check_low_credit(credit)
        return credit

    def _check_low_credit(self, credit: float) -> None:
        """Raise a repair issue (and fire an event once) while credit is below the threshold.

        Whether the credit was already low is read from the issue registry, which
        survives restarts, so the event fires once per crossing, not once per start.
        """
        entry = self.config_entry
        threshold = entry.options.get(CONF_LOW_CREDIT_THRESHOLD, DEFAULT_LOW_CREDIT_THRESHOLD)
        issue_id = low_credit_issue_id(entry.entry_id)
        was_low = ir.async_get(self.hass).async_get_issue(DOMAIN, issue_id) is not None
        if not threshold or credit >= threshold:
            if was_low:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        unit = credit_unit(entry)
        language = system_language(self.hass)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            is_persistent=False,
            learn_more_url=SIGNUP_URL,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_LOW_CREDIT,
            translation_placeholders={
                "title": isolated(entry.title),
                "credit": number(credit, language),
                "threshold": number(threshold, language),
                "unit": unit_name(unit, language),
            },
        )
        if not was_low:
            self.hass.bus.async_fire(
                EVENT_CREDIT_LOW,
                {
                    "config_entry_id": entry.entry_id,
                    "credit": credit,
                    "threshold": threshold,
                    "unit": unit,
                },
            )


def status_key(status: str) -> str:
    """The one spelling of a status, for sensor states and event data alike.

    Lower-case snake case, and one word for each status (see STATUS_SPELLINGS: "canceled"
    for "cancelled", "in_progress" for a panel's "Processing"). Vendor text: anything but
    letters and digits becomes "_".
    """
    key = re.sub(r"\W+", "_", status.strip().lower()).strip("_")[:MAX_STATUS_LENGTH]
    return STATUS_SPELLINGS.get(key, key) or "unknown"


type _Event = tuple[str, dict[str, object]]


class OrdersCoordinator(DataUpdateCoordinator[dict[int, TrackedOrder]]):
    """Polls the status of tracked orders that are not final yet.

    Final orders cost no request: they are kept (for the entities) until they have
    been final for the configured time, then untracked. A status change is saved
    before its event fires, so no event fires twice, whatever happens to the process.
    """

    config_entry: HappyFollowerConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: HappyFollowerConfigEntry,
        client: HappyFollowerClient,
        store: HappyFollowerStore,
        guard: SpendGuard,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} orders",
            update_interval=ORDERS_UPDATE_INTERVAL,
        )
        self.client = client
        self.store = store
        self.guard = guard
        # Costs of status reads, as read (None: no cost), for the guard at the next commit;
        # the last one the guard took of each order; the anomalies already logged.
        self._costs_learned: dict[int, float | None] = {}
        self._costs_noted: dict[int, float | None] = {}
        self._anomalies_logged: set[tuple[int, str]] = set()
        self._refused: set[int] = set()  # orders whose refusal was already logged

    @property
    def retention(self) -> timedelta:
        hours = self.config_entry.options.get(
            CONF_FINAL_RETENTION_HOURS, DEFAULT_FINAL_RETENTION_HOURS
        )
        return timedelta(hours=hours)

    @override
    async def _async_update_data(self) -> dict[int, TrackedOrder]:
        now = dt_util.utcnow()
        if self._drop_expired(now):
            await self.store.async_save()
        active = [order for order in self.store.orders.values() if not order.is_final]
        statuses, failure = await self._fetch(active)
        events: list[_Event] = []
        for order_id, status in statuses.items():
            # An order may have been untracked while its status was being read.
            if (order := self.store.orders.get(order_id)) is not None:
                events += self._apply(order, status, now)
        await self._commit(events, changed=bool(statuses))
        if failure is not None:
            raise update_failed(failure, system_language(self.hass)) from failure
        return self.store.orders

    async def _fetch(
        self, orders: list[TrackedOrder]
    ) -> tuple[dict[int, OrderStatus], HappyFollowerError | None]:
        """Read the orders' statuses, a few at a time; stop at the first general failure."""
        semaphore = asyncio.Semaphore(STATUS_CONCURRENCY)
        statuses: dict[int, OrderStatus] = {}
        failure: HappyFollowerError | None = None

        async def read(order_id: int) -> None:
            nonlocal failure
            async with semaphore:
                if failure is not None:
                    return  # the service is failing: do not keep asking
                try:
                    statuses[order_id] = await self.client.get_order_status(order_id)
                except HappyFollowerApiError as err:
                    # The service refused this one order (an unknown id, say): the
                    # others still update, and it keeps its last known status.
                    if order_id not in self._refused:
                        self._refused.add(order_id)
                        LOGGER.warning(
                            "Happy Follower refused the status of order %s: %s",
                            order_id,
                            display_text(err.service_message),
                        )
                except HappyFollowerError as err:
                    failure = failure or err
                else:
                    self._refused.discard(order_id)

        await asyncio.gather(*(read(order.order_id) for order in orders))
        return statuses, failure

    def _apply(self, order: TrackedOrder, status: OrderStatus, now: datetime) -> list[_Event]:
        """Keep a status just read (and count its cost); return the events it causes."""
        old = None if order.status is None else status_key(order.status.status)
        new = status_key(status.status)
        order.status = status
        if not order.link and status.link:
            order.link = status.link
        self.store.count_cost(order)  # the spent sensor's own total
        # The guard sees every status's cost as it is (None too: a missing cost is an
        # anomaly); a cost it already took of this order changes nothing there.
        cost = None if status.cost is None else float(status.cost)
        if order.order_id not in self._costs_noted or self._costs_noted[order.order_id] != cost:
            self._costs_learned[order.order_id] = cost
        base: dict[str, object] = {
            "config_entry_id": self.config_entry.entry_id,
            "order_id": order.order_id,
            "status_title": display_text(status.status_title),
            "progress": status.progress,
        }
        events: list[_Event] = []
        if old != new:
            events.append(
                (EVENT_ORDER_STATUS_CHANGED, {**base, "old_status": old, "new_status": new})
            )
        if status.is_final and order.final_since is None:
            order.final_since = now
            finished = {
                **base,
                "status": new,
                "count": status.count,
                "delivered": status.delivered,
                "remain": status.remain,
                "cost": status.cost,
                "link": status.link,
            }
            events.append((EVENT_ORDER_FINISHED, finished))
        return events

    async def _commit(self, events: list[_Event], *, changed: bool) -> None:
        """Save what was read, then fire its events: a crash after the save cannot
        make an event fire again on the next start (the saved status has no change)."""
        if events:
            await self.store.async_save()
        elif changed:
            self.store.async_schedule_save()
        for event_type, data in events:
            self.hass.bus.async_fire(event_type, data)
        await self._note_costs()

    async def _note_costs(self) -> None:
        """Tell the guard the costs the statuses gave: a higher one counts, an odd one is
        an anomaly (logged once here), and a charge above an order's bound holds its
        service (a repair issue)."""
        costs, self._costs_learned = self._costs_learned, {}
        for order_id, cost in costs.items():
            settled = await self.guard.settle_cost(order_id, cost)
            if settled.not_written is not None:
                # Its bound keeps counting against the cap for 24 hours: the safe side.
                # Not marked as noted: the next status read tries again.
                continue
            anomaly = settled.anomaly
            self._costs_noted[order_id] = cost
            if anomaly is not None and (order_id, anomaly) not in self._anomalies_logged:
                self._anomalies_logged.add((order_id, anomaly))
                LOGGER.warning("Happy Follower order %s: %s", order_id, anomaly)
        if costs:
            tracked = self.store.orders
            self._costs_noted = {k: v for k, v in self._costs_noted.items() if k in tracked}
            self._anomalies_logged = {item for item in self._anomalies_logged if item[0] in tracked}
        async_sync_price_holds(self.hass, self.config_entry, self.guard)

    def note_placed(self, placed: PlacedOrder) -> None:
        """The guard placed this order and read its first status itself: that cost is
        noted and its anomaly was logged (by the guard)."""
        if placed.status is not None:
            cost = placed.status.cost
            self._costs_noted[placed.order_id] = None if cost is None else float(cost)
        if placed.anomaly is not None:
            self._anomalies_logged.add((placed.order_id, placed.anomaly))

    def _drop_expired(self, now: datetime) -> bool:
        """Untrack orders final for longer than the retention; True if any was."""
        expired = [
            order.order_id
            for order in self.store.orders.values()
            if order.final_since is not None and now - order.final_since >= self.retention
        ]
        for order_id in expired:
            del self.store.orders[order_id]
        return bool(expired)

    async def async_track(
        self,
        order_id: int,
        *,
        status: OrderStatus | None = None,
        service_id: int | None = None,
        service_name: str | None = None,
        link: str | None = None,
    ) -> TrackedOrder:
        """Start following an order; its entities appear at once.

        An order the integration just placed is saved before anything else can fail
        (``status`` is its first status, if the guard could read it); an order placed
        elsewhere (``service_id`` unknown) must first answer a status read.
        """
        if (order := self.store.orders.get(order_id)) is not None:
            return order
        if service_id is None and status is None:
            status = await self.client.get_order_status(order_id)
        now = dt_util.utcnow()
        order = TrackedOrder(
            order_id=order_id,
            added_at=now,
            environment=self.store.environment,
            service_id=service_id,
            service_name=service_name,
            link=link,
        )
        self.store.orders[order_id] = order
        events = [] if status is None else self._apply(order, status, now)
        await self.store.async_save()
        await self._commit(events, changed=False)
        self.async_update_listeners()
        return order

    async def async_untrack(self, order_id: int) -> bool:
        """Stop following an order; its entities are removed. False if it was not tracked."""
        if self.store.orders.pop(order_id, None) is None:
            return False
        await self.store.async_save()
        self.async_update_listeners()
        return True

    async def async_refresh_order(self, order_id: int) -> OrderStatus:
        """Read one order's status now; a tracked order's entities update with it."""
        status = await self.client.get_order_status(order_id)
        if (order := self.store.orders.get(order_id)) is not None:
            await self._commit(self._apply(order, status, dt_util.utcnow()), changed=True)
            self.async_update_listeners()
        return status
