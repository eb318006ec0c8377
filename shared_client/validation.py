"""The input policy shared by the client, the CLI, Home Assistant and the MCP server.

Everything that would spend credit or address an order is checked here, before
anything is sent. Persian (۰-۹) and Arabic-Indic (٠-٩) digits are accepted, since
users of an Iranian service type them. ``display_text`` neutralises text from the
vendor or a language model before a person sees it.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from yarl import URL

from .errors import HappyFollowerInputError

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
MAX_LINK_LENGTH = 2048
MAX_WHOLE_NUMBER = 2**31 - 1  # ids and counts; larger ones are mistakes or attacks
# Links go to these hosts and their subdomains (www., m.) unless the operator allows more.
DEFAULT_LINK_HOSTS: tuple[str, ...] = ("instagram.com", "instagr.am")
# Control, format (bidi overrides, zero-width), private-use and unassigned characters,
# and line or paragraph separators: invisible or misleading when shown to a person.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_WHITESPACE = re.compile(r"\s+")
_HOST_NAME = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")  # in IDNA form, with at least one dot


def to_ascii_digits(text: str) -> str:
    """Return text with Persian and Arabic-Indic digits replaced by ASCII ones."""
    return text.translate(_DIGITS)


def display_text(value: object, max_length: int = 80) -> str:
    """``value`` as text that is safe to show a person: hidden characters removed, every run
    of whitespace (newlines included) one space, shortened to ``max_length`` with "…".

    For vendor text (service names, status titles, messages) and model text alike: it can
    neither draw extra lines into a confirmation nor reorder what is shown around it.
    """
    # Whitespace (newlines, tabs) becomes spaces before hidden characters go, so that words
    # stay apart; a removed zero-width character may leave two spaces, hence the second pass.
    spaced = _WHITESPACE.sub(" ", str(value))
    visible = "".join(
        char for char in spaced if unicodedata.category(char) not in _HIDDEN_CATEGORIES
    )
    flat = _WHITESPACE.sub(" ", visible).strip()
    if len(flat) > max_length:
        flat = flat[: max_length - 1].rstrip() + "…"
    return flat


def positive_int(value: object, field: str, most: int = MAX_WHOLE_NUMBER) -> int:
    """Return value as a whole number from 1 to ``most``, or raise HappyFollowerInputError.

    Accepts ints, whole floats and digit strings (Persian digits too); refuses booleans
    (JSON ``true`` is not a count), fractions and anything else.
    """
    if isinstance(value, bool):
        raise HappyFollowerInputError(
            f"{field} must be a whole number, not true or false", field=field
        )
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = to_ascii_digits(value.strip())
        if 0 < len(text) <= 10 and text.isascii() and text.isdigit():
            number = int(text)
    if number is None or not 0 < number <= most:
        raise HappyFollowerInputError(
            f"{field} must be a whole number from 1 to {most}, got {display_text(repr(value), 40)}",
            field=field,
        )
    return number


def parse_unit_prices(text: str) -> dict[int, float]:
    """The operator's prices per unit, ``"10=0.5, 20=1.2"`` (pairs separated by commas or
    new lines; Persian digits too), or raise HappyFollowerInputError."""
    prices: dict[int, float] = {}
    for item in filter(None, (part.strip() for part in re.split(r"[,\n]", text))):
        service, _, price = item.partition("=")  # no "=": the price is "", not a number
        try:
            service_id = positive_int(service, "service id")
            amount = float(to_ascii_digits(price.strip()))
        except ValueError:  # HappyFollowerInputError is one too; the message says it all
            raise HappyFollowerInputError(
                "unit prices must be service=price pairs separated by commas or new lines "
                f"(e.g. 10=0.5, 20=1.2), got {display_text(item, 40)!r}"
            ) from None
        if not math.isfinite(amount) or amount <= 0:
            raise HappyFollowerInputError(
                f"the price of service {service_id} must be a finite number above 0, "
                f"got {display_text(price.strip(), 20)!r}"
            )
        prices[service_id] = amount
    return prices


def _link_problem(text: str, hosts: Collection[str] | None) -> str | None:
    """What is wrong with the link, or None."""
    if len(text) > MAX_LINK_LENGTH:
        return f"is longer than {MAX_LINK_LENGTH} characters"
    if not text.isascii() or not text.isprintable() or " " in text:
        return "may hold only visible ASCII characters (no spaces, no hidden characters)"
    try:
        url = URL(text)
    except ValueError:
        return "is not a valid web address"
    host = (url.raw_host or "").lower().rstrip(".")
    rules = (
        (
            url.scheme in ("http", "https") and bool(host),
            "must start with https:// (or http://) and a host name",
        ),
        (
            url.raw_user is None and url.raw_password is None,
            "must not contain a user name or password",
        ),
        (url.explicit_port is None, "must not name a port"),
        (
            hosts is None or any(host == h or host.endswith(f".{h}") for h in hosts),
            f"must be on {' or '.join(hosts or ())} (the operator can allow more hosts)",
        ),
        ("." in host, "has no valid host name"),
    )
    return next((problem for holds, problem in rules if not holds), None)


def instagram_link(value: object, hosts: Collection[str] | None = DEFAULT_LINK_HOSTS) -> str:
    """Return value (stripped) as a link to one of ``hosts`` or their subdomains, exactly as
    it will be sent; raise HappyFollowerInputError otherwise.

    ``hosts`` are compared with the link's host in its IDNA (ASCII) form, so lookalike
    Unicode hosts never match; ``None`` allows any host (the raw client's shape check).
    """
    if not isinstance(value, str) or not value.strip():
        raise HappyFollowerInputError(
            "link must be the address of an Instagram page or post", field="link"
        )
    text = value.strip()
    allowed = None if hosts is None else tuple(normalise_host(host) for host in hosts)
    problem = _link_problem(text, allowed)
    if problem:
        raise HappyFollowerInputError(
            f"link {problem}: give the full address, e.g. https://www.instagram.com/yourpage",
            field="link",
        )
    return text


def normalise_host(host: str) -> str:
    """A host name as links are compared with it: lower case, IDNA (ASCII) form. Anything
    a link's host could never be (a path, a port, a space, no dot) is refused, so that an
    operator's typo is not an allowed host that silently matches nothing."""
    text = host.strip().lower().rstrip(".")
    try:
        name = text.encode("idna").decode("ascii")
    except UnicodeError:
        name = ""
    if not _HOST_NAME.fullmatch(name):
        raise HappyFollowerInputError(f"{display_text(host, 60)!r} is not a host name")
    return name


type TargetKind = Literal["profile", "post", "reel", "story", "link"]
_MEDIA_PATHS: dict[str, TargetKind] = {"p": "post", "tv": "post", "reel": "reel", "reels": "reel"}
# Instagram's own pages, which a one-segment path would otherwise take for a handle.
_NOT_HANDLES = frozenset({"explore", "accounts", "direct", "about", "legal", "stories"})


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What an order's link points at, for a person to recognise the order."""

    kind: TargetKind
    text: str  # display-safe: "@handle" for a profile or story, the code of a post or reel


def link_target(link: str | None, max_length: int = 40) -> LinkTarget:
    """The profile, post, reel or story an Instagram link points at; else the link itself
    (kind "link"), shortened. One reading for Home Assistant's names and the MCP App."""
    try:
        url = URL((link or "").strip())
        host = (url.raw_host or "").lower().removeprefix("www.")
    except ValueError:
        return LinkTarget("link", display_text(link or "?", max_length))
    segments = [segment for segment in url.path.split("/") if segment]
    if any(host == known or host.endswith(f".{known}") for known in DEFAULT_LINK_HOSTS):
        # /p/CODE/ and /handle/p/CODE/: Instagram links posts both ways.
        for media, code in itertools.pairwise(segments[:3]):
            if media in _MEDIA_PATHS:
                return LinkTarget(_MEDIA_PATHS[media], display_text(code, max_length))
        if len(segments) >= 2 and segments[0] == "stories" and segments[1] != "highlights":
            return LinkTarget("story", "@" + display_text(segments[1], max_length - 1))
        if len(segments) == 1 and segments[0].lower() not in _NOT_HANDLES:
            return LinkTarget("profile", "@" + display_text(segments[0], max_length - 1))
    return LinkTarget("link", display_text(f"{host}{url.path}" or (link or "?"), max_length))


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


def validate_order(
    service_id: object,
    link: object,
    count: object,
    *,
    link_hosts: Collection[str] | None = DEFAULT_LINK_HOSTS,
) -> OrderRequest:
    """Validate the three inputs of an order; raises HappyFollowerInputError."""
    return OrderRequest(
        service_id=positive_int(service_id, "service_id"),
        link=instagram_link(link, link_hosts),
        count=positive_int(count, "count"),
    )
