"""Main content of an HTML page: the chosen container, pruned and rendered as lines.

1. :func:`strip_unseen`: scripts, styles, templates, menus and asides go before
   anything is read (their JSON-LD is kept for the metadata).
2. :func:`stream.clean.container.choose` picks the article's container(s); a page
   without one is read whole.
3. :mod:`stream.clean.pruning` removes what is never text, boilerplate by its name and
   blocks of links.
4. :func:`_render`: the text, one line per block, and which lines are headings or
   items (list items, table rows): structure the line rules must not mistake for a
   byline or an end marker.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from stream.clean.container import choose
from stream.clean.nodes import decompose
from stream.clean.pruning import prune, without_link_blocks

_NOT_SHOWN = "script, style, noscript, template, nav, aside"
# Marks put in the text before it is read: where a line breaks, where a <pre> starts, the
# end of a heading or an item. Unicode noncharacters, reserved for a program's own use and
# never in text (icon fonts put their glyphs in the private use area instead).
_BREAK, _PRE_MARK, _HEADING_MARK, _ITEM_MARK = "\ufdd0", "\ufdd1", "\ufdd2", "\ufdd3"
_PRE = _BREAK + _PRE_MARK
_BLOCK_QUERY = (
    "address, article, blockquote, center, dd, details, div, dl, dt, fieldset, form, "
    "h2, h3, h4, h5, h6, hr, li, main, ol, p, pre, section, summary, table, tr, td, th, ul, "
    "caption, legend, br")
_HEADING_TAGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
_ITEM_TAGS = frozenset(("li", "tr", "dt", "dd"))
_CELL_TAGS = frozenset(("td", "th"))


def strip_unseen(tree: LexborHTMLParser) -> list[str]:
    """Remove what a reader never sees as the article (scripts, styles, templates, menus,
    asides) before anything is read; return the JSON-LD scripts' texts, for the metadata.

    Their text would count as the page's when containers are scored; one query does it.
    """
    unseen = tree.css(_NOT_SHOWN)
    json_ld = [node.text() for node in unseen
               if node.tag == "script" and node.attributes.get("type") == "application/ld+json"]
    decompose(unseen)
    return json_ld


def main_blocks(tree: LexborHTMLParser, *, whole_page: bool = False) -> tuple[list[str], dict[str, str]]:
    """Return the article's blocks in page order, and the kind (``heading``, ``item``) of
    the structured ones.

    ``whole_page``: skip choosing a container; keep all of the page that pruning leaves
    (the fallback when the chosen container had nothing article-like).
    """
    body = tree.body
    if body is None:
        return [], {}
    chosen, size = ([body], None) if whole_page else choose(body)
    for node in chosen:
        prune(node, size)
        without_link_blocks(node)
    return _render(chosen)


def _render(chosen: list[LexborNode]) -> tuple[list[str], dict[str, str]]:
    """The blocks of the chosen containers, one a line, and the kind of the structured ones:
    ``heading`` (h2-h6) or ``item`` (list item, table row).

    A mark goes in at the edges of every block element, at the end of headings, items and
    rows, and at the start of ``<pre>`` (its lines stay lines); the text is read in one
    call and cut at the marks. Inline elements (links, emphasis) stay within their line.
    """
    for node in chosen:
        for element in node.css(_BLOCK_QUERY):
            tag = element.tag
            if tag == "br":
                element.insert_after(_BREAK)
                continue
            if tag in _CELL_TAGS:  # cells of a row share its line (blocks in them break it)
                element.insert_before(" ")
                continue
            element.insert_before(_PRE if tag == "pre" else _BREAK)
            element.insert_after(_BREAK)
            if tag in _HEADING_TAGS:
                element.insert_child(_HEADING_MARK)
            elif tag in _ITEM_TAGS or element.parent.tag in _CELL_TAGS:  # a paragraph in a cell too
                element.insert_child(_ITEM_MARK)
    blocks: list[str] = []
    kinds: dict[str, str] = {}
    for piece in "".join(node.text() for node in chosen).split(_BREAK):
        lines = piece[1:].splitlines() if piece.startswith(_PRE_MARK) else (piece,)
        for line in lines:
            kind = ""
            if _ITEM_MARK in line:
                line, kind = line.replace(_ITEM_MARK, ""), "item"
            if _HEADING_MARK in line:
                line, kind = line.replace(_HEADING_MARK, ""), "heading"
            if block := " ".join(line.split()):
                blocks.append(block)
                if kind:
                    kinds[block] = kind
    return blocks, kinds
