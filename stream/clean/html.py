"""Main content of an HTML page: prune, score paragraph containers, render the winner.

1. **Prune** (CSS, in C): tags that are never article text (``script``, ``nav``,
   ``aside``, ``footer``, ``figure``, forms controls...) and elements whose class or id
   names a known boilerplate role (share, related, comments, newsletter...), unless the
   element holds most of the page's text (a ``<body class="has-sidebar">``).
2. **Score** (readability-style): each paragraph of 25+ characters gives its parent a
   score from its length and commas, its grandparent half and the next ancestor a third;
   a container's score is scaled down by its link density and nudged by class/id names
   (``article-body`` up, ``comment`` down). Only the few scored nodes are inspected.
3. **Assemble**: the best container plus those siblings that score well or are clean
   paragraphs; link-dense lists and blocks inside it are dropped.
4. **Render** with resiliparse's plain-text extractor (block-aware, C++), one line per
   block. Pages where paragraphs carry little of the text (``<br>``-separated text)
   fall back to resiliparse's main-content heuristics over the pruned page.
"""

from __future__ import annotations

import re

from resiliparse.extract.html2text import extract_plain_text
from selectolax.lexbor import LexborHTMLParser, LexborNode

MIN_PARAGRAPH = 25  # characters for a paragraph to vote for its ancestors
PARAGRAPHS = "p, pre, div"
DIV_PARAGRAPH = 80  # characters of text straight inside a <div> for it to count as a paragraph
MIN_MASS = 300  # characters of paragraph text below which the page has no paragraph structure
MIN_SCORE = 10.0  # a best container scoring less means no paragraph structure either
CANDIDATES = 5  # best raw-scored containers given the full (costlier) look

_NEVER_TEXT = (
    "script, style, noscript, template, svg, math, iframe, object, embed, canvas, map, "
    "button, select, textarea, input, label, nav, aside, footer, header, figure, figcaption, "
    "picture, video, audio, dialog, menu, h1, [hidden], [aria-hidden=true], "
    "[role=navigation], [role=complementary], [role=contentinfo], [role=banner], "
    "[role=dialog], [role=alert], [style*='display:none'], [style*='display: none']"
)
_BOILERPLATE_NAMES = (
    "share", "social", "related", "newsletter", "comment", "sidebar", "breadcrumb",
    "subscribe", "signup", "sign-up", "cookie", "consent", "popup", "modal", "promo",
    "advert", "sponsor", "recommend", "outbrain", "taboola", "byline", "author",
    "caption", "credit", "toolbar", "disqus", "rating", "tags", "keywords",
    "dateline", "timestamp", "published", "read-more", "readmore", "more-stories",
    "most-popular", "trending", "banner", "masthead", "sr-only", "visually-hidden",
    "screen-reader", "skip-link", "rollover", "tooltip", "popover", "hovercard", "print-only", "pagination", "pager", "nav", "menu",
)
_BOILERPLATE = ", ".join(
    [f"[class*={name}]" for name in _BOILERPLATE_NAMES]
    + [f"[id*={name}]" for name in ("comment", "sidebar", "related", "share", "social", "newsletter")]
)
_FURNITURE_TAGS = frozenset(("aside", "nav", "footer", "header", "figure", "dialog"))
_FURNITURE = re.compile(r"comment|sidebar|related|footer|recommend|outbrain|taboola|popular", re.I)
_POSITIVE = re.compile(
    r"article|body|content|entry|main|post|story|text|blog|prose|rich|markdown|news", re.I)
_NEGATIVE = re.compile(
    r"comment|related|sidebar|footer|share|social|promo|sponsor|widget|teaser|card|"
    r"nav|menu|meta|byline|author|caption|ad-|ads|banner|outbrain|taboola|recommend|"
    r"more|popular|trending|newsletter|subscribe|tag", re.I)


