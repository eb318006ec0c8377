"""The input policy shared by the client, the CLI, Home Assistant and the MCP server.

Everything that would spend credit or address an order is checked here, before
anything is sent, and an order's link is written in one canonical spelling: an order is
what it targets, however its link was typed. Persian (۰-۹) and Arabic-Indic (٠-٩)
digits are accepted, since users of an Iranian service type them. ``display_text``
neutralises text from the vendor or a language model before a person sees it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from yarl import URL

from .errors import HappyFollowerInputError

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
MAX_LINK_LENGTH = 2048
MAX_WHOLE_NUMBER = 2**31 - 1  # ids and counts; larger ones are mistakes or attacks
MAX_AMOUNT = 10**12  # prices and spend caps, in the account's credit; the same
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


# Digit grouping as people type it: "1,000", and in Persian and Arabic text the thousands
# separator U+066C ("۱٬۰۰۰") or the Arabic comma U+060C ("۱،۰۰۰"); U+066B is the decimal
# separator of that script ("۲٫۵").
_GROUP_SEPARATORS = str.maketrans({"\u066c": ",", "\u060c": ",", "\u066b": "."})
# ASCII digits only ("\d" would take any script's digits), grouped in threes or not at all,
# so that a decimal comma ("1,5") is refused rather than read as 15.
_NUMERAL = re.compile(
    r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)


def to_number(value: object) -> int | float:
    """Turn an int, float or numeric string into an int when whole, else a float.

    Strings may use Persian (۰-۹) and Arabic-Indic (٠-٩) digits, and group thousands with
    "," U+066C or U+060C (only in groups of three); U+066B is a decimal point. Not a number,
    or not finite (nan, infinity, 1e309), raises ValueError.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        return value  # exact, however large (float() would overflow)
    if isinstance(value, str):
        text = to_ascii_digits(value.strip()).translate(_GROUP_SEPARATORS)
        if not _NUMERAL.fullmatch(text):
            if _is_infinite_or_nan(text):
                raise ValueError("not a finite number")
            raise ValueError("not a number")
        text = text.replace(",", "")
        try:
            return int(text)  # exact for whole numbers beyond a float's precision
        except ValueError:
            number = float(text)
    elif isinstance(value, float):
        number = value
    else:
        raise ValueError("not a number")
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return int(number) if number.is_integer() else number


def _is_infinite_or_nan(text: str) -> bool:
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def positive_amount(
    value: object, name: str, *, field: str | None = None, most: float = MAX_AMOUNT
) -> float:
    """Return value as an amount of credit above 0 and at most ``most`` (a price, a spend
    cap; Persian digits and digit grouping too), or raise HappyFollowerInputError."""
    try:
        number = to_number(value)
    except ValueError:
        number = 0  # refused below, with the value shown
    if number <= 0:
        raise HappyFollowerInputError(
            f"{name} must be a finite number above 0, got {display_text(repr(value), 40)}",
            field=field,
        )
    if number > most:  # compared exactly: an int too large for a float is refused here
        raise HappyFollowerInputError(
            f"{name} must be at most {most:,.0f}, got {display_text(repr(value), 40)}",
            field=field,
        )
    return float(number)


MAX_UNIT_LENGTH = 16
DEFAULT_CREDIT_UNIT = "Toman"  # Iranian panels price in Toman (no ISO 4217 code) or Rial


def credit_unit(value: object) -> str:
    """The unit the account's credit and costs are in, as a person typed it: 1 to 16
    visible characters (a Persian word's zero-width non-joiner allowed)."""
    text = str(value).strip()
    if not text or len(text) > MAX_UNIT_LENGTH or has_hidden_characters(text.replace("\u200c", "")):
        raise HappyFollowerInputError(
            f"the credit unit must be 1 to {MAX_UNIT_LENGTH} visible characters, such as "
            f"Toman or IRR; got {display_text(repr(value), 40)}",
            field="credit_unit",
        )
    return text


def has_hidden_characters(text: str) -> bool:
    """Whether text holds a control, format (bidi, zero-width) or other invisible character."""
    return any(unicodedata.category(char) in _HIDDEN_CATEGORIES for char in text)


