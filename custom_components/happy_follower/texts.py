"""Text shown to people in English or Persian: numbers as Home Assistant's frontend shows
them in Persian, the credit's unit by its name in each language, and text of the other
direction (vendor names, links, titles) isolated so that it cannot reorder a sentence."""

from __future__ import annotations

from typing import Literal

from shared_client.validation import display_text

from .coordinator import HappyFollowerConfigEntry, credit_unit

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


def isolated(text: str, max_length: int = 40) -> str:
    """Vendor or user text, made display-safe, in Unicode isolates (FSI … PDI): a name in
    the other direction cannot reorder the sentence around it."""
    return f"\u2068{display_text(text, max_length)}\u2069"


def localized(text: str, language: Language) -> str:
    return text.translate(_PERSIAN_NUMBERS) if language == "fa" else text


def number(value: float, language: Language, decimals: int = 2) -> str:
    """Grouped in thousands, at most ``decimals`` places, none when whole."""
    text = f"{round(value, decimals) + 0.0:,.{decimals}f}".rstrip("0").rstrip(".")
    return localized(text, language)


def amount(value: float, entry: HappyFollowerConfigEntry, language: Language) -> str:
    unit = credit_unit(entry)
    known = _UNITS.get(unit.strip().casefold())
    return f"{number(value, language)} {known[language] if known else isolated(unit, 16)}"


def language_of(hass_language: str) -> Language:
    """Persian for Home Assistant's Persian, else English (the integration's two)."""
    return "fa" if hass_language.split("-", maxsplit=1)[0] == "fa" else "en"
