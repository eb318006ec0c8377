"""link_target: what an order's link points at, as Home Assistant and the MCP App name it."""

from __future__ import annotations

import pytest

from shared_client.validation import LinkTarget, link_target


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://www.instagram.com/mehdi", LinkTarget("profile", "@mehdi")),
        ("https://m.instagram.com/mehdi/", LinkTarget("profile", "@mehdi")),
        ("https://instagram.com/p/Cx1/", LinkTarget("post", "Cx1")),
        ("https://www.instagram.com/mehdi/p/ABC/", LinkTarget("post", "ABC")),
        ("https://www.instagram.com/tv/T1/", LinkTarget("post", "T1")),
        ("https://www.instagram.com/reel/R1", LinkTarget("reel", "R1")),
        ("https://www.instagram.com/reels/R2/", LinkTarget("reel", "R2")),
        ("https://www.instagram.com/stories/bob/123", LinkTarget("story", "@bob")),
        ("https://instagr.am/p/Short/", LinkTarget("post", "Short")),
        # Instagram's own pages are not profiles; other hosts are only links.
        ("https://www.instagram.com/explore/", LinkTarget("link", "instagram.com/explore/")),
        (
            "https://www.instagram.com/stories/highlights/1/",
            LinkTarget("link", "instagram.com/stories/highlights/1/"),
        ),
        (
            "https://instagram.com.evil.example/mehdi",
            LinkTarget("link", "instagram.com.evil.example/mehdi"),
        ),
        ("https://evil.example/x", LinkTarget("link", "evil.example/x")),
        (None, LinkTarget("link", "?")),
        ("", LinkTarget("link", "?")),
    ],
)
def test_link_target(link: str | None, expected: LinkTarget) -> None:
    assert link_target(link) == expected


def test_link_target_text_is_display_safe_and_short() -> None:
    target = link_target("https://www.instagram.com/" + "a\u202eb\u200b" * 30)
    assert target.kind == "profile"
    assert "\u202e" not in target.text
    assert "\u200b" not in target.text
    assert len(target.text) <= 40
    assert target.text.endswith("…")
