"""Main content of an HTML page: score paragraph containers, prune the winner, render it.

1. **Score** (readability-style): each ``<p>``/``<pre>`` of 25+ characters (and text
   written straight into a ``<div>`` when there is little ``<p>`` text) gives its
   parent points for its length and commas, its grandparent half, the next ancestor a
   third. The five best get a closer look: link density, class/id names
   (``article-body`` up, ``comment`` down), inside ``aside``/``nav``/``footer``/
   ``header``/``figure`` (out).
2. **Assemble**: the winner and its siblings that score well or are clean
   paragraphs, or every container of the same tag and class when the article is
   split into chunks (``article__body`` x 3).
3. **Prune** inside it (CSS, in C): tags that are never article text (``script``,
   ``figure``, ``nav``, ``h1``, hidden elements...), elements whose class names a
   boilerplate role (share, related, newsletter, byline, caption...) unless they hold
   40% of the container's text, and link lists.
4. **Render** with resiliparse's block-aware plain-text extractor (C++), one line per
   block. Pages without paragraph structure fall back to resiliparse's main-content
   heuristics over the pruned page.

Only selectolax nodes are walked from Python: reading them costs ~0.3 us, against
~30 us for resiliparse's DOM.
"""

from __future__ import annotations

import re
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode

MIN_PARAGRAPH = 25  # characters for a paragraph to vote for its ancestors
TEXT_BLOCKS = "p, pre, li, td, th, dt, dd, blockquote, figcaption, h2, h3, h4, h5, h6"
DIV_PASS_BELOW = 3_000  # paragraph characters below which items and <div> text vote too
DIV_PARAGRAPH = 80  # characters of text straight inside a <div> for it to count as a paragraph
MIN_SCORE = 0.0  # no candidate outside furniture scoring above this: the page as a whole
CANDIDATES = 5  # best raw-scored containers given the full (costlier) look
WIDEN_PARAGRAPHS = 0.65  # least share of text-block text in what an ancestor adds to the best container
WIDEN_LINKS = 0.2  # most share of link text in what it adds (or 1.5x the container's own)
LINK_BOX_PROSE = 100  # characters of text besides its links that keep a link-dense box

_NEVER_TEXT = (  # scripts, styles, menus and asides are gone already (strip_unseen)
    "svg, math, iframe, object, embed, canvas, map, button, select, textarea, input, label, "
    "footer, header, figure, figcaption, picture, video, audio, dialog, menu, h1, [hidden], "
    "[aria-hidden=true], [role=navigation], [role=complementary], [role=contentinfo], "
    "[role=banner], [role=dialog], [role=alert], [style*='display:none'], [style*='display: none']"
)
_NEVER_NAMED = frozenset(("html", "body", "main", "article"))  # never pruned for their names
_LINK_BLOCKS = frozenset(("div", "section", "p", "ul", "ol", "dl", "table", "form", "center"))
_LISTS = frozenset(("ul", "ol", "dl", "table"))  # judged as a whole, not by items
# Marks put in the text before it is read (private use characters): where a line breaks,
# where a <pre> starts, and the end of a heading or an item.
_BREAK, _PRE_MARK, _HEADING_MARK, _ITEM_MARK = "\ue000", "\ue001", "\ue002", "\ue003"
_PRE = _BREAK + _PRE_MARK
_BLOCK_QUERY = (
    "address, article, blockquote, center, dd, details, div, dl, dt, fieldset, form, "
    "h2, h3, h4, h5, h6, hr, li, main, ol, p, pre, section, summary, table, tr, td, th, ul, "
    "caption, legend, br")
