"""Who may act: what makes the vendor act or changes what is tracked is for administrators.

Place, cancel, recheck and confirm_price make Happy Follower do something; track and
untrack change the orders every user sees. A non-admin user's call is refused with
Unauthorized before anything happens; an administrator's (and a script's, with no user)
works. Reading an order's status and the list of services stays open to every user.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.happy_follower.const import DOMAIN
from shared_client.simulator import Simulator

from .helpers import LINK, call, place

ADMIN_ACTIONS = (
    "place_order",
    "cancel_order",
    "recheck_order",
    "confirm_price",
    "track_order",
    "untrack_order",
)
READ_ACTIONS = ("get_order_status", "list_services")


def _data(action: str, order_id: int) -> dict[str, Any]:
    if action == "place_order":
        return {"service_id": 10, "link": LINK, "count": 100}
    if action == "confirm_price":
        return {"service_id": 10, "unit_price": 2}
    if action == "list_services":
        return {}
    return {"order_id": order_id}


async def _call_as(
    hass: HomeAssistant, entry: MockConfigEntry, action: str, user: User, order_id: int
) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        action,
        {"config_entry_id": entry.entry_id, **_data(action, order_id)},
        blocking=True,
        return_response=action in READ_ACTIONS,
        context=Context(user_id=user.id),
    )


async def _tracked(hass: HomeAssistant, entry: MockConfigEntry, order_id: int) -> bool:
    status = await call(hass, entry, "get_order_status", True, order_id=order_id)
    assert status is not None
    return bool(status["tracked"])


@pytest.fixture
async def plain_user(hass: HomeAssistant) -> User:
    """A user of the default "users" group: not an administrator, not read-only."""
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    assert group is not None
    user: User = MockUser(name="Sara", is_owner=False, groups=[group]).add_to_hass(hass)
    return user


@pytest.mark.parametrize("who", ["plain_user", "hass_read_only_user"])
@pytest.mark.parametrize("action", ADMIN_ACTIONS)
async def test_a_non_admin_is_refused(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    plain_user: User,
    hass_read_only_user: User,
    who: str,
    action: str,
) -> None:
    user = plain_user if who == "plain_user" else hass_read_only_user
    assert not user.is_admin
    tracked = await place(hass, loaded_entry)  # placed by a script: tracked
    untracked = await place(hass, loaded_entry, count=200)
    await call(hass, loaded_entry, "untrack_order", order_id=untracked)
    sent_before = len(simulator.requests)
    target = untracked if action == "track_order" else tracked
    with pytest.raises(Unauthorized):
        await _call_as(hass, loaded_entry, action, user, target)
    await hass.async_block_till_done()
    assert len(simulator.requests) == sent_before  # the vendor was asked nothing
    assert [order.recheck_count for order in simulator.orders(api_key)] == [0, 0]
    assert len(simulator.orders(api_key)) == 2
    assert await _tracked(hass, loaded_entry, tracked)
    assert not await _tracked(hass, loaded_entry, untracked)


@pytest.mark.parametrize("action", ADMIN_ACTIONS)
async def test_an_admin_may(
    hass: HomeAssistant,
    simulator: Simulator,
    api_key: str,
    loaded_entry: MockConfigEntry,
    hass_admin_user: User,
    action: str,
) -> None:
    order_id = await place(hass, loaded_entry)
    if action == "track_order":
        await call(hass, loaded_entry, "untrack_order", order_id=order_id)
    await _call_as(hass, loaded_entry, action, hass_admin_user, order_id)
    orders = simulator.orders(api_key)
    if action == "place_order":
        assert len(orders) == 2
    elif action == "cancel_order":
        assert orders[0].status == "canceled"
    elif action == "recheck_order":
        assert orders[0].recheck_count == 1
    elif action in ("track_order", "untrack_order"):
        assert await _tracked(hass, loaded_entry, order_id) is (action == "track_order")


@pytest.mark.parametrize("who", ["plain_user", "hass_read_only_user"])
@pytest.mark.parametrize("action", READ_ACTIONS)
async def test_reads_are_open_to_every_user(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    plain_user: User,
    hass_read_only_user: User,
    who: str,
    action: str,
) -> None:
    order_id = await place(hass, loaded_entry)
    user = plain_user if who == "plain_user" else hass_read_only_user
    response = await _call_as(hass, loaded_entry, action, user, order_id)
    assert response
