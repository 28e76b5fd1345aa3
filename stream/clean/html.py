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

from resiliparse.extract.html2text import extract_plain_text
from selectolax.lexbor import LexborHTMLParser, LexborNode

MIN_PARAGRAPH = 25  # characters for a paragraph to vote for its ancestors
PARAGRAPHS = "p, pre"
DIV_PASS_BELOW = 3_000  # paragraph characters below which <div> text is scored too
DIV_PARAGRAPH = 80  # characters of text straight inside a <div> for it to count as a paragraph
MIN_MASS = 300  # characters of paragraph text below which the page has no paragraph structure
MIN_SCORE = 10.0  # a best container scoring less means no paragraph structure either
CANDIDATES = 5
WIDEN_PARAGRAPHS = 0.65  # share of paragraph text in what an ancestor adds to the best container
WIDEN_LINKS = 0.15  # most link text in what it adds  # best raw-scored containers given the full (costlier) look

_NEVER_TEXT = (
    "script, style, noscript, template, svg, math, iframe, object, embed, canvas, map, "
    "button, select, textarea, input, label, nav, aside, footer, header, figure, figcaption, "
    "picture, video, audio, dialog, menu, h1, [hidden], [aria-hidden=true], "
    "[role=navigation], [role=complementary], [role=contentinfo], [role=banner], "
    "[role=dialog], [role=alert], [style*='display:none'], [style*='display: none']"
)
_NOT_SHOWN = "script, style, noscript, template"
_BOILERPLATE_NAMES = (
    "share", "social", "related", "newsletter", "comment", "sidebar", "breadcrumb",
    "subscribe", "signup", "sign-up", "cookie", "consent", "popup", "modal", "promo",
    "advert", "sponsor", "recommend", "outbrain", "taboola", "byline", "author",
    "caption", "credit", "toolbar", "disqus", "rating", "tags", "keywords",
    "dateline", "timestamp", "published", "read-more", "readmore", "more-stories",
    "most-popular", "trending", "banner", "masthead", "sr-only", "visually-hidden",
    "screen-reader", "skip-link", "rollover", "tooltip", "popover", "hovercard", "print-only", "pagination", "pager", "nav", "menu",
)
_BOILERPLATE_CLASS = re.compile(  # case-sensitive, plus the camelCase forms of the clear ones
    "|".join(map(re.escape, _BOILERPLATE_NAMES))
    + "|Caption|Share|Social|Related|Comment|Byline|Author|Promo|Advert|Newsletter|Sidebar|Subscribe|Recommend"
)
_BOILERPLATE_ID = re.compile("comment|sidebar|related|share|social|newsletter")
# A class that names the article container outweighs a boilerplate word in another of the
# node's classes: WordPress's ``entry-content entry-content-read-more`` is the story itself.
_CONTAINER_CLASS = re.compile(
    r"(?:^|\s)(?:entry-content|article-body|article-content|post-content|post-body|story-body|"
    r"story-content|articleBody)(?:\s|$)")
_PLAIN_CLASS = re.compile(r"^[\w -]{1,200}$")  # class values safe to quote in a selector
_FURNITURE_TAGS = frozenset(("aside", "nav", "footer", "header", "figure", "dialog"))
# Matched against lower-cased names: re.IGNORECASE makes these alternations ~20x slower.
_FURNITURE = re.compile(r"comment|sidebar|related|footer|recommend|outbrain|taboola|popular")
_POSITIVE = re.compile(
    r"article|body|content|entry|main|post|story|text|blog|prose|rich|markdown|news")
_NEGATIVE = re.compile(
    r"comment|related|sidebar|footer|share|social|promo|sponsor|widget|teaser|card|"
    r"nav|menu|meta|byline|author|caption|ad-|ads|banner|outbrain|taboola|recommend|"
    r"more|popular|trending|newsletter|subscribe|tag")


def main_blocks(tree: LexborHTMLParser) -> list[str]:
    """Return the article's blocks (paragraphs, headings, list items) in page order."""
    body = tree.body
    if body is None:
        return []
    for node in body.css(_NOT_SHOWN):  # their text would count as the page's
        node.decompose()
    scores, nodes, mass, parents = _score(body)
    if mass < MIN_MASS:
        _prune(body)
        return _render(body.html or "", main_content=True)
    best, best_final = _best(scores, nodes)
    if best_final < MIN_SCORE:
        _prune(body)
        return _render(body.html or "", main_content=True)
    top = _widen(nodes[best], parents, nodes)
    chosen = _chunks(body, top, scores) or _assemble(top, scores)
    for node in chosen:
        _prune(node)
    html = "".join(_without_link_lists(node) for node in chosen)
    return _render(html, main_content=False)


