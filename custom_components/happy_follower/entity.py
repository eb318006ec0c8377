"""Base entities: one service device per account, and one device per tracked order.

An order's device is named after what was ordered, so a person tells orders apart at
a glance: the target taken from the link (an Instagram handle, post, reel or story)
and the service's name, for example "@mehdifeizi · Iranian likes". The order id is
the device's serial number, part of every entity id, and an attribute of its status.
"""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from shared_client.validation import display_text, link_target

from .const import DOMAIN, SIGNUP_URL
from .coordinator import HappyFollowerConfigEntry
from .store import TrackedOrder
from .texts import Language, identifier

# Names stay short enough for dashboard cards (vendor names run to about 25 characters).
MAX_SERVICE_NAME = 28
MAX_TARGET = 24
# Each part of a name is a bidi isolate, so "@handle" keeps its "@" in front and a Persian
# service name its parentheses, in a left-to-right and a right-to-left interface alike.
_ISOLATE = "\u2068{}\u2069"


def order_device_identifier(entry_id: str, order_id: int) -> str:
    return f"{entry_id}_order_{order_id}"


def order_id_of_device(entry_id: str, identifiers: set[tuple[str, str]]) -> int | None:
    """The order a device stands for; None for the account's device."""
    prefix = order_device_identifier(entry_id, 0).removesuffix("0")
    for domain, device_id in identifiers:
        order_id = device_id.removeprefix(prefix)
        if domain == DOMAIN and device_id.startswith(prefix) and order_id.isdigit():
            return int(order_id)
    return None


def order_target(link: str | None) -> tuple[str, str]:
    """What the order is for, from its link: (kind, display-safe text), short for cards.

    Kinds: "profile" (@handle), "post", "reel", "story" (@handle), "link" (anything else).
    """
    target = link_target(link, MAX_TARGET)
    return target.kind, target.text


def order_device_info(
    entry: HappyFollowerConfigEntry, order: TrackedOrder, language: Language
) -> DeviceInfo:
    """The device of one tracked order, named by its number first, then its target and
    service (the ``device`` translations): what tells two orders apart comes first, where
    a card or a list that cuts a long name leaves it whole. The number as ``language``
    (the system language) writes it."""
    kind, target = order_target(order.target_link)
    service = (
        display_text(order.service_name, MAX_SERVICE_NAME)
        if order.service_name
        else f"{order.service_id or '?'}"
    )
    return DeviceInfo(
        identifiers={(DOMAIN, order_device_identifier(entry.entry_id, order.order_id))},
        translation_key=f"order_{kind}",
        translation_placeholders={
            "order": identifier(order.order_id, language),
            "target": _ISOLATE.format(target),
            "service": _ISOLATE.format(service),
        },
        manufacturer="Happy Follower",
        model=_ISOLATE.format(display_text(order.service_name)) if order.service_name else None,
        model_id=None if order.service_id is None else str(order.service_id),
        serial_number=str(order.order_id),
        entry_type=DeviceEntryType.SERVICE,
    )


class HappyFollowerEntity[CoordinatorT: DataUpdateCoordinator[Any]](
    CoordinatorEntity[CoordinatorT]
):
    """An entity of one Happy Follower account, on the account's device."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: CoordinatorT, entry: HappyFollowerConfigEntry, key: str
    ) -> None:
        super().__init__(coordinator)
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Happy Follower",
            model="SMM panel API v1",
            entry_type=DeviceEntryType.SERVICE,
            configuration_url=SIGNUP_URL,
        )
