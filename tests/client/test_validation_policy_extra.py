"""The input policy's edges that its main tests leave open."""

from __future__ import annotations

import pytest

from shared_client.validation import canonical_link, target_identity


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
