"""Parsed answers of the Happy Follower API.

Parsing is tolerant where the documentation is silent: numbers may come as
numeric strings, unknown order statuses are kept, extra fields are ignored.
"""

from __future__ import annotations

from typing import Annotated, TypedDict

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, computed_field

from .protocol import FINAL_STATUSES
from .validation import MAX_LINK_LENGTH, display_text, to_number


def to_whole_number(value: object) -> int:
    """Like ``to_number``, but a fraction is refused."""
    number = to_number(value)
    if isinstance(number, float):
        raise ValueError("not a whole number")
    return number


Number = Annotated[int | float, BeforeValidator(to_number)]
WholeNumber = Annotated[int, BeforeValidator(to_whole_number)]


class _ApiModel(BaseModel):
    # Built at first use: a program that starts without reading the API (the MCP server
    # answering tools/list) does not pay for it.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, defer_build=True)


class Service(_ApiModel):
    """An active service (for example Iranian likes, medium speed)."""

    service_id: WholeNumber = Field(alias="serviceId")
    name: str


class OrderSummary(TypedDict):
    """An order's status as plain data: the CLI's JSON, Home Assistant's action response and
    the MCP server's tool result all come from ``OrderStatus.summary``. ``status``,
    ``status_title`` and ``link`` are the vendor's text, made display-safe."""

    order_id: int
    status: str
    status_title: str
    count: int
    delivered: int
    remain: int
    progress: float
    is_final: bool
    old_count: int | None
    cost: int | float | None
    link: str


class OrderStatus(_ApiModel):
    """The state of one order, as ``/status/{id}/`` reports it, plus derived values."""

    status: str
    status_title: str = Field(default="", alias="statusTitle")
    remain: WholeNumber
    old_count: WholeNumber | None = Field(default=None, alias="oldCount")
    count: WholeNumber
    cost: Number | None = None
    link: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def delivered(self) -> int:
        """Units delivered so far (count minus remain, within 0..count)."""
        return max(0, min(self.count, self.count - self.remain))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> float:
        """Delivered share of the order, in percent (0-100, one decimal)."""
        if self.count <= 0:
            return 100.0 if self.is_final else 0.0
        return round(self.delivered * 100 / self.count, 1)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_final(self) -> bool:
        """True once the order can no longer change (completed, partial, canceled...)."""
        return self.status.strip().lower() in FINAL_STATUSES

    def summary(self, order_id: int) -> OrderSummary:
        """This status as plain data, with the id of the order it belongs to. The vendor's
        strings are display-safe (``display_text``): they may be shown to a person as they are."""
        return OrderSummary(
            order_id=order_id,
            status=display_text(self.status, 40),
            status_title=display_text(self.status_title),
            count=self.count,
            delivered=self.delivered,
            remain=self.remain,
            progress=self.progress,
            is_final=self.is_final,
            old_count=self.old_count,
            cost=self.cost,
            link=display_text(self.link, MAX_LINK_LENGTH),
        )
