"""The types of the tools' arguments: their JSON schemas are the tools' input schemas.

Whole numbers are JSON integers or digit strings (Persian and Arabic-Indic digits
too, as users of an Iranian service type them), never booleans or fractions.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BeforeValidator, Field

from shared_client.validation import MAX_LINK_LENGTH, to_ascii_digits

MAX_ID: Final = 2**31 - 1
MAX_COUNT: Final = 10_000_000


def whole_number(value: object) -> object:
    """An int, or a string of digits as an int; anything else is refused."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    if isinstance(value, str):
        text = to_ascii_digits(value.strip())
        if text.isascii() and text.isdigit():
            return int(text)
        raise ValueError("must be a whole number")
    if isinstance(value, int):
        return value
    raise ValueError("must be a whole number")


_WHOLE: Final = BeforeValidator(whole_number)
# Bounds before the validator: then they are both enforced and shown in the schema.
OrderId = Annotated[int, Field(ge=1, le=MAX_ID, description="The id place_order returned"), _WHOLE]
ServiceId = Annotated[
    int, Field(ge=1, le=MAX_ID, description="A service_id from list_services"), _WHOLE
]
Limit = Annotated[int, Field(ge=1, le=200, description="Most orders to return"), _WHOLE]
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
    return Annotated[int, Field(ge=1, le=most, description=description), _WHOLE]
