"""Input is checked before anything is sent; Persian and Arabic-Indic digits are accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared_client import (
    HappyFollowerClient,
    HappyFollowerInputError,
    HappyFollowerOrderOutcomeUnknownError,
)
from shared_client.guard import SpendCaps, SpendGuard
from shared_client.ledger import Ledger
from shared_client.simulator import Fault, Simulator
from shared_client.validation import (
    DEFAULT_LINK_HOSTS,
    MAX_LINK_LENGTH,
    MAX_WHOLE_NUMBER,
    LinkTarget,
    canonical_link,
    display_text,
    instagram_link,
    link_target,
    normalise_host,
    parse_unit_prices,
    policy_reason,
    positive_int,
    switch,
    target_identity,
    to_ascii_digits,
    validate_order,
)

LINK = "https://www.instagram.com/mehdifeizi"
SENT = "https://www.instagram.com/mehdifeizi/"  # LINK in its canonical form
BAD_NUMBERS: list[Any] = [
    0,
    -1,
    -(10**12),
    True,
    False,
    1.5,
    -2.0,
    0.0,
    float("nan"),
    float("inf"),
    "",
    "  ",
    "-5",
    "+5",
    "1.5",
    "1e3",
    "12a",
    "²",  # a digit to str.isdigit(), not a number
    "۰",
    None,
    [1],
    {"id": 1},
    b"12",
]
BAD_LINKS: list[Any] = [
    "",
    "   ",
    None,
    42,
    "instagram.com/mehdifeizi",
    "www.instagram.com/mehdifeizi",
    "ftp://www.instagram.com/mehdifeizi",
    "javascript:alert(1)",
    "https://",
    "https://localhost/mehdifeizi",
    "https://www.instagram.com/mehdi feizi",
    "https://www.instagram.com/mehdi\nfeizi",
    "https://www.instagram.com/" + "a" * 2048,
]
GOOD_NUMBERS: list[tuple[Any, int]] = [
    (1, 1),
    (100, 100),
    ("100", 100),
    (" 42 ", 42),
    ("۱۰۰", 100),  # Persian
    ("١٠٠", 100),  # Arabic-Indic
    ("۱0٠", 100),  # mixed
    (10.0, 10),
]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_positive_int_refuses(value: Any) -> None:
    with pytest.raises(HappyFollowerInputError, match="count must be a whole number") as caught:
        positive_int(value, "count")
    assert caught.value.field == "count"


@pytest.mark.parametrize(("value", "expected"), GOOD_NUMBERS, ids=repr)
def test_positive_int_accepts(value: Any, expected: int) -> None:
    number = positive_int(value, "count")
    assert number == expected
    assert type(number) is int


@pytest.mark.parametrize("value", BAD_LINKS, ids=repr)
def test_instagram_link_refuses(value: Any) -> None:
    with pytest.raises(HappyFollowerInputError, match="link"):
        instagram_link(value)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (LINK, SENT),
        ("http://instagram.com/p/Cx1/", "https://www.instagram.com/p/Cx1/"),
        ("https://www.instagram.com/reel/abc/?igsh=x", "https://www.instagram.com/reel/abc/"),
    ],
)
def test_instagram_link_accepts(value: str, canonical: str) -> None:
    assert instagram_link(f" {value} ") == canonical


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
async def test_bad_numbers_send_nothing(
    simulator: Simulator, client: HappyFollowerClient, value: Any
) -> None:
    with pytest.raises(HappyFollowerInputError, match="service_id"):
        await client.place_order(service_id=value, link=LINK, count=100)
    with pytest.raises(HappyFollowerInputError, match="count"):
        await client.place_order(service_id=10, link=LINK, count=value)
    for method in (client.get_order_status, client.cancel_order, client.recheck_order):
        with pytest.raises(HappyFollowerInputError, match="order_id"):
            await method(value)
    assert simulator.requests == []


@pytest.mark.parametrize("value", BAD_LINKS, ids=repr)
async def test_bad_links_send_nothing(
    simulator: Simulator, client: HappyFollowerClient, value: Any
) -> None:
    with pytest.raises(HappyFollowerInputError, match="link"):
        await client.place_order(service_id=10, link=value, count=100)
    assert simulator.requests == []


async def test_sandbox_refusal_comes_after_validation(
    simulator: Simulator, sandbox_client: HappyFollowerClient
) -> None:
    with pytest.raises(HappyFollowerInputError):
        await sandbox_client.cancel_order(0)
    assert simulator.requests == []


async def test_persian_digits_reach_the_wire_as_ascii(
    simulator: Simulator, api_key: str, client: HappyFollowerClient
) -> None:
    service_id: Any = "۱۰"
    count: Any = "١٠٠"
    order_id = await client.place_order(service_id=service_id, link=f" {LINK} ", count=count)
    persian_id: Any = "۱"
    status = await client.get_order_status(persian_id)
    await client.recheck_order(persian_id)
    await client.cancel_order(persian_id)

    assert order_id == 1
    assert status.count == 100
    order, status_request = (r for r in simulator.requests if r.endpoint in ("order", "status"))
    assert order.form == {"serviceId": "10", "link": SENT, "count": "100"}
    assert status_request.path.endswith("/status/1/")
    assert [r.form for r in simulator.requests if r.endpoint in ("cancel", "recheck")] == [
        {"orderId": "1"},
        {"orderId": "1"},
    ]


def test_validate_order_returns_clean_values() -> None:
    order = validate_order("۲۰", f"  {LINK}\t", 50.0)
    assert (order.service_id, order.link, order.count) == (20, SENT, 50)


@pytest.mark.parametrize("key", ["", "   ", None, 123])
def test_client_needs_an_api_key(key: Any) -> None:
    with pytest.raises(HappyFollowerInputError, match="API key"):
        HappyFollowerClient(key)


@pytest.mark.parametrize("url", ["ftp://example.com/api", "not a url", "http://", "/api/v1"])
def test_client_needs_an_http_base_url(url: str) -> None:
    with pytest.raises(HappyFollowerInputError, match="base_url"):
        HappyFollowerClient("key", base_url=url)


# --- the input policy of the spend guard: hosts, hidden characters, numbers, display text ---

LOOKALIKE_AND_FOREIGN_LINKS: list[str] = [
    "https://www.instagram.com.evil.example/mehdifeizi",  # the allowed name as a subdomain
    "https://evilinstagram.com/mehdifeizi",  # a suffix without the dot
    "https://instagram.co/mehdifeizi",
    "https://instagram.com.ir/mehdifeizi",
    "https://xn--nstagram-d3a.com/mehdifeizi",  # IDNA of a lookalike: ASCII, still refused
    "https://іnstagram.com/mehdifeizi",  # Cyrillic і
    "https://instаgram.com/mehdifeizi",  # Cyrillic а
    "https://ｉｎｓｔａｇｒａｍ.com/mehdifeizi",  # fullwidth
    "https://127.0.0.1/mehdifeizi",
    "https://[::1]/mehdifeizi",
    "https://2130706433/mehdifeizi",
    "https://example.com/instagram.com",
    "https://instagram.com\\@evil.example/",
]
CREDENTIAL_AND_PORT_LINKS: list[tuple[str, str]] = [
    ("https://user:pass@www.instagram.com/x", "user name or password"),
    ("https://user@www.instagram.com/x", "user name or password"),
    ("https://:pass@www.instagram.com/x", "user name or password"),
    ("https://www.instagram.com@evil.example/x", "user name or password"),
    ("https://www.instagram.com:8443/x", "must not name a port"),
    ("https://www.instagram.com:443/x", "must not name a port"),
    ("http://instagram.com:80/x", "must not name a port"),
    # An empty user name or password is still one: the link is not what it seems.
    ("https://@www.instagram.com/p/X/", "user name or password"),
    ("https://:@www.instagram.com/p/X/", "user name or password"),
    ("https://@:@www.instagram.com/p/X/", "user name or password"),
    ("HTTPS://@instagram.com/x", "user name or password"),
]
HIDDEN_CHARACTERS = [
    "\x00",  # NUL
    "\x7f",  # DEL
    "\t",
    "\r",
    "\n",
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "\u00a0",  # no-break space
    "\u2028",  # line separator
]


@pytest.mark.parametrize("value", LOOKALIKE_AND_FOREIGN_LINKS)
def test_lookalike_and_foreign_hosts_are_refused(value: str) -> None:
    with pytest.raises(HappyFollowerInputError, match=r"^link "):
        instagram_link(value)


@pytest.mark.parametrize(("value", "reason"), CREDENTIAL_AND_PORT_LINKS)
def test_credentials_and_ports_are_refused(value: str, reason: str) -> None:
    with pytest.raises(HappyFollowerInputError, match=reason) as caught:
        instagram_link(value)
    assert "give the full address, e.g. https://www.instagram.com/yourpage" in str(caught.value)


@pytest.mark.parametrize("char", HIDDEN_CHARACTERS, ids=repr)
@pytest.mark.parametrize("where", ["path", "host", "end"])
def test_hidden_characters_in_links_are_refused(char: str, where: str) -> None:
    link = {
        "path": f"https://www.instagram.com/mehdi{char}feizi",
        "host": f"https://www.insta{char}gram.com/mehdifeizi",
        "end": f"https://www.instagram.com/mehdifeizi{char}x",
    }[where]
    with pytest.raises(HappyFollowerInputError, match=r"^link "):
        instagram_link(link)
    with pytest.raises(HappyFollowerInputError):
        validate_order(10, link, 100, link_hosts=None)


def test_link_problems_say_what_is_wrong() -> None:
    cases = {
        "https://www.instagram.com/" + "a" * 2048: "is longer than 2048 characters",
        "https://www.instagram.com/a b": "may hold only visible ASCII characters",
        "https://www.instagram.com/\u200b": "may hold only visible ASCII characters",
        "ftp://www.instagram.com/x": "must start with https:// (or http://) and a host name",
        "https:///x": "must start with https://",
        "https://evil.example/x": "must be on instagram.com or instagr.am (the operator can allow",
        "http://[::1": "is not a valid web address",
    }
    for link, reason in cases.items():
        with pytest.raises(HappyFollowerInputError) as caught:
            instagram_link(link)
        assert str(caught.value).startswith(f"link {reason}"), (link, str(caught.value))


def test_the_longest_link_is_accepted() -> None:
    # The bound holds for the link as typed and for the canonical link that is sent.
    prefix = "https://www.instagram.com/"
    longest = prefix + "a" * (2048 - len(prefix) - 1) + "/"
    assert instagram_link(longest) == longest
    with pytest.raises(HappyFollowerInputError, match="longer than 2048"):
        instagram_link(longest.removesuffix("/") + "aa")
    # 2048 characters typed, 2049 once written with its trailing slash.
    with pytest.raises(HappyFollowerInputError, match="longer than 2048"):
        instagram_link(longest.removesuffix("/") + "a")


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("https://instagram.com/x", "https://www.instagram.com/x/"),
        ("https://www.instagram.com/x", "https://www.instagram.com/x/"),
        ("https://m.instagram.com/p?x=1#y", "https://www.instagram.com/p/"),
        ("https://instagr.am/p/x", "https://www.instagram.com/p/x/"),
        ("https://www.instagram.com./x", "https://www.instagram.com/x/"),  # the same host
        ("HTTPS://WWW.INSTAGRAM.COM/x", "https://www.instagram.com/x/"),
        ("http://instagram.com", "https://www.instagram.com/"),
    ],
)
def test_instagram_hosts_and_subdomains_are_accepted(value: str, canonical: str) -> None:
    assert instagram_link(value) == canonical
    assert validate_order(10, value, 100).link == canonical


def test_operator_hosts_are_compared_after_idna() -> None:
    hosts = ["Bücher.Example.", "instagram.com"]
    assert instagram_link("https://xn--bcher-kva.example/x", hosts) == (
        "https://xn--bcher-kva.example/x"
    )
    assert instagram_link("https://shop.XN--BCHER-KVA.example/x", hosts)
    with pytest.raises(HappyFollowerInputError, match="visible ASCII"):
        instagram_link("https://bücher.example/x", hosts)  # sent only in its ASCII form
    with pytest.raises(HappyFollowerInputError, match=r"must be on xn--bcher-kva\.example or"):
        instagram_link("https://buecher.example/x", hosts)


def test_any_host_when_hosts_is_none() -> None:
    assert instagram_link("https://example.org/x", None) == "https://example.org/x"
    with pytest.raises(HappyFollowerInputError, match="has no valid host name"):
        instagram_link("https://localhost/x", None)
    with pytest.raises(HappyFollowerInputError, match="user name"):
        instagram_link("https://a:b@example.org/x", None)


def test_the_default_hosts() -> None:
    assert DEFAULT_LINK_HOSTS == ("instagram.com", "instagr.am")
    assert MAX_LINK_LENGTH == 2048
    assert MAX_WHOLE_NUMBER == 2**31 - 1


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("instagram.com", "instagram.com"),
        (" Instagram.COM. ", "instagram.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_normalise_host(host: str, expected: str) -> None:
    assert normalise_host(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        "a..b",
        "." * 3 + "x",
        "x" * 64 + ".com",
        "",
        "localhost",  # links need a dot in their host: it would match nothing
        "exa mple.com",
        "instagram.com/",
        "instagram.com:443",
        "user@instagram.com",
        "*.instagram.com",
        "x_y.com",
    ],
)
def test_normalise_host_refuses(host: str) -> None:
    with pytest.raises(HappyFollowerInputError, match="is not a host name"):
        normalise_host(host)


@pytest.mark.parametrize(
    "value",
    [
        2**31,
        10**100,
        "2147483648",
        "99999999999",
        "00000000001",  # 11 characters
        1e20,
        float(2**31),
        -(2**31),
        0.5,
        1.000001,
        "1,000",
        "1 000",
        "٣.٥",
        "0x10",
        "1_000",
        "١٠\u200b",
    ],
    ids=repr,
)
def test_huge_and_odd_numbers_are_refused(value: Any) -> None:
    with pytest.raises(HappyFollowerInputError, match=r"^count must be a whole number from 1 to"):
        positive_int(value, "count")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2**31 - 1, 2**31 - 1), ("2147483647", 2**31 - 1), ("0000000001", 1), (1, 1)],
    ids=repr,
)
def test_largest_numbers_are_accepted(value: Any, expected: int) -> None:
    assert positive_int(value, "count") == expected


def test_number_refusal_shows_the_value_safely() -> None:
    with pytest.raises(HappyFollowerInputError) as caught:
        positive_int("1\n2\u202e" + "9" * 100, "order_id")
    message = str(caught.value)
    assert message.startswith("order_id must be a whole number from 1 to 2147483647, got '1")
    assert "\n" not in message
    assert "\u202e" not in message
    assert message.endswith("…")
    with pytest.raises(HappyFollowerInputError, match=r"whole number, not true or false$"):
        positive_int(True, "count")


def test_number_refusal_names_the_bound_it_was_given() -> None:
    assert positive_int("200", "limit", 200) == 200
    with pytest.raises(
        HappyFollowerInputError, match=r"^limit must be a whole number from 1 to 200, got 201$"
    ):
        positive_int(201, "limit", 200)


def test_to_ascii_digits() -> None:
    assert to_ascii_digits("۰۱۲۳۴۵۶۷۸۹ ٠١٢٣٤٥٦٧٨٩ x") == "0123456789 0123456789 x"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("a  b\u3000 c", "a b c"),
        ("  padded  ", "padded"),
        ("bidi\u202eevil\u202c", "bidievil"),
        ("zero\u200bwidth\u200d\ufeff", "zerowidth"),
        ("nul\x00del\x7f", "nuldel"),
        ("private\ue000use", "privateuse"),
        ("unassigned\u0378", "unassigned"),
        ("surrogate\ud800", "surrogate"),
        ("لایک ایرانی(سرعت متوسط)", "لایک ایرانی(سرعت متوسط)"),
        (123, "123"),
        (None, "None"),
    ],
    ids=repr,
)
def test_display_text(value: object, expected: str) -> None:
    assert display_text(value) == expected


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\t", "\u2028", "\u2029", "\x0b"], ids=repr)
def test_display_text_turns_newlines_into_spaces(separator: str) -> None:
    assert display_text(f"Likes{separator}Link: https://evil.example") == (
        "Likes Link: https://evil.example"
    )


def test_display_text_is_one_line_whatever_the_input() -> None:
    hostile = "Likes\nLink: https://evil\r\nCount: 1\u2028Cost: 0\u2029\x85end"
    shown = display_text(hostile, 200)
    assert not any(char in shown for char in "\n\r\u2028\u2029\x85")
    assert shown.startswith("Likes")
    assert shown.endswith("end")


def test_display_text_shortens() -> None:
    assert display_text("x" * 80) == "x" * 80
    assert display_text("x" * 81) == "x" * 79 + "…"
    assert len(display_text("y" * 500)) == 80
    assert display_text("abc def", 5) == "abc…"  # no space before the ellipsis
    assert display_text("a" * 10, max_length=3) == "aa…"


@pytest.mark.parametrize("word", ["1", "true", "yes", "on", " TRUE ", "Yes", "oN"])
def test_switch_on(word: str) -> None:
    assert switch(word, "SETTING") is True


@pytest.mark.parametrize("word", ["0", "false", "no", "off", "", "  ", "FALSE", "No"])
def test_switch_off(word: str) -> None:
    assert switch(word, "SETTING") is False


@pytest.mark.parametrize("word", ["2", "y", "n", "enable", "truee", "nan", "-1", "ja"])
def test_switch_refuses(word: str) -> None:
    with pytest.raises(HappyFollowerInputError) as caught:
        switch(word, "HAPPY_FOLLOWER_SANDBOX")
    assert str(caught.value) == f"HAPPY_FOLLOWER_SANDBOX must be true or false, got {word!r}"


@pytest.mark.parametrize("link", [*LOOKALIKE_AND_FOREIGN_LINKS[:4], LINK + "\u202e"])
async def test_guard_policy_links_send_nothing_through_the_client(
    simulator: Simulator, client: HappyFollowerClient, link: str
) -> None:
    """The raw client checks only the shape: hosts are the guard's policy, but hidden
    characters are refused everywhere."""
    if link.isascii():
        await client.place_order(service_id=10, link=link, count=100)
        assert [r.form["link"] for r in simulator.requests if r.endpoint == "order"] == [link]
    else:
        with pytest.raises(HappyFollowerInputError):
            await client.place_order(service_id=10, link=link, count=100)
        assert simulator.requests == []


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("http://[::1", LinkTarget("link", "http://[::1")),  # not a URL at all
        ("https://instagram.com/stories/bob", LinkTarget("story", "@bob")),
        # Only the first three segments are read for /p/, /reel/ ... (CODE or handle/p/CODE).
        ("https://instagram.com/a/b/p/CODE", LinkTarget("link", "instagram.com/a/b/p/CODE/")),
    ],
)
def test_link_target_edges(link: str, expected: LinkTarget) -> None:
    assert link_target(link) == expected


def test_link_target_shortens_every_kind_to_max_length() -> None:
    long = "a" * 100
    cases = {
        f"http://[{long}": "link",
        f"https://instagram.com/p/{long}": "post",
        f"https://instagram.com/stories/{long}/1": "story",
        f"https://instagram.com/{long}": "profile",
        f"https://example.org/{long}": "link",
    }
    for link, kind in cases.items():
        target = link_target(link)
        assert (target.kind, len(target.text)) == (kind, 40), link
        assert target.text.endswith("a…")
        assert len(link_target(link, max_length=12).text) == 12


@pytest.mark.parametrize(
    "url", ["http://user:hunter2@127.0.0.1:8787/api/v1", "https://hunter2@mirror.example/api"]
)
def test_client_refuses_a_base_url_with_credentials_without_echoing_them(url: str) -> None:
    with pytest.raises(HappyFollowerInputError, match="user name or password") as caught:
        HappyFollowerClient("key", base_url=url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("10=0.5", {10: 0.5}),
        ("10=0.5,20=1.2", {10: 0.5, 20: 1.2}),
        (" 10 = 2 ,\n۱۱ = ۳\n\n", {10: 2.0, 11: 3.0}),  # CLI commas, HA lines, Persian
        ("10=1,10=2", {10: 2.0}),  # the last one wins
    ],
)
def test_unit_prices_are_read_from_commas_or_lines(text: str, expected: dict[int, float]) -> None:
    assert parse_unit_prices(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10: 2", r"service=price pairs .* got '10: 2'$"),
        ("10", r"service=price pairs .* got '10'$"),
        ("x=2", r"got 'x=2'$"),
        ("0=2", r"got '0=2'$"),
        ("True=2", r"got 'True=2'$"),
        ("10=", r"got '10='$"),
        ("10=two", r"got '10=two'$"),
        ("10=nan", r"^the price of service 10 must be a finite number above 0, got 'nan'$"),
        ("10=inf", r"service 10 must be a finite number above 0"),
        ("10=-2", r"service 10 must be a finite number above 0"),
        ("10=0", r"service 10 must be a finite number above 0"),
        ("10=1" + "0" * 13, r"^the price of service 10 must be at most 1,000,000,000,000, got"),
        ("10=1\n\u202e11=2", r"got '11=2'$"),  # shown safely
    ],
)
def test_unit_prices_refuse(text: str, message: str) -> None:
    with pytest.raises(HappyFollowerInputError, match=message):
        parse_unit_prices(text)


def test_unit_price_refusals_say_what_to_write_and_show_the_input_short() -> None:
    with pytest.raises(HappyFollowerInputError) as bad_pair:
        parse_unit_prices("10=1, " + "x" * 60)
    assert str(bad_pair.value) == (
        "unit prices must be service=price pairs separated by commas or new lines "
        f"(e.g. 10=0.5, 20=1.2), got '{'x' * 39}…'"
    )
    with pytest.raises(HappyFollowerInputError) as bad_price:
        parse_unit_prices("10=-" + "1" * 30)
    assert str(bad_price.value) == (
        f"the price of service 10 must be a finite number above 0, got '-{'1' * 30}'"
    )


# --- an order is what it targets: one canonical link for every spelling of it -------------

PROFILE = "https://www.instagram.com/mehdi.feizi/"
POST = "https://www.instagram.com/p/DAbc123_-x/"
REEL = "https://www.instagram.com/reel/C0de_1/"
STORY = "https://www.instagram.com/stories/mehdi.feizi/3141592653/"
SPELLINGS: dict[str, list[str]] = {
    PROFILE: [
        PROFILE,
        "https://www.instagram.com/mehdi.feizi",
        "https://instagram.com/mehdi.feizi/",
        "http://www.instagram.com/mehdi.feizi",
        "https://m.instagram.com/mehdi.feizi/",
        "https://WWW.Instagram.COM/Mehdi.Feizi/",  # handles are case-insensitive
        "https://www.instagram.com./mehdi.feizi",
        "https://instagram.com./MEHDI.FEIZI",
        "HTTPS://instagr.am/mehdi.feizi",
        "https://www.instagr.am/mehdi.feizi",
        "https://www.instagram.com/mehdi.feizi/?igsh=MWZ0bHd4cXd1",
        "https://www.instagram.com/mehdi.feizi?utm_source=qr&igshid=NGExMmI2YTkyZg==",
        "https://www.instagram.com/mehdi.feizi/#posts",
        "https://www.instagram.com/mehdi.feizi?",
        "https://www.instagram.com//mehdi.feizi//",
        "  https://www.instagram.com/mehdi.feizi  ",
    ],
    POST: [
        POST,
        "https://www.instagram.com/p/DAbc123_-x",
        "https://instagram.com/p/DAbc123_-x/?igsh=abc&img_index=2",
        "http://m.instagram.com/p/DAbc123_-x",
        "https://www.instagram.com/tv/DAbc123_-x/",  # IGTV links are posts now
        "https://www.instagram.com/mehdi.feizi/p/DAbc123_-x/",
        "https://www.instagram.com/Mehdi.Feizi/p/DAbc123_-x/?utm_source=ig_web_copy_link",
        "https://instagr.am/p/DAbc123_-x",
        "https://WWW.INSTAGRAM.COM./p/DAbc123_-x/#comments",
    ],
    REEL: [
        REEL,
        "https://www.instagram.com/reel/C0de_1",
        "https://www.instagram.com/reels/C0de_1/",
        "https://instagram.com/reel/C0de_1/?igsh=MTc4MmM1YmI2Ng==",
        "https://www.instagram.com/mehdi.feizi/reel/C0de_1/",
        "http://m.instagram.com/reels/C0de_1?utm_source=ig_web_button_share_sheet",
    ],
    STORY: [
        STORY,
        "https://instagram.com/stories/Mehdi.Feizi/3141592653?utm_source=ig_story_item_share",
        "http://m.instagram.com/stories/mehdi.feizi/3141592653#x",
    ],
}
ALL_SPELLINGS = [(canonical, link) for canonical, links in SPELLINGS.items() for link in links]


@pytest.mark.parametrize(("canonical", "link"), ALL_SPELLINGS)
def test_every_spelling_of_a_target_is_one_link(canonical: str, link: str) -> None:
    assert instagram_link(link) == canonical
    assert canonical_link(link) == canonical
    assert validate_order(10, link, 100).link == canonical
    # The raw client checks the guard's order again: it sends the very same link.
    assert instagram_link(canonical, None) == canonical
    assert canonical_link(canonical) == canonical


def test_a_reel_and_a_post_of_one_code_are_one_target() -> None:
    """Instagram serves one media under /p/CODE/ and /reel/CODE/: one target, whichever
    spelling it was ordered by. The link keeps the kind the person gave."""
    reel, post = "https://instagram.com/reels/C0de_1?igsh=1", "https://www.instagram.com/p/C0de_1"
    assert (canonical_link(reel), canonical_link(post)) == (
        REEL,
        "https://www.instagram.com/p/C0de_1/",
    )
    assert target_identity(reel) == target_identity(post) == "https://www.instagram.com/p/C0de_1/"
    assert (
        validate_order(10, reel, 5).target_identity == validate_order(10, post, 5).target_identity
    )
    for canonical, link in ALL_SPELLINGS:
        assert target_identity(link) == target_identity(canonical)
        assert validate_order(10, link, 5).target_identity == target_identity(canonical)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://www.instagram.com/p/AbC/", "https://www.instagram.com/p/abc/"),  # codes: case
        ("https://www.instagram.com/reel/AbC/", "https://www.instagram.com/p/abc/"),
        ("https://www.instagram.com/mehdi/", "https://www.instagram.com/mehdi/p/X1/"),
        ("https://www.instagram.com/mehdi/", "https://www.instagram.com/stories/mehdi/"),
        (
            "https://www.instagram.com/stories/mehdi/1/",
            "https://www.instagram.com/stories/mehdi/2/",
        ),
        ("https://www.instagram.com/mehdi/", "https://www.instagram.com/mehdi_/"),
        ("https://www.instagram.com/p/X1/", "https://www.instagram.com/p/X1/c/17/"),  # a comment
    ],
)
def test_different_targets_stay_different(one: str, other: str) -> None:
    assert canonical_link(one) != canonical_link(other)
    assert target_identity(one) != target_identity(other)


def test_a_lookalike_host_is_never_instagram() -> None:
    lookalike = "https://WWW.Instagram.COM.evil.example/Mehdi/?igsh=1#x"
    with pytest.raises(HappyFollowerInputError, match=r"must be on instagram\.com"):
        instagram_link(lookalike)
    assert canonical_link(lookalike) == lookalike  # unreadable for these hosts: unchanged
    # Any host allowed (the raw client): only what is the same for every web address.
    assert instagram_link(lookalike, None) == "https://www.instagram.com.evil.example/Mehdi/?igsh=1"
    assert link_target(lookalike).kind == "link"


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        # The scheme, the path and the query are the host's: only their spelling of the
        # host (case, trailing dot) and the fragment, which is never sent, change.
        (
            "https://Shop.Example.COM./Path/X?Q=1&igsh=2#frag",
            "https://shop.example.com/Path/X?Q=1&igsh=2",
        ),
        ("http://example.com/a", "http://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),  # the same address
        ("https://help.instagram.com/123?x=1#y", "https://help.instagram.com/123?x=1"),
    ],
)
def test_other_hosts_keep_their_path_query_and_scheme(link: str, canonical: str) -> None:
    hosts = ["example.com", "instagram.com"]
    assert instagram_link(link, hosts) == canonical
    assert canonical_link(link, hosts) == canonical
    assert canonical_link(canonical, hosts) == canonical
    assert instagram_link(canonical, None) == canonical


@pytest.mark.parametrize(
    "link",
    [
        "https://www.instagram.com/explore/",
        "https://instagram.com/explore/tags/x/",
        "https://www.instagram.com/EXPLORE",
        "https://www.instagram.com/accounts/login/?next=/mehdi/",
        "https://m.instagram.com/direct/inbox/",
        "https://www.instagram.com/about/",
        "https://www.instagram.com/legal/privacy/",
    ],
)
def test_instagrams_own_pages_are_refused(link: str) -> None:
    with pytest.raises(HappyFollowerInputError, match="is one of Instagram's own pages"):
        instagram_link(link)
    with pytest.raises(HappyFollowerInputError, match="is one of Instagram's own pages"):
        validate_order(10, link, 100, link_hosts=None)
    assert canonical_link(link) == link  # an old ledger line: unchanged, never an error


@pytest.mark.parametrize(
    "link",
    [
        "https://www.instagram.com/p/X/?igsh=\u200b",  # the query is dropped, not its checks
        "https://www.instagram.com/p/X/#\u202e",
        "https://www.instagram.com/p/X/?utm_source=a b",
        "https://www.instagram.com/p/X/?x=" + "a" * 2048,
    ],
)
def test_what_is_dropped_is_still_checked(link: str) -> None:
    with pytest.raises(HappyFollowerInputError, match=r"^link "):
        instagram_link(link)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  not a link  ",
        "http://[::1",
        "https://evil.example/x",
        "https://www.instagram.com/a\u202eb",
        "https://@www.instagram.com/p/X/",
        "https://www.instagram.com:8443/x",
        "javascript:alert(1)",
        "https://www.instagram.com/" + "a" * 3000,
    ],
)
def test_canonical_link_returns_what_it_cannot_read_stripped(text: str) -> None:
    assert canonical_link(f" {text}\n") == text.strip()
    assert target_identity(f" {text}\n") == text.strip()


async def test_the_client_sends_the_canonical_link(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    await client.place_order(
        service_id=10, link="HTTP://M.Instagram.com./MehdiFeizi?igsh=abc#top", count=100
    )
    assert [r.form["link"] for r in simulator.requests if r.endpoint == "order"] == [SENT]


async def test_the_client_sends_a_validated_order_as_it_is(
    simulator: Simulator, client: HappyFollowerClient
) -> None:
    """``send_order`` takes what the input policy (or the guard) produced and sends it as it
    is; ``place_order`` is the same with the validation in front, for the client alone."""
    order = validate_order("۱۰", f" {LINK} ", "۱۰۰")
    await client.send_order(order)
    await client.place_order(service_id="۱۰", link=f" {LINK} ", count="۱۰۰")
    sent = [r.form for r in simulator.requests if r.endpoint == "order"]
    assert sent == [{"serviceId": "10", "link": SENT, "count": "100"}] * 2


@pytest.mark.parametrize(
    ("message", "subject", "reason"),
    [
        # pydantic's wrapping of a shared rule's error, the rule naming its field first
        ("Value error, count must be a whole number", "count", "must be a whole number"),
        # a settings field, named with spaces by the shared rule
        ("Value error, unit prices must be pairs", "unit_prices", "must be pairs"),
        # pydantic's own wording
        ("Input should be a valid boolean", "read_only", "must be a valid boolean"),
        # no field: the message as a whole
        ("Value error, link is not a valid web address", None, "link is not a valid web address"),
        # another field's name is left alone
        ("Value error, link must be on instagram.com", "count", "link must be on instagram.com"),
    ],
)
def test_validation_messages_are_rewritten_one_way(
    message: str, subject: str | None, reason: str
) -> None:
    assert policy_reason(message, subject) == reason


async def test_the_same_order_spelled_otherwise_is_a_possible_duplicate(
    simulator: Simulator, client: HappyFollowerClient, tmp_path: Path
) -> None:
    """The bug this policy fixes: after an order whose outcome is unknown, the same order
    with its link spelled otherwise went out again without a duplicate warning."""
    guard = SpendGuard(client, Ledger(tmp_path / "orders.jsonl"), SpendCaps(), source="tests")
    simulator.inject("order", Fault.PROCESS_THEN_DROP)
    first = await guard.prepare_order(10, "https://www.instagram.com/p/DAbc123_-x/", 100)
    with pytest.raises(HappyFollowerOrderOutcomeUnknownError):
        await guard.place_order(first, confirmed_by="t")
    for spelling in SPELLINGS[POST][1:]:
        quote = await guard.quote(validate_order(10, spelling, 100))
        assert quote.order.link == POST
        assert quote.possible_duplicate is not None, spelling
    # A post whose code differs only in case is another post.
    assert (
        await guard.quote(validate_order(10, POST.replace("DAbc", "dabc"), 100))
    ).possible_duplicate is None