def amount_text(value: float) -> str:
    """An amount (credit, cost, price, cap) as people read it: grouped in thousands, whole
    numbers without a decimal point, others as they are (to six places when exact); never
    in exponent notation (an account in rials counts in millions)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    # Exact, or Python's shortest exact spelling (a price is confirmed as it is shown).
    return text if float(text.replace(",", "")) == value else repr(value)


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
            float(to_ascii_digits(price.strip()))  # a number at all, or not a pair
        except ValueError:  # HappyFollowerInputError is one too; the message says it all
            raise HappyFollowerInputError(
                "unit prices must be service=price pairs separated by commas or new lines "
                f"(e.g. 10=0.5, 20=1.2), got {display_text(item, 40)!r}"
            ) from None
        prices[service_id] = positive_amount(price.strip(), f"the price of service {service_id}")
    return prices


# Instagram's website answers at these hosts; a link to any of them is written with the first.
_INSTAGRAM_SITE = frozenset(
    {"www.instagram.com", "instagram.com", "m.instagram.com", "instagr.am", "www.instagr.am"}
)
_INSTAGRAM = "https://www.instagram.com"
type TargetKind = Literal["profile", "post", "reel", "story", "link"]
# /p/CODE, /tv/CODE (IGTV, now a post), /reel/CODE, /reels/CODE: the spelling of each kind.
_MEDIA_PATHS: dict[str, tuple[TargetKind, str]] = {
    "p": ("post", "p"),
    "tv": ("post", "p"),
    "reel": ("reel", "reel"),
    "reels": ("reel", "reel"),
}
# Instagram's own pages: never what an order is for (a follower order to /explore/ is a
# mistake), so a link to one is refused. A one-segment path is otherwise a handle.
_NOT_TARGETS = frozenset({"explore", "accounts", "direct", "about", "legal"})
_NOT_HANDLES = _NOT_TARGETS | {"stories", *_MEDIA_PATHS}
_AUTHORITY = re.compile(r"[a-z][a-z0-9+.-]*://([^/?#]*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Reading:
    """What a link says, read once: for validation, its canonical form and its target."""

    url: URL
    host: str  # lower case, without a trailing dot
    kind: TargetKind
    name: str  # the handle (profile, story) or the code (post, reel) as written; "" otherwise
    path: str  # the canonical path, percent-encoded as it is sent
    link: str  # the canonical link

    @property
    def own_page(self) -> bool:
        """A page of Instagram's own (/explore/, /accounts/...), never an order's target."""
        # On Instagram's site the canonical path starts with "/": its first segment follows.
        return self.host in _INSTAGRAM_SITE and self.path.split("/")[1].lower() in _NOT_TARGETS

    @property
    def identity(self) -> str:
        """The target: the canonical link, but a reel's media under /p/ as any other post's.

        Instagram serves one media under /p/CODE/ and /reel/CODE/ alike (one shortcode, one
        like count), so both spellings name one target; the link keeps the kind the person
        chose, since a reel's services may expect /reel/ and a photo has no /reel/ page.
        """
        if self.kind == "reel":
            return f"{_INSTAGRAM}/p/{self.name}/"
        return self.link


def _read(text: str) -> _Reading | None:
    """The one reading of a link's text (None: not a web address at all). It never refuses:
    ``_link_problem`` decides what is acceptable, ``link_target`` shows whatever was read."""
    try:
        url = URL(text)
    except ValueError:
        return None
    host = (url.raw_host or "").lower().rstrip(".")
    if host in _INSTAGRAM_SITE and url.scheme in ("http", "https"):
        kind, name, parts = _instagram_target([part for part in url.raw_path.split("/") if part])
        path = "".join(f"/{part}" for part in parts) + "/"
        return _Reading(url, host, kind, name, path, _INSTAGRAM + path)
    # Another host: only what is the same for every web address (scheme and host in lower
    # case, no trailing dot, no fragment); its path and query mean what its owner decides.
    port = "" if url.explicit_port is None else f":{url.explicit_port}"
    query = f"?{url.raw_query_string}" if url.raw_query_string else ""
    link = f"{url.scheme}://{host}{port}{url.raw_path}{query}"
    return _Reading(url, host, "link", "", url.raw_path, link)


def _instagram_target(parts: list[str]) -> tuple[TargetKind, str, tuple[str, ...]]:
    """The target of a path on Instagram's website: its kind, its name and the segments of
    its canonical path. Handles are lower-cased (Instagram's are case-insensitive); codes
    keep their case (a shortcode is case-sensitive). Share parameters and fragments are not
    part of any target: the caller drops the query."""
    words = [part.lower() for part in parts]
    media = _MEDIA_PATHS.get(words[-2]) if len(parts) in (2, 3) else None
    # /p/CODE/ and /handle/p/CODE/: Instagram links a post both ways.
    if media and (len(parts) == 2 or words[0] not in _NOT_HANDLES):
        return media[0], parts[-1], (media[1], parts[-1])
    if len(parts) in (2, 3) and words[0] == "stories" and words[1] != "highlights":
        return "story", words[1], ("stories", words[1], *parts[2:])
    if len(parts) == 1 and words[0] not in _NOT_HANDLES:
        return "profile", words[0], (words[0],)
    return "link", "", tuple(parts)


def _link_problem(text: str, reading: _Reading | None, hosts: Collection[str] | None) -> str | None:
    """What is wrong with the link, or None."""
    if len(text) > MAX_LINK_LENGTH:
        return f"is longer than {MAX_LINK_LENGTH} characters"
    if not text.isascii() or not text.isprintable() or " " in text:
        return "may hold only visible ASCII characters (no spaces, no hidden characters)"
    if reading is None:
        return "is not a valid web address"
    url, host = reading.url, reading.host
    typed = _AUTHORITY.match(text)  # as typed: yarl forgets an empty user name (https://@x/)
    authority = typed[1] if typed else ""
    rules = (
        (
            url.scheme in ("http", "https") and bool(host),
            "must start with https:// (or http://) and a host name",
        ),
        (
            url.raw_user is None and url.raw_password is None and "@" not in authority,
            "must not contain a user name or password",
        ),
        (url.explicit_port is None, "must not name a port"),
        (
            hosts is None or any(host == h or host.endswith(f".{h}") for h in hosts),
            f"must be on {' or '.join(hosts or ())} (the operator can allow more hosts)",
        ),
        ("." in host, "has no valid host name"),
        (
            not reading.own_page,
            "is one of Instagram's own pages, not a profile, post, reel or story",
        ),
        # What is sent is the canonical link: it keeps to the same bound.
        (len(reading.link) <= MAX_LINK_LENGTH, f"is longer than {MAX_LINK_LENGTH} characters"),
    )
    return next((problem for holds, problem in rules if not holds), None)


def _valid_reading(value: object, hosts: Collection[str] | None) -> _Reading:
    """The reading of a link that passes every rule, or HappyFollowerInputError."""
    if not isinstance(value, str) or not value.strip():
        raise HappyFollowerInputError(
            "link must be the address of an Instagram page or post", field="link"
        )
    text = value.strip()
    allowed = None if hosts is None else tuple(normalise_host(host) for host in hosts)
    reading = _read(text)
    problem = _link_problem(text, reading, allowed)
    if problem or reading is None:
        raise HappyFollowerInputError(
            f"link {problem}: give the full address, e.g. https://www.instagram.com/yourpage",
            field="link",
        )
    return reading


def instagram_link(value: object, hosts: Collection[str] | None = DEFAULT_LINK_HOSTS) -> str:
    """Return value as a link to one of ``hosts`` or their subdomains, in its canonical
    form (see ``canonical_link``): what a person confirms, the ledger records and the
    service receives. Raise HappyFollowerInputError for anything else.

    ``hosts`` are compared with the link's host in its IDNA (ASCII) form, so lookalike
    Unicode hosts never match; ``None`` allows any host (the raw client's shape check).
    """
    return _valid_reading(value, hosts).link


def canonical_link(link: str, hosts: Collection[str] | None = DEFAULT_LINK_HOSTS) -> str:
    """The one spelling of a valid link, for comparing links written at any time (ledger
    lines written before links were canonical included). Never raises: text that is no
    valid link for ``hosts`` comes back stripped and otherwise unchanged.

    On Instagram's website (instagram.com, www., m., instagr.am): https://www.instagram.com
    and the target's path with a trailing slash, no query (share parameters such as igsh or
    utm_source) and no fragment: a profile as /handle/ in lower case, a post as /p/CODE/
    (also for /tv/CODE and /handle/p/CODE), a reel as /reel/CODE/ (also for /reels/CODE and
    /handle/reel/CODE), a story as /stories/handle/ID/; codes keep their case. Another page
    of the site keeps its path. On any other host: the scheme and host in lower case, the
    host without a trailing dot, no fragment; the path and query as they are.
    """
    try:
        return _valid_reading(link, hosts).link
    except HappyFollowerInputError:
        return link.strip()


def target_identity(link: str, hosts: Collection[str] | None = DEFAULT_LINK_HOSTS) -> str:
    """What an order is for: equal for two links exactly when they name one target. It is
    ``canonical_link`` except that a reel is named as /p/CODE/, since Instagram serves one
    media under both. Never raises: other text comes back stripped and unchanged."""
    try:
        return _valid_reading(link, hosts).identity
    except HappyFollowerInputError:
        return link.strip()


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


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What an order's link points at, for a person to recognise the order."""

    kind: TargetKind
    text: str  # display-safe: "@handle" for a profile or story, the code of a post or reel


def link_target(link: str | None, max_length: int = 40) -> LinkTarget:
    """The profile, post, reel or story an Instagram link points at; else the link itself
    (kind "link"), shortened. One reading for Home Assistant's names and the MCP App, the
    same for every spelling of one link (it reads links as ``canonical_link`` does)."""
    reading = _read((link or "").strip())
    if reading is None:
        return LinkTarget("link", display_text(link or "?", max_length))
    name = unquote(reading.name)
    if reading.kind in ("profile", "story"):
        return LinkTarget(reading.kind, "@" + display_text(name, max_length - 1))
    if reading.kind != "link":
        return LinkTarget(reading.kind, display_text(name, max_length))
    shown = f"{reading.host.removeprefix('www.')}{unquote(reading.path)}"
    return LinkTarget("link", display_text(shown or link or "?", max_length))


def switch(value: str, name: str) -> bool:
    """Read an on/off setting (1/true/yes/on, 0/false/no/off or empty), or raise."""
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise HappyFollowerInputError(f"{name} must be true or false, got {value!r}")


def policy_reason(message: str, subject: str | None = None) -> str:
    """A validation library's message (pydantic's, around this policy's errors) in the
    policy's words, for a front-end that names the field itself: without "Value error, ",
    "Input should be" said "must be", and without the ``subject`` a shared rule puts first
    (as ``count`` or ``unit prices``; either spelling of a snake_case name)."""
    reason = message.removeprefix("Value error, ").replace("Input should be", "must be")
    if subject is not None:
        for name in dict.fromkeys((subject, subject.replace("_", " "))):
            reason = reason.removeprefix(f"{name} ")
    return reason


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order, ready to send: its link is canonical (``canonical_link``), the one
    spelling a person confirms, the ledger records and the service receives."""

    service_id: int
    link: str
    count: int

    @property
    def target_identity(self) -> str:
        """What the order is for, the same for every spelling of its target: compare it with
        ``target_identity(line.link, None)`` of a ledger line to find the same order."""
        return target_identity(self.link, None)


def validate_order(
    service_id: object,
    link: object,
    count: object,
    *,
    link_hosts: Collection[str] | None = DEFAULT_LINK_HOSTS,
) -> OrderRequest:
    """Validate the three inputs of an order, its link made canonical; raises
    HappyFollowerInputError."""
    return OrderRequest(
        service_id=positive_int(service_id, "service_id"),
        link=instagram_link(link, link_hosts),
        count=positive_int(count, "count"),
    )
