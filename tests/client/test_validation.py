"""Input is checked before anything is sent; Persian and Arabic-Indic digits are accepted."""

from __future__ import annotations

from typing import Any

import pytest

from shared_client import HappyFollowerClient, HappyFollowerInputError
from shared_client.simulator import Simulator
from shared_client.validation import instagram_link, positive_int, validate_order

LINK = "https://www.instagram.com/mehdifeizi"
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
    with pytest.raises(HappyFollowerInputError, match="count must be a whole number from 1"):
        positive_int(value, "count")


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
    "value",
    [LINK, "http://instagram.com/p/Cx1/", "https://www.instagram.com/reel/abc/?igsh=x"],
)
def test_instagram_link_accepts(value: str) -> None:
    assert instagram_link(f" {value} ") == value


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
    assert order.form == {"serviceId": "10", "link": LINK, "count": "100"}
    assert status_request.path.endswith("/status/1/")
    assert [r.form for r in simulator.requests if r.endpoint in ("cancel", "recheck")] == [
        {"orderId": "1"},
        {"orderId": "1"},
    ]


def test_validate_order_returns_clean_values() -> None:
    order = validate_order("۲۰", f"  {LINK}\t", 50.0)
    assert (order.service_id, order.link, order.count) == (20, LINK, 50)


@pytest.mark.parametrize("key", ["", "   ", None, 123])
def test_client_needs_an_api_key(key: Any) -> None:
    with pytest.raises(HappyFollowerInputError, match="API key"):
        HappyFollowerClient(key)


@pytest.mark.parametrize("url", ["ftp://example.com/api", "not a url", "http://", "/api/v1"])
def test_client_needs_an_http_base_url(url: str) -> None:
    with pytest.raises(HappyFollowerInputError, match="base_url"):
        HappyFollowerClient("key", base_url=url)