_HEADING_TAGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
_ITEM_TAGS = frozenset(("li", "tr", "dt", "dd"))
_CELL_TAGS = frozenset(("td", "th"))
_ITEMS = frozenset(("li", "td", "dd"))  # vote on pages with little paragraph text
_HOLDERS = frozenset(("li", "td", "th", "dt", "dd", "blockquote"))
_NOT_SHOWN = "script, style, noscript, template, nav, aside"
# Class and id names are matched as words: lower-cased, camelCase split ("newsCaption" is
# "news caption"), "-" and "_" read as spaces, and a name must start a word ("nav" is not in "canvas", "ads" not in
# "uploads"). A few longer words are kept out ("commentary", "authority", "shared").
_BOILERPLATE_NAMES = (
    "share(?!d|holder)", "social", "related", "newsletter", "comment(?!ar|at)",
    "sidebar", "breadcrumb", "subscri", "sign ?up", "cookie", "consent", "popup", "modal",
    "promo", "advert", "sponsor", "recommend", "outbrain", "taboola", "byline",
    "author(?!it)", "caption", "credit", "toolbar", "disqus", "rating", "tags", "keywords",
    "dateline", "timestamp", "published", "read ?more", "more stories", "most popular",
    "trending", "banner", "masthead", "sr only", "visually hidden", "screen reader",
    "skip link", "rollover", "tooltip", "popover", "hovercard", "print only", "pagination",
    "pager", "nav", "menu",
)
_BOILERPLATE_CLASS = re.compile(r"(?<![a-z0-9])(?:" + "|".join(_BOILERPLATE_NAMES) + ")")
_BOILERPLATE_ID = re.compile(
    r"(?<![a-z0-9])(?:comment(?!ar|at)|sidebar|related|share(?!d|holder)|social|newsletter)")
# A class that names the article container outweighs a boilerplate word in another of the
# node's classes: WordPress's ``entry-content entry-content-read-more`` is the story itself.
_CONTAINER_CLASS = re.compile(
    r"(?:^|\s)(?:entry-content|article-body|article-content|post-content|post-body|story-body|"
    r"story-content|articleBody)(?:\s|$)")
_PLAIN_CLASS = re.compile(r"^[\w -]{1,200}$")  # class values safe to quote in a selector
_FURNITURE_TAGS = frozenset(("aside", "nav", "footer", "header", "figure", "dialog"))
_FURNITURE = re.compile(
    r"(?<![a-z0-9])(?:comment(?!ar|at)|sidebar|related|footer|recommend|outbrain|taboola|popular)")
_POSITIVE = re.compile(
    r"(?<![a-z0-9])(?:article|body|content|entry|main|post|story|text|blog|prose|rich|markdown|news)")
_NEGATIVE = re.compile(
    r"(?<![a-z0-9])(?:comment(?!ar|at)|related|sidebar|footer|share(?!d|holder)|social|"
    r"promo|sponsor|widget|teaser|card|nav|menu|meta|byline|author(?!it)|caption|ads?(?![a-z])|"
    r"advert|banner|outbrain|taboola|recommend|more|popular|trending|newsletter|subscri|tag)")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=8_192)
def _words(name: str) -> str:
    """A class or id value as the words the patterns above are matched against."""
    return _CAMEL.sub(" ", name).lower().replace("-", " ").replace("_", " ") if name else ""


def strip_unseen(tree: LexborHTMLParser) -> list[str]:
    """Remove what a reader never sees as the article (scripts, styles, templates, menus,
    asides) before anything is read; return the JSON-LD scripts' texts, for the metadata.

    Their text would count as the page's when containers are scored; one query does it.
    """
    unseen = tree.css(_NOT_SHOWN)
    json_ld = [node.text() for node in unseen
               if node.tag == "script" and node.attributes.get("type") == "application/ld+json"]
    _decompose(unseen)
    return json_ld


def _decompose(nodes: list[LexborNode]) -> None:
    """Decompose ``nodes``, a query's result (page order), innermost first.

    Decomposing a node frees its subtree: a node inside it goes first, while it lives.
    """
    for node in reversed(nodes):
        node.decompose()


def _remove(nodes: list[LexborNode]) -> None:
    """Decompose ``nodes`` (in no known order): only those not inside another of them.

    A node inside one decomposed already must not be touched: it was freed with it.
    Each ancestor is looked at once (memo).
    """
    doomed = {node.mem_id for node in nodes}
    inside: dict[int, bool] = {}  # ancestor -> it or one above it is doomed
    outermost = []
    for node in nodes:
        path, parent, hit = [], node.parent, False
        while parent is not None:
            key = parent.mem_id
            if key in doomed:
                hit = True
                break
            if key in inside:
                hit = inside[key]
                break
            path.append(key)
            parent = parent.parent
        for key in path:
            inside[key] = hit
        if not hit:
            outermost.append(node)
    for node in outermost:
        node.decompose()


