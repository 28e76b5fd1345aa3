"""Choosing the article's container: score paragraph containers, pick, widen, assemble.

1. **Score** (readability-style): each ``<p>``/``<pre>`` of 25+ characters gives its
   parent points for its length and commas, its grandparent half, the next ancestor a
   third. On a page with little paragraph text, list items, table cells and text
   written straight into a ``<div>`` vote too (recipes, forums, notices).
2. **Pick** the best of the top containers after a closer look: link density,
   class/id names (``article-body`` up, ``comment`` down); containers inside
   furniture (``aside``, ``footer``, comments, sidebars) are passed over.
3. **Widen** to the ancestor whose additions are text blocks (paragraphs, headings,
   list items, captions) with few links: an article split into sections.
4. **Assemble** the container and its siblings that score well or are clean
   paragraphs, or every container of the same tag and class when the article is split
   into chunks (``article__body`` x 3).

Only selectolax nodes are walked from Python: reading them costs ~0.3 us, against
~30 us for resiliparse's DOM.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from stream.clean.names import furniture_name, name_weight
from stream.clean.nodes import chars, link_density, links

MIN_PARAGRAPH = 25  # characters for a paragraph to vote for its ancestors
TEXT_BLOCKS = "p, pre, li, td, th, dt, dd, blockquote, figcaption, h2, h3, h4, h5, h6"
DIV_PASS_BELOW = 3_000  # paragraph characters below which items and <div> text vote too
DIV_PARAGRAPH = 80  # characters of text straight inside a <div> for it to count as a paragraph
MIN_SCORE = 0.0  # no candidate outside furniture scoring above this: the page as a whole
CANDIDATES = 5  # best raw-scored containers given the full (costlier) look
WIDEN_PARAGRAPHS = 0.65  # least share of text-block text in what an ancestor adds to the best container
WIDEN_LINKS = 0.2  # most share of link text in what it adds (or 1.5x the container's own)

_ITEMS = frozenset(("li", "td", "dd"))  # vote on pages with little paragraph text
_HOLDERS = frozenset(("li", "td", "th", "dt", "dd", "blockquote"))  # count the paragraphs in them
_FURNITURE_TAGS = frozenset(("aside", "nav", "footer", "header", "figure", "dialog"))
_PLAIN_CLASS = re.compile(r"^[\w -]{1,200}$")  # class values safe to quote in a selector


def choose(body: LexborNode) -> tuple[list[LexborNode], int | None]:
    """The containers that hold the article, in page order, and the characters of the
    one container when it is one and was measured (None otherwise).

    A page without a scoring container outside furniture is one container: ``body``.
    """
    linked = links(body)  # element -> characters of link text in it, summed once a page
    scores, nodes, blocks, others = _score(body, linked)
    best, best_final = _best(scores, nodes, linked) if scores else (0, 0.0)
    if best_final <= MIN_SCORE:
        return [body], None
    top, size = _widen(nodes[best], blocks, others, nodes, linked)
    chosen = _chunks(body, top, scores, nodes, linked) or _assemble(top, scores, linked)
    return chosen, size if len(chosen) == 1 and chosen[0].mem_id == top.mem_id else None


def _score(body: LexborNode, linked: dict[int, int]
           ) -> tuple[dict[int, float], dict[int, LexborNode], dict[int, int], dict[int, list]]:
    """Votes of the page's paragraphs (``scores``, of ``nodes``), and its text blocks by parent.

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
            if len(text) >= MIN_PARAGRAPH and linked.get(item.mem_id, 0) < 0.5 * len(text):
                mass += _vote(item.parent, text, scores, nodes, chains)  # not a menu entry or a headline
        for div in body.css("div"):  # text written straight into a <div>, <br>-separated
            text = div.text(deep=False)
            if len(text) >= DIV_PARAGRAPH and len(text := text.strip()) >= DIV_PARAGRAPH \
                    and (parent := div.parent) is not None:
                blocks[parent.mem_id] = blocks.get(parent.mem_id, 0) + len(text)
                mass += _vote(parent, text, scores, nodes, chains)
    return scores, nodes, blocks, others


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


def _best(scores: dict[int, float], nodes: dict[int, LexborNode], linked: dict[int, int]) -> tuple[int, float]:
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
        final = bound * (1 - link_density(node, linked))  # the bound (score + class weight) times 1 - link density
        if final > best_final:
            best, best_final = key, final
    return best, best_final


