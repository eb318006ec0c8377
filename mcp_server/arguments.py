"""The types of the tools' arguments: their JSON schemas are the tools' input schemas.

Whole numbers follow the shared input policy (``positive_int``): JSON integers or digit
strings (Persian and Arabic-Indic digits too, as users of an Iranian service type them),
never booleans or fractions.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BeforeValidator, Field, ValidationInfo

from shared_client.validation import MAX_LINK_LENGTH, MAX_WHOLE_NUMBER, positive_int

MAX_COUNT: Final = 10_000_000


def whole_number(most: int) -> BeforeValidator:
    """Read the argument as the shared policy reads a whole number from 1 to ``most``
    (its error names the field). The Field's bounds repeat ``most`` for the schema."""

    def read(value: object, info: ValidationInfo) -> int:
        return positive_int(value, info.field_name or "value", most)

    return BeforeValidator(read)


OrderId = Annotated[
    int,
    Field(ge=1, le=MAX_WHOLE_NUMBER, description="The id place_order returned"),
    whole_number(MAX_WHOLE_NUMBER),
]
ServiceId = Annotated[
    int,
    Field(ge=1, le=MAX_WHOLE_NUMBER, description="A service_id from list_services"),
    whole_number(MAX_WHOLE_NUMBER),
]
MAX_LIMIT: Final = 200
Limit = Annotated[
    int, Field(ge=1, le=MAX_LIMIT, description="Most orders to return"), whole_number(MAX_LIMIT)
]
Link = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_LINK_LENGTH,
        description="Full address of the Instagram page or post, e.g. https://www.instagram.com/name",
    ),
]


def count_type(max_count: int | None) -> object:
    """The type of ``count``: its maximum is the operator's cap, so the schema shows it."""
    most = max_count or MAX_COUNT
    description = f"Units to deliver (likes, followers or views); at most {most}"
    return Annotated[int, Field(ge=1, le=most, description=description), whole_number(most)]