def main_blocks(tree: LexborHTMLParser, *, whole_page: bool = False) -> tuple[list[str], dict[str, str]]:
    """Return the article's blocks in page order, and the kind of those that are headings
    or items (list items, table rows and cells): structure the line rules must not
    mistake for a byline or an end marker (see :func:`_render`).

    ``whole_page``: skip choosing a container; keep all of the page that pruning leaves
    (the fallback when the chosen container had nothing article-like).
    """
    body = tree.body
    if body is None:
        return [], {}
    lengths: dict[int, int] = {}  # link -> characters of its text, measured once a page
    scores, nodes, mass, blocks, others = _score(body, lengths) if not whole_page else ({}, {}, 0, {}, {})
    best, best_final = _best(scores, nodes, lengths) if scores else (0, 0.0)
    size = None  # characters of the chosen container, when it is one and was measured
    if best_final <= MIN_SCORE:  # no paragraph outside furniture: the page as a whole
        chosen = [body]
    else:
        top, size = _widen(nodes[best], blocks, others, nodes, lengths)
        chosen = _chunks(body, top, scores, nodes, lengths) or _assemble(top, scores, lengths)
        if len(chosen) > 1 or chosen[0].mem_id != top.mem_id:
            size = None
    for node in chosen:
        _prune(node, size)
        _without_link_blocks(node)
    return _render(chosen)


def _prune(root: LexborNode, size: int | None = None) -> None:
    """Remove what is never article text, and elements named for a boilerplate role that
    hold less than 40% of ``root``'s text (``size``, when measured already; one query,
    then a cached regex per name)."""
    _decompose(root.css(_NEVER_TEXT))
    named = []
    for node in root.css("[class], [id]"):
        attrs = node.attributes
        if _boilerplate_name(attrs.get("class") or "", attrs.get("id") or ""):
            named.append(node)
    if named:
        total = (size if size is not None else _chars(root)) or 1
        top = root.mem_id
        _decompose([node for node in named if node.tag not in _NEVER_NAMED and node.mem_id != top
                    and _chars(node) < 0.4 * total])


@lru_cache(maxsize=8_192)  # bounded; class names repeat within a page and across a site
def _boilerplate_name(class_name: str, id_name: str) -> bool:
    ids = _words(id_name)
    if _CONTAINER_CLASS.search(class_name):
        return bool(_BOILERPLATE_ID.search(ids))
    return bool(_BOILERPLATE_CLASS.search(_words(class_name)) or _BOILERPLATE_ID.search(ids))


def _score(body: LexborNode, lengths: dict[int, int]
           ) -> tuple[dict[int, float], dict[int, LexborNode], int, dict[int, int], dict[int, list]]:
    """Votes of the page's paragraphs, their mass, and the page's text blocks by parent.

    ``<p>``/``<pre>`` vote. On a page with little paragraph text, list items, table
    cells and text written straight into a ``<div>`` vote too: recipes, forums, notices.
    Every text block (headings and short items too) counts as article-like text where
    :func:`_widen` weighs what an ancestor adds: paragraphs by their characters, the
    other blocks as nodes, measured only if that is where they count.
    """
    scores: dict[int, float] = {}
    blocks: dict[int, int] = {}  # parent -> characters of its paragraphs
    others: dict[int, list[LexborNode]] = {}  # parent -> its other text blocks
    nodes: dict[int, LexborNode] = {}
    chains: dict[int, list[tuple[int, int]]] = {}  # parent -> its voting ancestors, walked once
    items: list[LexborNode] = []
    mass = 0
    for node in body.css(TEXT_BLOCKS):
        parent = node.parent
        if parent is None:
            continue
        key = parent.mem_id
        counted = parent.tag not in _HOLDERS  # an item or a quote counts the paragraphs in it
        tag = node.tag
        if tag != "p" and tag != "pre":
            if counted:
                others.setdefault(key, []).append(node)
                nodes[key] = parent
            if tag in _ITEMS:
                items.append(node)
            continue
        text = node.text().strip()
        if not text:
            continue
        if counted:
            blocks[key] = blocks.get(key, 0) + len(text)
            nodes[key] = parent
        if len(text) >= MIN_PARAGRAPH:
            mass += _vote(parent, text, scores, nodes, chains)
    if mass < DIV_PASS_BELOW:
        for item in items:
            text = item.text().strip()
            if len(text) >= MIN_PARAGRAPH and _link_chars(item, lengths) < 0.5 * len(text):
                mass += _vote(item.parent, text, scores, nodes, chains)  # not a menu entry or a headline
        for div in body.css("div"):  # text written straight into a <div>, <br>-separated
            text = div.text(deep=False)
            if len(text) >= DIV_PARAGRAPH and len(text := text.strip()) >= DIV_PARAGRAPH \
                    and (parent := div.parent) is not None:
                blocks[parent.mem_id] = blocks.get(parent.mem_id, 0) + len(text)
                mass += _vote(parent, text, scores, nodes, chains)
    return scores, nodes, mass, blocks, others


