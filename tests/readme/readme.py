"""Reading README.md: its sections, fenced code blocks, links and inline code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
READMES = (README, REPO / "README.fa.md")

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_HEADING = re.compile(r"^## +(?P<title>.+?)[ \t]*$", re.M)
_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True, slots=True)
class CodeBlock:
    lang: str
    body: str


def text(path: Path = README) -> str:
    return path.read_text(encoding="utf-8")


def section(title: str, path: Path = README) -> str:
    """The text under ``## title``, up to the next ``## `` heading (fences respected)."""
    source = text(path)
    fences = [m.span() for m in _FENCE.finditer(source)]
    headings = [
        m for m in _HEADING.finditer(source) if not any(a <= m.start() < b for a, b in fences)
    ]
    for index, heading in enumerate(headings):
        if heading.group("title") == title:
            end = headings[index + 1].start() if index + 1 < len(headings) else len(source)
            return source[heading.end() : end]
    raise AssertionError(f"README has no section '## {title}'")


def code_blocks(section_text: str, lang: str | None = None) -> list[CodeBlock]:
    blocks = [CodeBlock(m.group("lang"), m.group("body")) for m in _FENCE.finditer(section_text)]
    return [block for block in blocks if lang is None or block.lang == lang]


def only_block(title: str, lang: str) -> str:
    """The one ``lang`` code block of a section."""
    blocks = code_blocks(section(title), lang)
    assert len(blocks) == 1, f"expected one {lang} block under '## {title}', got {len(blocks)}"
    return blocks[0].body


def prose(section_text: str) -> str:
    """A section without its code blocks, lines joined (sentences wrap in Markdown)."""
    return " ".join(_FENCE.sub("", section_text).split())


def links(path: Path) -> list[str]:
    """Every Markdown link and image target outside code blocks."""
    return [m.group("target") for m in _LINK.finditer(_FENCE.sub("", text(path)))]


def inline_code(section_text: str) -> list[str]:
    """Every `inline code` span outside fenced blocks."""
    return re.findall(r"`([^`\n]+)`", _FENCE.sub("", section_text))