def _prune(root: LexborNode) -> None:
    for node in root.css(_NEVER_TEXT):
        node.decompose()
    doomed = []
    for node in root.css("[class], [id]"):  # one cheap query, then one (cached) regex per node
        attrs = node.attributes
        if _boilerplate_name(attrs.get("class") or "", attrs.get("id") or ""):
            doomed.append(node)
    if not doomed:  # nothing to weigh against the text: skip measuring it
        return
    total = len(root.text(deep=True, separator=" ", strip=True)) or 1
    for node in doomed:
        if node.tag in ("html", "body", "main", "article") or node.mem_id == root.mem_id:
            continue
        if len(node.text(deep=True, separator=" ", strip=True)) < 0.4 * total:
            node.decompose()


@lru_cache(maxsize=8_192)  # bounded; class names repeat within a page and across a site
def _boilerplate_name(class_name: str, id_name: str) -> bool:
    if _CONTAINER_CLASS.search(class_name):
        return bool(_BOILERPLATE_ID.search(id_name))
    return bool(_BOILERPLATE_CLASS.search(class_name) or _BOILERPLATE_ID.search(id_name))


def _score(body: LexborNode) -> tuple[dict[int, float], dict[int, LexborNode], int, dict[int, int]]:
    scores: dict[int, float] = {}
    parents: dict[int, int] = {}  # paragraph parent -> characters of its voting paragraphs
    nodes: dict[int, LexborNode] = {}
    chains: dict[int, list[tuple[int, int]]] = {}  # parent -> its voting ancestors, walked once
    mass = 0
    for para in body.css(PARAGRAPHS):
        text = para.text()
        if len(text) >= MIN_PARAGRAPH and len(text := text.strip()) >= MIN_PARAGRAPH:
            mass += _vote(para, text, scores, nodes, chains, parents)
        elif text and (parent := para.parent) is not None:  # short ones count as paragraph text
            parents[parent.mem_id] = parents.get(parent.mem_id, 0) + len(text)
            nodes[parent.mem_id] = parent
    if mass < DIV_PASS_BELOW:
        for div in body.css("div"):  # text written straight into a <div>, <br>-separated
            text = div.text(deep=False)
            if len(text) >= DIV_PARAGRAPH and len(text := text.strip()) >= DIV_PARAGRAPH:
                mass += _vote(div, text, scores, nodes, chains, parents)
    return scores, nodes, mass, parents


def _vote(para: LexborNode, text: str, scores: dict[int, float], nodes: dict[int, LexborNode],
          chains: dict[int, list[tuple[int, int]]], parents: dict[int, int]) -> int:
    """Add a paragraph's points to its parent (full), grandparent (1/2), next (1/3)."""
    points = 1 + text.count(",") + min(len(text) // 100, 3)
    if not text.isascii():  # O(1): Arabic and CJK commas
        points += text.count("،") + text.count("，") + text.count("、")
    parent = para.parent
    if parent is not None:
        parents[parent.mem_id] = parents.get(parent.mem_id, 0) + len(text)
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


def _best(scores: dict[int, float], nodes: dict[int, LexborNode]) -> tuple[int, float]:
    """The best of the top raw-scored containers (branch and bound on the link density)."""
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)[:CANDIDATES]
    bounds = sorted(((scores[key] + _class_weight(nodes[key]), key) for key in ranked), reverse=True)
    best, best_final = ranked[0], float("-inf")
    for bound, key in bounds:
        if bound <= best_final:  # (1 - link density) <= 1: no better one is left
            break
        node = nodes[key]  # final score: the bound (score + class weight) times 1 - link density
        final = -1.0 if _in_furniture(node) else bound * (1 - _link_density(node))
        if final > best_final:
            best, best_final = key, final
    return best, best_final


def _widen(top: LexborNode, parents: dict[int, int], nodes: dict[int, LexborNode]) -> LexborNode:
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
        return top
    index = {n.mem_id: i for i, n in enumerate(chain)}
    good = [0] * len(chain)
    seen: dict[int, int] = {}  # node -> the chain index its paragraphs count for (-1: none)
    for key, chars in parents.items():
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
        if reached >= 0:
            good[reached] += chars
    base_text = len(top.text(strip=True))
    base_links = _link_chars(top)
    best, cumulative = top, good[0]
    for node, chars in zip(chain[1:], good[1:]):
        if not chars:
            continue
        cumulative += chars
        added = len(node.text(strip=True)) - base_text
        if added <= 0:
            continue
        if (cumulative - good[0]) >= WIDEN_PARAGRAPHS * added \
                and _link_chars(node) - base_links <= WIDEN_LINKS * added:
            best = node
    return best