def _vote(parent: LexborNode, text: str, scores: dict[int, float], nodes: dict[int, LexborNode],
          chains: dict[int, list[tuple[int, int]]]) -> int:
    """Add a paragraph's points to its parent (full), grandparent (1/2), next (1/3)."""
    points = 1 + text.count(",") + min(len(text) // 100, 3)
    if not text.isascii():  # O(1): Arabic and CJK commas
        points += text.count("،") + text.count("，") + text.count("、")
    chain = chains.get(parent.mem_id)
    if chain is None:  # siblings share it: most paragraphs skip the walk
        chain = chains[parent.mem_id] = _ancestors(parent, nodes)
    for key, level in chain:
        scores[key] = scores.get(key, 0.0) + points / level
    return len(text)


def _ancestors(node: LexborNode | None, nodes: dict[int, LexborNode]) -> list[tuple[int, int]]:
    """The ids and levels of ``node`` and its next two ancestors below ``<html>``."""
    chain = []
    for level in (1, 2, 3):
        if node is None or node.tag in ("html", "#document"):
            break
        key = node.mem_id
        nodes[key] = node
        chain.append((key, level))
        node = node.parent
    return chain


def _best(scores: dict[int, float], nodes: dict[int, LexborNode], lengths: dict[int, int]) -> tuple[int, float]:
    """The best of the top raw-scored containers (branch and bound on the link density).

    Containers inside furniture (menus, sidebars, comments) are passed over, and the
    next ones looked at, up to :data:`CANDIDATES` outside it.
    """
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)[:3 * CANDIDATES]
    bounds = sorted(((scores[key] + _class_weight(nodes[key]), key) for key in ranked), reverse=True)
    best, best_final, looked = ranked[0], float("-inf"), 0
    for bound, key in bounds:
        if bound <= best_final or looked == CANDIDATES:  # (1 - link density) <= 1: no better one is left
            break
        node = nodes[key]
        if _in_furniture(node):
            continue
        looked += 1
        final = bound * (1 - _link_density(node, lengths))  # the bound (score + class weight) times 1 - link density
        if final > best_final:
            best, best_final = key, final
    return best, best_final


def _widen(top: LexborNode, blocks: dict[int, int], others: dict[int, list[LexborNode]],
           nodes: dict[int, LexborNode], lengths: dict[int, int]) -> tuple[LexborNode, int]:
    """The ancestor of ``top`` whose text is most paragraph text: good - (total - good).

    An article split into sections (a heading, an image and a few paragraphs each) has
    its best-scored container around one section; the ancestor that holds all of them
    adds paragraph text and little else. The page around it adds menus, link lists and
    footers: text that is not in paragraphs. Paragraphs under furniture do not count.
    """
    chain: list[LexborNode] = []
    node = top
    while node is not None and node.tag not in ("body", "html", "#document"):
        chain.append(node)
        node = node.parent
    if len(chain) < 2:
        return top, _chars(top)
    index = {n.mem_id: i for i, n in enumerate(chain)}
    good = [0] * len(chain)
    seen: dict[int, int] = {}  # node -> the chain index its paragraphs count for (-1: none)
    for key in blocks.keys() | others.keys():
        node, path, reached = nodes[key], [], -1
        while node is not None:
            mem = node.mem_id
            if mem in index:
                reached = index[mem]
                break
            if mem in seen:
                reached = seen[mem]
                break
            if node.tag in ("body", "html") or _furniture_node(node):
                break
            path.append(mem)
            node = node.parent
        for mem in path:
            seen[mem] = reached
        if reached > 0:  # (inside ``top`` itself, they add nothing)
            good[reached] += blocks.get(key, 0) + sum(len(other.text().strip()) for other in others.get(key, ()))
    base_text = _chars(top)
    last = max((i for i in range(1, len(chain)) if good[i]), default=0)
    candidates: list[tuple[int, int]] = []  # chain index, characters it adds to ``top``
    added = added_good = 0
    for i in range(1, last + 1):  # what each level adds: its children but the level below
        below = chain[i - 1].mem_id
        added += sum(_chars(child) for child in chain[i].iter(include_text=True) if child.mem_id != below)
        if good[i]:
            added_good += good[i]
            if added > 0 and added_good >= WIDEN_PARAGRAPHS * added:
                candidates.append((i, added))
    best, size = top, base_text
    if candidates:
        links = _chain_links(chain, index, candidates[-1][0], lengths)
        ratio = max(WIDEN_LINKS, 1.5 * links[0] / (base_text or 1))  # no more link-dense than the article
        for i, added in candidates:
            if links[i] - links[0] <= ratio * added:
                best, size = chain[i], base_text + added
    return best, size


