"""Parsing HTML safely: a depth guard in front of the lexbor parser.

selectolax's parser slows down quadratically with the nesting of block elements (10,000
nested ``<div>`` take ~65 ms, 20,000 ~0.5 s; nested ``<span>`` or ``<b>`` stay linear),
resiliparse's does not. A page with many tags is first parsed by resiliparse and checked
for nesting deeper than :data:`MAX_DEPTH` with one CSS query (in C); only then does
selectolax, whose DOM is ~100x cheaper to walk from Python, parse it.

The page is encoded to UTF-8 once, as selectolax would (``errors="ignore"``): the tags
are counted in the bytes (``bytes.count`` is a memchr; ``str.count`` on a page with any
character beyond Latin-1 is several times slower), and both parsers take the bytes.
"""

from __future__ import annotations

from resiliparse.parse.html import HTMLTree
from selectolax.lexbor import LexborHTMLParser

from stream.errors import BadRecord

MAX_DEPTH = 400  # elements nested deeper than this make the page unreadable
SUSPECT_TAGS = 12_000  # pages with more "<" get the depth check first (a parse and a query)
_DEEP = " > ".join(["*"] * MAX_DEPTH)


def parse(html: str) -> LexborHTMLParser:
    """Parse ``html``; raise :class:`BadRecord` ``too_deep`` / ``unparseable_html``."""
    data = html.encode("utf-8", "ignore")
    if data.count(b"<") > SUSPECT_TAGS and too_deep(data):
        raise BadRecord("too_deep", f"elements nested deeper than {MAX_DEPTH} levels")
    try:
        return LexborHTMLParser(data)
    except Exception as exc:  # selectolax raises bare RuntimeError/ValueError on failure
        raise BadRecord("unparseable_html", f"{type(exc).__name__}: {exc}"[:200]) from exc


def too_deep(html: bytes) -> bool:
    """True when some element of ``html`` (UTF-8) is nested more than MAX_DEPTH levels deep."""
    try:
        document = HTMLTree.parse_from_bytes(html, "utf-8").document
    except Exception as exc:  # resiliparse's HTMLParserException and kin
        raise BadRecord("unparseable_html", f"{type(exc).__name__}: {exc}"[:200]) from exc
    return document is not None and document.query_selector(_DEEP) is not None
