"""link_target: what an order's link points at, as Home Assistant and the MCP App name it."""

from __future__ import annotations

import pytest

from shared_client.validation import LinkTarget, canonical_link, link_target

from .test_validation import ALL_SPELLINGS, REEL


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


@pytest.mark.parametrize(("canonical", "link"), ALL_SPELLINGS)
def test_every_spelling_of_a_target_is_named_alike(canonical: str, link: str) -> None:
    """Home Assistant's device names and the MCP App read a link as the canonicaliser does."""
    assert link_target(link) == link_target(canonical) == link_target(canonical_link(link))
    assert link_target(link).kind != "link"


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        (
            ["https://www.instagram.com/Mehdi", "HTTP://M.INSTAGRAM.COM./MEHDI/?igsh=1#x"],
            LinkTarget("profile", "@mehdi"),
        ),
        (
            ["https://instagram.com/p/AbC", "https://www.instagram.com/x/p/AbC/"],
            LinkTarget("post", "AbC"),
        ),
        ([REEL, "https://m.instagram.com/reels/C0de_1?igsh=1"], LinkTarget("reel", "C0de_1")),
        (
            ["https://www.instagram.com/explore", "https://Instagram.com./explore/?q=1#x"],
            LinkTarget("link", "instagram.com/explore/"),
        ),
        (
            ["https://Shop.Example.COM./a/b?q=1", "https://shop.example.com/a/b#x"],
            LinkTarget("link", "shop.example.com/a/b"),
        ),
    ],
)
def test_spellings_share_one_name(links: list[str], expected: LinkTarget) -> None:
    assert [link_target(link) for link in links] == [expected] * len(links)


def test_a_name_tells_targets_apart() -> None:
    assert link_target("https://www.instagram.com/p/AbC/").text == "AbC"  # codes keep case
    assert link_target("https://www.instagram.com/p/abc/").text == "abc"
    # A reel is named as a reel, a post as a post: the same media's code either way.
    assert link_target("https://www.instagram.com/p/C0de_1/") == LinkTarget("post", "C0de_1")
    assert link_target("https://www.instagram.com/reel/C0de_1/") == LinkTarget("reel", "C0de_1")
    # A comment's link, a bare /p/ and /reels/ are no post or profile.
    for link in (
        "https://instagram.com/p/X1/c/17/",
        "https://instagram.com/p",
        "https://instagram.com/reels/",
    ):
        assert link_target(link).kind == "link", link