def _chain_links(chain: list[LexborNode], index: dict[int, int], last: int,
                 lengths: dict[int, int]) -> list[int]:
    """Characters of link text inside each of ``chain[:last + 1]`` (nested: each holds the one before)."""
    reached = [0] * (last + 1)
    seen: dict[int, int] = {}
    for link in chain[last].css("a"):
        chars = _link_length(link, lengths)
        node, path, at = link.parent, [], last
        while chars and node is not None:
            mem = node.mem_id
            if mem in index:
                at = index[mem]
                break
            if mem in seen:
                at = seen[mem]
                break
            path.append(mem)
            node = node.parent
        for mem in path:
            seen[mem] = at
        reached[at] += chars
    for i in range(1, last + 1):
        reached[i] += reached[i - 1]
    return reached


def _links(root: LexborNode, found: dict[int, LexborNode] | None = None) -> dict[int, int]:
    """Characters of link text inside each element of ``root`` (itself included) that holds
    a link; ``found`` gets those elements by id.

    One query; the links' lengths go up one level at a time, so each ancestor is summed
    once per level it is reached at, not once per link.
    """
    level: dict[int, list] = {}  # node -> [node, link characters coming up from below]
    for link in root.css("a"):
        if chars := _chars(link):
            parent = link.parent
            level.setdefault(parent.mem_id, [parent, 0])[1] += chars
    links: dict[int, int] = {}
    top = root.mem_id
    while level:
        above: dict[int, list] = {}
        for key, (node, chars) in level.items():
            links[key] = links.get(key, 0) + chars
            if found is not None:
                found[key] = node
            if key != top and (parent := node.parent) is not None:
                above.setdefault(parent.mem_id, [parent, 0])[1] += chars
        level = above
    return links


def _furniture_node(node: LexborNode) -> bool:
    if node.tag in _FURNITURE_TAGS:
        return True
    attrs = node.attributes
    return _furniture_name(attrs.get("class") or "", attrs.get("id") or "")


@lru_cache(maxsize=8_192)
def _furniture_name(class_name: str, id_name: str) -> bool:
    return bool(_FURNITURE.search(_words(f"{class_name} {id_name}")))


def _in_furniture(node: LexborNode) -> bool:
    """Inside ``aside``/``nav``/``footer``/``header`` or a comments/sidebar container."""
    parent, level = node, 0
    while parent is not None and parent.tag not in ("body", "html"):
        if parent.tag in _FURNITURE_TAGS:
            return True
        if level < 2:
            attrs = parent.attributes
            if _furniture_name(attrs.get("class") or "", attrs.get("id") or ""):
                return True
        parent, level = parent.parent, level + 1
    return False


def _class_weight(node: LexborNode) -> float:
    attrs = node.attributes
    body, weight = _name_weight(attrs.get("class") or "", attrs.get("id") or "", attrs.get("itemprop") or "")
    return weight + 25 if body or node.tag in ("article", "main") else weight


@lru_cache(maxsize=8_192)
def _name_weight(class_name: str, id_name: str, itemprop: str) -> tuple[bool, float]:
    """Whether the names say "article body", and their weight: -25 boilerplate, +25 content."""
    names = _words(f"{class_name} {id_name} {itemprop}")
    weight = 0.0
    if _NEGATIVE.search(names):
        weight -= 25
    if _POSITIVE.search(names):
        weight += 25
    return "article body" in names or "articlebody" in names, weight


