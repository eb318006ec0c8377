"""Text shown to people in English or Persian: numbers as Home Assistant's frontend shows
them in Persian, the credit's unit by its name in each language, and text of the other
direction (vendor names, links, titles) isolated so that it cannot reorder a sentence."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from shared_client.validation import display_text

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import HappyFollowerConfigEntry

type Language = Literal["en", "fa"]

# The account's unit as each language says it; any other unit is shown as typed.
_UNITS: dict[str, dict[Language, str]] = {
    "toman": {"en": "Toman", "fa": "تومان"},
    "تومان": {"en": "Toman", "fa": "تومان"},
    "تومن": {"en": "Toman", "fa": "تومان"},
    "irr": {"en": "rials", "fa": "ریال"},
    "rial": {"en": "rials", "fa": "ریال"},
    "rials": {"en": "rials", "fa": "ریال"},
    "ریال": {"en": "rials", "fa": "ریال"},
}
# Persian digits and separators, as Home Assistant's frontend writes Persian numbers.
_PERSIAN_NUMBERS = str.maketrans("0123456789,.%", "۰۱۲۳۴۵۶۷۸۹٬٫٪")
# First strong isolate and pop directional isolate (Unicode bidi algorithm).
FSI, PDI = "\u2068", "\u2069"


# Addresses and paths are shown whole up to this length.
MAX_ADDRESS = 300


def isolated(text: str, max_length: int = 40) -> str:
    """Vendor or user text, made display-safe, in Unicode isolates (FSI … PDI): a name in
    the other direction cannot reorder the sentence around it."""
    return f"{FSI}{display_text(text, max_length)}{PDI}"


def markdown_link(link: str) -> str:
    """A link in text that Home Assistant's frontend shows as Markdown (a repair, a
    notification): isolated, so that right-to-left text around it cannot move its
    slashes, and in angle brackets, which end the autolink before the isolate's closing
    mark (bare, the mark became part of the address: ``…/%E2%81%A9`` in Chromium)."""
    return isolated(f"<{link}>", MAX_ADDRESS)


def localized(text: str, language: Language) -> str:
    return text.translate(_PERSIAN_NUMBERS) if language == "fa" else text


def number(value: float, language: Language, decimals: int = 2) -> str:
    """Grouped in thousands, at most ``decimals`` places, none when whole; never in
    exponent notation (a cap in Rial is in the millions). A whole int is exact, however
    large (what a person typed, quoted back, may be beyond a float's range)."""
    if isinstance(value, int):
        return localized(f"{value:,}", language)
    text = f"{round(value, decimals) + 0.0:,.{decimals}f}".rstrip("0").rstrip(".")
    return localized(text, language)


# An amount in a message a person acts on (a price to confirm, a cap's room) keeps the
# places it has, up to six: a price per unit rounded to two would confirm another price.
EXACT_DECIMALS = 6


def identifier(value: int, language: Language) -> str:
    """A number that names something (an order, a service): its digits, never grouped."""
    return localized(str(value), language)


def unit_name(unit: str, language: Language) -> str:
    """The credit's unit as the language says it (Toman: تومان); another unit as typed,
    isolated."""
    known = _UNITS.get(unit.strip().casefold())
    return known[language] if known else isolated(unit, 16)


def entry_unit(entry: HappyFollowerConfigEntry, language: Language) -> str:
    """The unit of the account's credit and costs, as the language says it."""
    # Imported here: the coordinator imports errors, which imports this module.
    from .coordinator import credit_unit  # noqa: PLC0415

    return unit_name(credit_unit(entry), language)


def amount(value: float, entry: HappyFollowerConfigEntry, language: Language) -> str:
    return f"{number(value, language)} {entry_unit(entry, language)}"


def moment(value: datetime, language: Language) -> str:
    """A local date and time as Home Assistant's frontend writes them in each language:
    in Persian, the Solar Hijri calendar (the frontend's Intl formatting of ``fa``) in
    Persian digits, year/month/day, whose slashes keep it one run in right-to-left text."""
    if language == "en":
        return f"{value:%Y-%m-%d %H:%M}"
    year, month, day = solar_hijri(value.date())
    return localized(f"{year}/{month:02}/{day:02} {value:%H:%M}", "fa")


def solar_hijri(day: date) -> tuple[int, int, int]:
    """The Solar Hijri (Jalali) date of a Gregorian one: year, month, day.

    Counts days in 33-year cycles of 12,053 days from the calendar's epoch; the first six
    months have 31 days, the next five 30, the last 29 or 30."""
    days_before_month = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
    leap_year = day.year + 1 if day.month > 2 else day.year
    days = (
        355666
        + 365 * day.year
        + (leap_year + 3) // 4
        - (leap_year + 99) // 100
        + (leap_year + 399) // 400
        + day.day
        + days_before_month[day.month - 1]
    )
    year = -1595 + 33 * (days // 12053)
    days %= 12053
    year += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        year += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:
        return year, 1 + days // 31, 1 + days % 31
    return year, 7 + (days - 186) // 30, 1 + (days - 186) % 30


def language_of(hass_language: str) -> Language:
    """Persian for Home Assistant's Persian, else English (the integration's two)."""
    return "fa" if hass_language.split("-", maxsplit=1)[0] == "fa" else "en"


def system_language(hass: HomeAssistant) -> Language:
    """The language of text made on the server (placeholders, notifications): Home
    Assistant's system language, the one a person's profile starts from."""
    return language_of(hass.config.language)
