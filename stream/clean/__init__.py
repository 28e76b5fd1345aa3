"""Cleaning: a raw page (HTML or flattened text) in, the article out.

Public surface: :class:`Cleaned` and :func:`clean`. Pure and synchronous.
"""

from __future__ import annotations

from dataclasses import dataclass

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from stream.errors import BadRecord

__all__ = ["Cleaned", "clean"]


@dataclass(frozen=True, slots=True)
class Cleaned:
    """What the cleaner keeps of one page."""

    title: str
    text: str  # paragraphs separated by a blank line
    published_at: str | None = None  # ISO 8601 date or datetime, from the page
    lang: str | None = None  # ISO 639-1
    canonical_url: str | None = None  # <link rel=canonical>, when it names another URL
    attribution: str | None = None  # site named by an "originally appeared on" line


def clean(url: str, *, html: str | None = None, text: str | None = None) -> Cleaned:
    """Return the article of one page; raise :class:`BadRecord` when nothing is left."""
    if html is not None:
        tree = HTMLTree.parse(html)
        title = (tree.title or "").strip()
        body = extract_plain_text(tree, main_content=True, alt_texts=False, links=False)
    else:
        lines = [line.strip() for line in (text or "").splitlines()]
        title = next((line for line in lines if line), "")
        body = "\n\n".join(line for line in lines if line)
    if not body.strip():
        raise BadRecord("no_content", "no article text left after cleaning")
    return Cleaned(title=title, text=body)