def _chars(node: LexborNode) -> int:
    """Characters of ``node``'s text but white space (indentation must not weigh)."""
    text = node.text()
    return len(text) - text.count(" ") - text.count("\t")


def _link_length(link: LexborNode, lengths: dict[int, int]) -> int:
    """Characters of a link's text, measured once a page (candidates nest: links repeat)."""
    key = link.mem_id
    chars = lengths.get(key)
    if chars is None:
        chars = lengths[key] = _chars(link)
    return chars


def _link_chars(node: LexborNode, lengths: dict[int, int]) -> int:
    return sum(_link_length(link, lengths) for link in node.css("a"))


def _link_density(node: LexborNode, lengths: dict[int, int]) -> float:
    text = len(node.text())
    return min(1.0, _link_chars(node, lengths) / text) if text else 1.0


def _chunks(body: LexborNode, top: LexborNode, scores: dict[int, float],
            nodes: dict[int, LexborNode], lengths: dict[int, int]) -> list[LexborNode]:
    """Article bodies split into several containers of one class (``article__body`` x 3).

    Each chunk must have paragraphs of its own (a tenth of the winner's score), so a
    generic layout class (``row``, ``container``) does not pull in the whole page.
    """
    name = top.attributes.get("class")
    if not name or not _PLAIN_CLASS.match(name):
        return []
    least = max(3.0, 0.1 * scores.get(top.mem_id, 0.0))
    tag, mem = top.tag, top.mem_id
    if not any(score >= least and key != mem and nodes[key].tag == tag
               and nodes[key].attributes.get("class") == name for key, score in scores.items()):
        return []  # no other scored container of that class: spare the query
    same = body.css(f'{tag}[class="{name}"]')
    chosen: list[LexborNode] = []
    for node in same:
        if any(_contains(other, node) for other in chosen):
            continue
        if node.mem_id == top.mem_id or scores.get(node.mem_id, 0.0) >= least \
                and _link_density(node, lengths) < 0.25 and not _in_furniture(node):
            chosen.append(node)
    return chosen if len(chosen) > 1 else []


def _contains(outer: LexborNode, inner: LexborNode) -> bool:
    node = inner.parent
    while node is not None:
        if node.mem_id == outer.mem_id:
            return True
        node = node.parent
    return False


def _assemble(top: LexborNode, scores: dict[int, float], lengths: dict[int, int]) -> list[LexborNode]:
    parent = top.parent
    if parent is None or parent.tag in ("html", "#document"):
        return [top]
    threshold = max(10.0, scores.get(top.mem_id, 0.0) * 0.2)
    chosen: list[LexborNode] = []
    for sibling in parent.iter(include_text=False):
        if sibling.mem_id == top.mem_id:
            chosen.append(sibling)
            continue
        score = scores.get(sibling.mem_id)
        if score is not None and score + _class_weight(sibling) >= threshold:
            if _link_density(sibling, lengths) < 0.25:
                chosen.append(sibling)
        elif sibling.tag == "p":
            text = sibling.text(deep=True, separator=" ", strip=True)
            density = _link_density(sibling, lengths)
            if len(text) > 80 and density < 0.25 or (
                    0 < len(text) <= 80 and density == 0 and re.search(r"\.( |$)", text)):
                chosen.append(sibling)
    return chosen


def _without_link_blocks(root: LexborNode) -> None:
    """Remove the blocks inside ``root`` that are mostly link text.

    Menus, tag clouds, "related" lists and "Read more: <a>headline</a>" paragraphs.
    Link text is summed once per link over its ancestors. Only blocks go (a list or a
    table as a whole): inline wrappers, headings and list items stay.
    """
    found: dict[int, LexborNode] = {}
    links = _links(root, found)
    top = root.mem_id
    _remove([found[key] for key, chars in links.items() if key != top and found[key].tag in _LINK_BLOCKS
             and _link_block(found[key].tag, _chars(found[key]), chars)])


def _link_block(tag: str, text: int, links: int) -> bool:
    """A list or table mostly of links; a short paragraph that is mostly a link ("Related:
    <a>...</a>"); a box of links with little other text (tags, "close Video")."""
    if tag in _LISTS:
        return links > 0.5 * text
    if tag == "p":
        return text < 200 and links > 0.6 * text
    return links > 0.5 * text and text - links < LINK_BOX_PROSE


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


