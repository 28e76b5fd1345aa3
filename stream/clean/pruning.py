"""Pruning the chosen container: what is never article text, boilerplate by its name,
blocks of links.

* **Never text** (a CSS query, in C): embeds, forms, ``figure``, ``h1``, hidden
  elements, ARIA navigation and banners.
* **Named** for a boilerplate role (:func:`stream.clean.names.boilerplate_name`), unless
  the element holds 40% of the container's text.
* **Link blocks**: a list or table mostly of links, a short paragraph that is mostly a
  link ("Related: <a>...</a>"), a box of links with little other text (tags).
"""

from __future__ import annotations

from selectolax.lexbor import LexborNode

from stream.clean.names import boilerplate_name
from stream.clean.nodes import chars, decompose, links, remove

LINK_BOX_PROSE = 100  # characters of text besides its links that keep a link-dense box

_NEVER_TEXT = (  # scripts, styles, menus and asides are gone already (html.strip_unseen)
    "svg, math, iframe, object, embed, canvas, map, button, select, textarea, input, label, "
    "footer, header, figure, figcaption, picture, video, audio, dialog, menu, h1, [hidden], "
    "[aria-hidden=true], [role=navigation], [role=complementary], [role=contentinfo], "
    "[role=banner], [role=dialog], [role=alert], [style*='display:none'], [style*='display: none']"
)
_NEVER_NAMED = frozenset(("html", "body", "main", "article"))  # never pruned for their names
_LINK_BLOCKS = frozenset(("div", "section", "p", "ul", "ol", "dl", "table", "form", "center"))
_LISTS = frozenset(("ul", "ol", "dl", "table"))  # judged as a whole, not by items


def prune(root: LexborNode, size: int | None = None) -> None:
    """Remove what is never article text, and elements named for a boilerplate role that
    hold less than 40% of ``root``'s text (``size``, when measured already; one query,
    then a cached regex per name)."""
    decompose(root.css(_NEVER_TEXT))
    named = []
    for node in root.css("[class], [id]"):
        attrs = node.attributes
        if boilerplate_name(attrs.get("class") or "", attrs.get("id") or ""):
            named.append(node)
    if named:
        total = (size if size is not None else chars(root)) or 1
        top = root.mem_id
        decompose([node for node in named if node.tag not in _NEVER_NAMED and node.mem_id != top
                    and chars(node) < 0.4 * total])


def without_link_blocks(root: LexborNode) -> None:
    """Remove the blocks inside ``root`` that are mostly link text.

    Menus, tag clouds, "related" lists and "Read more: <a>headline</a>" paragraphs.
    Link text is summed once per link over its ancestors. Only blocks go (a list or a
    table as a whole): inline wrappers, headings and list items stay.
    """
    found: dict[int, LexborNode] = {}
    top = root.mem_id
    remove([found[key] for key, linked in links(root, found).items()
            if key != top and found[key].tag in _LINK_BLOCKS and _link_block(found[key].tag, chars(found[key]), linked)])


def _link_block(tag: str, text: int, links: int) -> bool:
    """A list or table mostly of links; a short paragraph that is mostly a link ("Related:
    <a>...</a>"); a box of links with little other text (tags, "close Video")."""
    if tag in _LISTS:
        return links > 0.5 * text
    if tag == "p":
        return text < 200 and links > 0.6 * text
    return links > 0.5 * text and text - links < LINK_BOX_PROSE
