"""The app's HTML: one self-contained document per view, built at its first read.

The page's own Content-Security-Policy allows nothing but its one inline script and
its one inline style (by hash): no network, no fonts, images, frames or forms, so even
text that slipped past ``textContent`` could not load or send anything.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path
from typing import Final, Literal

View = Literal["order", "account"]

TITLES: Final[dict[View, str]] = {
    "order": "Happy Follower order",
    "account": "Happy Follower account",
}


def _source(name: str) -> str:
    return Path(__file__).with_name(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(script: str, style: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(script)}",
            f"style-src {_sha256(style)}",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


@cache
def build(view: View) -> str:
    """The document of one view (cached: built once per process)."""
    script, style = _source("view.js"), _source("view.css")
    for text, closing in ((script, "</script"), (style, "</style")):
        if closing in text.lower():
            raise ValueError(f"{closing}> inside the inlined source would end it early")
    return _source("view.html").format(
        csp=content_security_policy(script, style),
        title=TITLES[view],
        view=view,
        style=style,
        script=script,
    )
