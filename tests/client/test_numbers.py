"""The shared number reader: the vendor's numbers and the caps a person types."""

from __future__ import annotations

from typing import Any

import pytest

from shared_client.models import to_whole_number
from shared_client.validation import amount_text, to_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (500, 500),
        (2.5, 2.5),
        (1000.0, 1000),
        ("500", 500),
        (" 500 ", 500),
        ("۵۰۰", 500),
        ("٥٠٠", 500),
        ("1,000", 1000),
        ("1,234,567.5", 1_234_567.5),
        ("۱٬۰۰۰", 1000),  # U+066C, the Persian thousands separator
        ("۱٬۰۰۰٬۰۰۰", 1_000_000),
        ("۱،۰۰۰", 1000),  # U+060C, the Arabic comma
        ("٢٬٥٠٠٫٥", 2500.5),  # U+066B, the decimal separator
        ("۲٫۵", 2.5),
        ("0.5", 0.5),
        (".5", 0.5),
        ("5.", 5),
        ("-5", -5),
        ("1e3", 1000),
        ("12345678901234567890", 12345678901234567890),  # exact beyond a float's precision
    ],
)
def test_numbers_are_read(value: Any, expected: int | float) -> None:
    number = to_number(value)
    assert number == expected
    assert type(number) is type(expected)


@pytest.mark.parametrize(
    "value",
    [
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "1e309",
        "۱e۳۰۹",
        "1,000e999",
        float("nan"),
        float("inf"),
    ],
)
def test_non_finite_numbers_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        to_number(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "five",
        "1,5",  # a decimal comma is not read as 15
        "1,00",
        "10,00,000",  # lakh grouping
        ",500",
        "500,",
        "1,000,00",
        "1 000",
        "1_000",  # Python's own grouping is not a person's
        "۱ ۰۰۰",
        "2/5",  # a Persian way of writing 2.5, but also a fraction: refused
        "\u200f500",  # a right-to-left mark
        "5\u200b00",  # a zero-width space
        "\u202e005",  # a right-to-left override: shows as 500, reads as 5
        "५००",  # Devanagari digits: int() would take them
        "５００",  # fullwidth digits too
        "0x10",
        "1e",
        None,
        [500],
        True,
    ],
)
def test_what_is_not_a_number_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="not a number"):
        to_number(value)


def test_whole_numbers() -> None:
    assert to_whole_number("۱٬۰۰۰") == 1000
    with pytest.raises(ValueError, match="whole"):
        to_whole_number("۲٫۵")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (200, "200"),
        (1_500_000, "1,500,000"),  # rials: millions, never 1.5e+06
        (2.5, "2.5"),
        (1234.25, "1,234.25"),
        (1 / 3, repr(1 / 3)),  # a price is confirmed as shown: never a rounded figure
    ],
)
def test_amounts_as_people_read_them(value: float, shown: str) -> None:
    assert amount_text(value) == shown
    assert float(shown.replace(",", "")) == value
