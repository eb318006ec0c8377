"""The types of the tools' arguments: their JSON schemas are the tools' input schemas.

Whole numbers follow the shared input policy (``positive_int``): JSON integers or digit
strings (Persian and Arabic-Indic digits too, as users of an Iranian service type them),
never booleans or fractions. Links follow it too (``instagram_link``, with the guard's
hosts) and come out canonical. So every bad argument of a call is reported at once, and
what the arguments hold is what the guard takes (``OrderRequest``), validated once.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Final

from pydantic import BeforeValidator, Field, ValidationInfo
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo

from shared_client.validation import (
    MAX_LINK_LENGTH,
    MAX_WHOLE_NUMBER,
    instagram_link,
    positive_int,
)

MAX_COUNT: Final = 10_000_000


def whole_number(most: int, description: str) -> tuple[FieldInfo, BeforeValidator]:
    """What an int argument is annotated with: read as the shared policy reads a whole
    number from 1 to ``most`` (its error names the field), the one check of its value; the
    schema shows the bounds (not checked a second time, as ``ge``/``le`` would be)."""

    def read(value: object, info: ValidationInfo) -> int:
        return positive_int(value, info.field_name or "value", most)

    bounds: JsonDict = {"minimum": 1, "maximum": most}
    return Field(description=description, json_schema_extra=bounds), BeforeValidator(read)


OrderId = Annotated[int, *whole_number(MAX_WHOLE_NUMBER, "The id place_order returned")]
ServiceId = Annotated[int, *whole_number(MAX_WHOLE_NUMBER, "A service_id from list_services")]
MAX_LIMIT: Final = 200
Limit = Annotated[int, *whole_number(MAX_LIMIT, "Most orders to return")]
LINK_HELP: Final = "Full address of the Instagram page or post, e.g. https://www.instagram.com/name"


def link_type(hosts: Collection[str]) -> object:
    """The type of an order's ``link``: read by the shared link policy for ``hosts`` (the
    guard's) into its canonical spelling, the one check of its value; its error names the
    field. The schema shows the length bounds the policy holds it to."""

    def read(value: object) -> str:
        return instagram_link(value, hosts)

    bounds: JsonDict = {"minLength": 1, "maxLength": MAX_LINK_LENGTH}
    return Annotated[
        str, Field(description=LINK_HELP, json_schema_extra=bounds), BeforeValidator(read)
    ]


def count_bound(max_count: int | None) -> tuple[int, str]:
    """The most units of one order (the operator's cap) and ``count``'s description."""
    most = max_count or MAX_COUNT
    return most, f"Units to deliver (likes, followers or views); at most {most}"


def count_type(max_count: int | None) -> object:
    """The type of ``count``: its maximum is the operator's cap, so the schema shows it."""
    return Annotated[int, *whole_number(*count_bound(max_count))]