def main_blocks(tree: LexborHTMLParser) -> list[str]:
    """Return the article's blocks (paragraphs, headings, list items) in page order."""
    body = tree.body
    if body is None:
        return []
    scores, nodes, mass = _score(body)
    if mass < MIN_MASS:
        _prune(body)
        return _render(body.html or "", main_content=True)
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)[:CANDIDATES]
    finals = {key: _final(nodes[key], scores[key]) for key in ranked}
    best = max(finals, key=finals.__getitem__)
    if finals[best] < MIN_SCORE:
        _prune(body)
        return _render(body.html or "", main_content=True)
    chosen = _chunks(body, nodes[best]) or _assemble(nodes[best], scores)
    for node in chosen:
        _prune(node)
    html = "".join(_without_link_lists(node) for node in chosen)
    return _render(html, main_content=False)


def _prune(root: LexborNode) -> None:
    for node in root.css(_NEVER_TEXT):
        node.decompose()
    total = len(root.text(deep=True, separator=" ", strip=True)) or 1
    for node in root.css(_BOILERPLATE):
        if node.tag in ("html", "body", "main", "article") or node.mem_id == root.mem_id:
            continue
        if len(node.text(deep=True, separator=" ", strip=True)) < 0.4 * total:
            node.decompose()


def _score(body: LexborNode) -> tuple[dict[int, float], dict[int, LexborNode], int]:
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    mass = 0
    for para in body.css(PARAGRAPHS):
        if para.tag == "div":  # text written straight into a <div>, <br>-separated
            text = para.text(deep=False)
            least = DIV_PARAGRAPH
        else:
            text = para.text()
            least = MIN_PARAGRAPH
        if len(text) >= least and len(text := text.strip()) >= least:
            mass += _vote(para, text, scores, nodes)
    return scores, nodes, mass


def _vote(para: LexborNode, text: str, scores: dict[int, float], nodes: dict[int, LexborNode]) -> int:
    """Add a paragraph's points to its parent (full), grandparent (1/2), next (1/3)."""
    points = 1 + text.count(",") + text.count("،") + text.count("，") + min(len(text) // 100, 3)
    node = para.parent
    for level in (1, 2, 3):
        if node is None or node.tag in ("html", "#document"):
            break
        key = node.mem_id
        nodes[key] = node
        scores[key] = scores.get(key, 0.0) + points / level
        node = node.parent
    return len(text)


def _final(node: LexborNode, score: float) -> float:
    if _in_furniture(node):
        return -1.0
    return (score + _class_weight(node)) * (1 - _link_density(node))


def _in_furniture(node: LexborNode) -> bool:
    """Inside ``aside``/``nav``/``footer``/``header`` or a comments/sidebar container."""
    parent, level = node, 0
    while parent is not None and parent.tag not in ("body", "html"):
        if parent.tag in _FURNITURE_TAGS:
            return True
        if level < 2:
            attrs = parent.attributes
            if _FURNITURE.search(f"{attrs.get('class') or ''} {attrs.get('id') or ''}"):
                return True
        parent, level = parent.parent, level + 1
    return False


def _class_weight(node: LexborNode) -> float:
    attrs = node.attributes
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''} {attrs.get('itemprop') or ''}"
    weight = 0.0
    if node.tag in ("article", "main") or "articleBody" in names:
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


def _chunks(body: LexborNode, top: LexborNode) -> list[LexborNode]:
    """Article bodies split into several containers of one class (``article__body`` x 3)."""
    name = top.attributes.get("class")
    if not name or '"' in name or "\\" in name:
        return []
    same = body.css(f'{top.tag}[class="{name}"]')
    if len(same) < 2:
        return []
    chosen: list[LexborNode] = []
    for node in same:
        if any(_contains(other, node) for other in chosen):
            continue
        if node.mem_id == top.mem_id or (_link_density(node) < 0.25 and not _in_furniture(node)):
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
        text = block.text(deep=True, separator=" ", strip=True)
        if not text:
            continue
        if _link_density(block) > 0.5 and (block.tag != "p" or len(text) < 200):
            block.decompose()
    return node.html or ""


def _render(html: str, *, main_content: bool) -> list[str]:
    text = extract_plain_text(
        html, preserve_formatting=True, main_content=main_content, list_bullets=False,
        alt_texts=False, links=False, form_fields=False, noscript=False, comments=False,
    )
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]