def _widen(top: LexborNode, blocks: dict[int, int], others: dict[int, list[LexborNode]],
           nodes: dict[int, LexborNode], linked: dict[int, int]) -> tuple[LexborNode, int]:
    """The highest ancestor of ``top`` whose additions are text blocks with few links, and
    its characters.

    An article split into sections (a heading, an image and a few paragraphs each) has
    its best-scored container around one section; the ancestor that holds all of them
    adds text blocks (:data:`WIDEN_PARAGRAPHS` of what it adds) and few links
    (:data:`WIDEN_LINKS`). The page around it adds menus, teasers and footers: text
    outside blocks, or links. Blocks under furniture do not count.
    """
    chain: list[LexborNode] = []
    node = top
    while node is not None and node.tag not in ("body", "html", "#document"):
        chain.append(node)
        node = node.parent
    if len(chain) < 2:
        return top, chars(top)
    index = {n.mem_id: i for i, n in enumerate(chain)}
    good = [0] * len(chain)
    seen: dict[int, int] = {}  # node -> the chain index its paragraphs count for (-1: none)
    for key in blocks.keys() | others.keys():
        reached = _reach(nodes[key], index, seen)
        if reached > 0:  # (inside ``top`` itself, they add nothing)
            good[reached] += blocks.get(key, 0) + sum(len(other.text().strip()) for other in others.get(key, ()))
    base_text = chars(top)
    last = max((i for i in range(1, len(chain)) if good[i]), default=0)
    candidates: list[tuple[int, int]] = []  # chain index, characters it adds to ``top``
    added = added_good = 0
    for i in range(1, last + 1):  # what each level adds: its children but the level below
        below = chain[i - 1].mem_id
        added += sum(chars(child) for child in chain[i].iter(include_text=True) if child.mem_id != below)
        if good[i]:
            added_good += good[i]
            if added > 0 and added_good >= WIDEN_PARAGRAPHS * added:
                candidates.append((i, added))
    best, size = top, base_text
    if candidates:
        inside = [linked.get(node.mem_id, 0) for node in chain]  # link characters in each level
        ratio = max(WIDEN_LINKS, 1.5 * inside[0] / (base_text or 1))  # no more link-dense than the article
        for i, added in candidates:
            if inside[i] - inside[0] <= ratio * added:
                best, size = chain[i], base_text + added
    return best, size


def _reach(node: LexborNode | None, index: dict[int, int], seen: dict[int, int]) -> int:
    """The chain index of the first of ``node`` and its ancestors that is in the chain;
    -1 when ``body`` or a furniture element comes first. Every node walked is remembered
    in ``seen``, so each is walked once."""
    path, reached = [], -1
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
    return reached


def _furniture_node(node: LexborNode) -> bool:
    if node.tag in _FURNITURE_TAGS:
        return True
    attrs = node.attributes
    return furniture_name(attrs.get("class") or "", attrs.get("id") or "")


def _in_furniture(node: LexborNode) -> bool:
    """Inside ``aside``/``nav``/``footer``/``header`` or a comments/sidebar container."""
    parent, level = node, 0
    while parent is not None and parent.tag not in ("body", "html"):
        if parent.tag in _FURNITURE_TAGS:
            return True
        if level < 2:
            attrs = parent.attributes
            if furniture_name(attrs.get("class") or "", attrs.get("id") or ""):
                return True
        parent, level = parent.parent, level + 1
    return False


def _class_weight(node: LexborNode) -> float:
    attrs = node.attributes
    body, weight = name_weight(attrs.get("class") or "", attrs.get("id") or "", attrs.get("itemprop") or "")
    return weight + 25 if body or node.tag in ("article", "main") else weight


def _chunks(body: LexborNode, top: LexborNode, scores: dict[int, float],
            nodes: dict[int, LexborNode], linked: dict[int, int]) -> list[LexborNode]:
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
                and link_density(node, linked) < 0.25 and not _in_furniture(node):
            chosen.append(node)
    return chosen if len(chosen) > 1 else []


def _contains(outer: LexborNode, inner: LexborNode) -> bool:
    node = inner.parent
    while node is not None:
        if node.mem_id == outer.mem_id:
            return True
        node = node.parent
    return False


def _assemble(top: LexborNode, scores: dict[int, float], linked: dict[int, int]) -> list[LexborNode]:
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
            if link_density(sibling, linked) < 0.25:
                chosen.append(sibling)
        elif sibling.tag == "p":
            text = sibling.text(deep=True, separator=" ", strip=True)
            density = link_density(sibling, linked)
            if len(text) > 80 and density < 0.25 or (
                    0 < len(text) <= 80 and density == 0 and re.search(r"\.( |$)", text)):
                chosen.append(sibling)
    return chosen
