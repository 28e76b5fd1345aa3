"""Small measures and edits of selectolax nodes shared by the container choice and pruning."""

from __future__ import annotations

from selectolax.lexbor import LexborNode


def chars(node: LexborNode) -> int:
    """Characters of ``node``'s text but white space (indentation must not weigh)."""
    text = node.text()
    return len(text) - text.count(" ") - text.count("\t")


def decompose(nodes: list[LexborNode]) -> None:
    """Decompose ``nodes``, a query's result (page order), innermost first.

    Decomposing a node frees its subtree: a node inside it goes first, while it lives.
    """
    for node in reversed(nodes):
        node.decompose()


def remove(nodes: list[LexborNode]) -> None:
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


def link_density(node: LexborNode, linked: dict[int, int]) -> float:
    """Share of ``node``'s text in links; ``linked`` is :func:`links` of a root above it."""
    text = len(node.text())
    return min(1.0, linked.get(node.mem_id, 0) / text) if text else 1.0


def links(root: LexborNode, found: dict[int, LexborNode] | None = None) -> dict[int, int]:
    """Characters of link text inside each element of ``root`` (itself included) that holds
    a link; ``found`` gets those elements by id.

    One query; the links' lengths go up one level at a time, so each ancestor is summed
    once per level it is reached at, not once per link.
    """
    level: dict[int, list] = {}  # node -> [node, link characters coming up from below]
    for link in root.css("a"):
        if length := chars(link):
            parent = link.parent
            level.setdefault(parent.mem_id, [parent, 0])[1] += length
    totals: dict[int, int] = {}
    top = root.mem_id
    while level:
        above: dict[int, list] = {}
        for key, (node, length) in level.items():
            totals[key] = totals.get(key, 0) + length
            if found is not None:
                found[key] = node
            if key != top and (parent := node.parent) is not None:
                above.setdefault(parent.mem_id, [parent, 0])[1] += length
        level = above
    return totals
