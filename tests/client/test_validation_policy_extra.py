"""The input policy's edges that its main tests leave open."""

from __future__ import annotations

import pytest

from shared_client.errors import HappyFollowerInputError
from shared_client.validation import (
    MAX_AMOUNT,
    canonical_link,
    credit_unit,
    positive_amount,
    target_identity,
)


@pytest.mark.parametrize(
    "link",
    ["https://Example.COM/Mehdi/?igsh=1", "HTTP://WWW.Instagram.COM.evil.example/p/X1/"],
)
def test_a_link_to_another_site_is_no_target_but_its_own_text(link: str) -> None:
    """By default only Instagram's hosts are read: another site's link is not made
    canonical (its host is not even lower-cased), it stands for itself, stripped."""
    assert target_identity(f" {link}\n") == link
    assert canonical_link(f" {link}\n") == link
    # Allowing any host, the same text is read as a link (its host lower-cased).
    assert target_identity(link, None) == canonical_link(link, None) != link


def test_an_amount_at_the_most_is_taken_one_above_is_refused_with_its_field() -> None:
    assert positive_amount(MAX_AMOUNT, "the cap") == float(MAX_AMOUNT)
    assert positive_amount("۲٫۵", "the price") == 2.5
    huge = "9" * 60
    with pytest.raises(HappyFollowerInputError) as refused:
        positive_amount(huge, "the price per unit", field="unit_price")
    assert str(refused.value) == (
        f"the price per unit must be at most 1,000,000,000,000, got '{'9' * 38}…"
    )
    assert refused.value.field == "unit_price"
    with pytest.raises(HappyFollowerInputError) as too_much:
        positive_amount(MAX_AMOUNT + 1, "the cap", field="cap")
    assert str(too_much.value) == ("the cap must be at most 1,000,000,000,000, got 1000000000001")
    assert too_much.value.field == "cap"


@pytest.mark.parametrize("typed", ["Toman", " IRR ", "تومان", "هزار\u200cتومان", "x" * 16])
def test_credit_unit_accepted(typed: str) -> None:
    assert credit_unit(typed) == typed.strip()


@pytest.mark.parametrize(
    "typed", ["", "   ", "x" * 17, "To\u202eman", "IRR\x00", "a\u200bb", "a\nb"]
)
def test_credit_unit_refused(typed: str) -> None:
    with pytest.raises(HappyFollowerInputError, match="credit unit must be 1 to 16") as caught:
        credit_unit(typed)
    assert caught.value.field == "credit_unit"
