"""Input validation shared by the client, the CLI, Home Assistant and the MCP server.

Everything that would spend credit or address an order is checked here, before
anything is sent. Persian (۰-۹) and Arabic-Indic (٠-٩) digits are accepted, since
users of an Iranian service type them.
"""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

from .errors import HappyFollowerInputError

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
MAX_LINK_LENGTH = 2048


def to_ascii_digits(text: str) -> str:
    """Return text with Persian and Arabic-Indic digits replaced by ASCII ones."""
    return text.translate(_DIGITS)


def positive_int(value: object, field: str) -> int:
    """Return value as a positive whole number, or raise HappyFollowerInputError."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = to_ascii_digits(value.strip())
        if text.isascii() and text.isdigit():
            number = int(text)
    if number is None or number <= 0:
        raise HappyFollowerInputError(f"{field} must be a positive whole number, got {value!r}")
    return number


def instagram_link(value: object) -> str:
    """Return value as an absolute http(s) URL, or raise HappyFollowerInputError."""
    if not isinstance(value, str) or not value.strip():
        raise HappyFollowerInputError("link must be the address of an Instagram page or post")
    text = value.strip()
    problem = None
    if len(text) > MAX_LINK_LENGTH:
        problem = f"is longer than {MAX_LINK_LENGTH} characters"
    elif any(char.isspace() for char in text):
        problem = "contains spaces"
    else:
        try:
            url = URL(text)
        except ValueError:
            url = None
        if url is None or url.scheme not in ("http", "https"):
            problem = "must start with https:// (or http://)"
        elif not url.host or "." not in url.host:
            problem = "has no valid host name"
    if problem:
        raise HappyFollowerInputError(
            f"link {problem}: give the full address, e.g. https://www.instagram.com/yourpage"
        )
    return text


def switch(value: str, name: str) -> bool:
    """Read an on/off setting (1/true/yes/on, 0/false/no/off or empty), or raise."""
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise HappyFollowerInputError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order, ready to send."""

    service_id: int
    link: str
    count: int


def validate_order(service_id: object, link: object, count: object) -> OrderRequest:
    """Validate the three inputs of an order; raises HappyFollowerInputError."""
    return OrderRequest(
        service_id=positive_int(service_id, "service_id"),
        link=instagram_link(link),
        count=positive_int(count, "count"),
    )
