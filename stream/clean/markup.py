"""Parsing HTML safely: a depth guard in front of the lexbor parser.

selectolax's parser slows down quadratically with nesting depth (20,000 nested
``<div>`` take seconds), resiliparse's does not. A page with many tags is first parsed
by resiliparse and checked for nesting deeper than :data:`MAX_DEPTH` with one CSS query
(in C); only then does selectolax, whose DOM is ~100x cheaper to walk from Python, parse it.
"""

from __future__ import annotations

from resiliparse.parse.html import HTMLTree
from selectolax.lexbor import LexborHTMLParser

from stream.errors import BadRecord

MAX_DEPTH = 400  # elements nested deeper than this make the page unreadable
SUSPECT_TAGS = 5_000  # pages with more "<" than this get the depth check first (~1.5 ms)
_DEEP = " > ".join(["*"] * MAX_DEPTH)


def parse(html: str) -> LexborHTMLParser:
    """Parse ``html``; raise :class:`BadRecord` ``too_deep`` / ``unparseable_html``."""
    if html.count("<") > SUSPECT_TAGS and too_deep(html):
        raise BadRecord("too_deep", f"elements nested deeper than {MAX_DEPTH} levels")
    try:
        return LexborHTMLParser(html)
    except Exception as exc:  # selectolax raises bare RuntimeError/ValueError on failure
        raise BadRecord("unparseable_html", f"{type(exc).__name__}: {exc}"[:200]) from exc


def too_deep(html: str) -> bool:
    """True when some element of ``html`` is nested more than MAX_DEPTH levels deep."""
    try:
        document = HTMLTree.parse(html).document
    except Exception as exc:  # resiliparse's HTMLParserException and kin
        raise BadRecord("unparseable_html", f"{type(exc).__name__}: {exc}"[:200]) from exc
    return document is not None and document.query_selector(_DEEP) is not None