def _link_chars(node: LexborNode) -> int:
    return sum(len(a.text(strip=True)) for a in node.css("a"))


def _furniture_node(node: LexborNode) -> bool:
    if node.tag in _FURNITURE_TAGS:
        return True
    attrs = node.attributes
    return bool(_FURNITURE.search(f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()))


def _in_furniture(node: LexborNode) -> bool:
    """Inside ``aside``/``nav``/``footer``/``header`` or a comments/sidebar container."""
    parent, level = node, 0
    while parent is not None and parent.tag not in ("body", "html"):
        if parent.tag in _FURNITURE_TAGS:
            return True
        if level < 2:
            attrs = parent.attributes
            if _FURNITURE.search(f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()):
                return True
        parent, level = parent.parent, level + 1
    return False


def _class_weight(node: LexborNode) -> float:
    attrs = node.attributes
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''} {attrs.get('itemprop') or ''}".lower()
    weight = 0.0
    if node.tag in ("article", "main") or "articlebody" in names:
        weight += 25
    if _NEGATIVE.search(names):
        weight -= 25
    if _POSITIVE.search(names):
        weight += 25
    return weight


def _link_density(node: LexborNode) -> float:
    text = len(node.text())
    if text == 0:
        return 1.0
    links = sum(len(a.text()) for a in node.css("a"))
    return min(1.0, links / text)


def _chunks(body: LexborNode, top: LexborNode, scores: dict[int, float]) -> list[LexborNode]:
    """Article bodies split into several containers of one class (``article__body`` x 3).

    Each chunk must have paragraphs of its own (a tenth of the winner's score), so a
    generic layout class (``row``, ``container``) does not pull in the whole page.
    """
    name = top.attributes.get("class")
    if not name or not _PLAIN_CLASS.match(name):
        return []
    same = body.css(f'{top.tag}[class="{name}"]')
    if len(same) < 2:
        return []
    least = max(3.0, 0.1 * scores.get(top.mem_id, 0.0))
    chosen: list[LexborNode] = []
    for node in same:
        if any(_contains(other, node) for other in chosen):
            continue
        if node.mem_id == top.mem_id or scores.get(node.mem_id, 0.0) >= least \
                and _link_density(node) < 0.25 and not _in_furniture(node):
            chosen.append(node)
    return chosen if len(chosen) > 1 else []


def _contains(outer: LexborNode, inner: LexborNode) -> bool:
    node = inner.parent
    while node is not None:
        if node.mem_id == outer.mem_id:
            return True
        node = node.parent
    return False


def _assemble(top: LexborNode, scores: dict[int, float]) -> list[LexborNode]:
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
            if _link_density(sibling) < 0.25:
                chosen.append(sibling)
        elif sibling.tag == "p":
            text = sibling.text(deep=True, separator=" ", strip=True)
            density = _link_density(sibling)
            if len(text) > 80 and density < 0.25 or (
                    0 < len(text) <= 80 and density == 0 and re.search(r"\.( |$)", text)):
                chosen.append(sibling)
    return chosen


def _without_link_lists(node: LexborNode) -> str:
    for block in node.css("ul, ol, dl, table"):
        if _link_density(block) > 0.5:
            block.decompose()
    for para in node.css("p:has(a)"):  # "Related: <a>headline</a>" paragraphs
        text = len(para.text(deep=True, separator=" ", strip=True))
        if 0 < text < 200 and _link_density(para) > 0.6:
            para.decompose()
    return node.html or ""


def _render(html: str, *, main_content: bool) -> list[str]:
    text = extract_plain_text(
        html, preserve_formatting=True, main_content=main_content, list_bullets=False,
        alt_texts=False, links=False, form_fields=False, noscript=False, comments=False,
    )
    return [block for line in text.splitlines() if (block := _squash(line))]


def _squash(line: str) -> str:
    """``line`` with its white space collapsed: ``" ".join(line.split())``, often cheaper."""
    if line.isprintable() and "  " not in line and not line.startswith(" ") and not line.endswith(" "):
        return line  # its only white space (all else is unprintable) is single inner spaces
    return " ".join(line.split())
