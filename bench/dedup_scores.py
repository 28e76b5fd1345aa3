"""Scores of a clustering against the benchmark's gold stories.

* :func:`pairwise`: precision, recall, F1 over all page pairs, and the adjusted Rand index.
* :func:`by_group`: the same pair precision and recall per kind of page (the story's set,
  language and shape; the edits a copy went through), so that a weak spot shows as a row.
  A page's pairs are its pairs with every other page; a pair counts in a page's groups.
* :func:`false_merges`: the wrongly joined pairs by cause (one site, a follow-up, other).
* :func:`membership_changes`: the share of pages whose cluster (as a set of pages) differs
  between two clusterings of the same pages; :func:`label_changes`: whose cluster id does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from stream.dedup.decide import registrable


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Pairwise precision, recall, F1 and the adjusted Rand index of a clustering."""
    both = sum(_pairs(c) for c in Counter(zip(gold, pred)).values())
    p_pairs = sum(_pairs(c) for c in Counter(pred).values())
    g_pairs = sum(_pairs(c) for c in Counter(gold).values())
    precision = both / p_pairs if p_pairs else 1.0
    recall = both / g_pairs if g_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    expected = p_pairs * g_pairs / _pairs(len(gold)) if len(gold) > 1 else 0.0
    top = (p_pairs + g_pairs) / 2
    ari = (both - expected) / (top - expected) if top != expected else 1.0
    return {"precision": precision, "recall": recall, "f1": f1, "ari": ari}


def by_group(gold: Sequence[str], pred: Sequence[str],
             groups: Sequence[Iterable[str]]) -> dict[str, dict[str, float]]:
    """Pair precision and recall of the pages of each group (``groups[i]``: page i's groups)."""
    both, g_size, p_size = Counter(zip(gold, pred)), Counter(gold), Counter(pred)
    rows: dict[str, Counter] = {}
    for g, p, names in zip(gold, pred, groups):
        for name in names:
            row = rows.setdefault(name, Counter())
            row["pages"] += 1
            row["hit"] += both[g, p] - 1
            row["gold"] += g_size[g] - 1
            row["pred"] += p_size[p] - 1
    return {name: {"pages": r["pages"], "gold_pairs": r["gold"], "pred_pairs": r["pred"],
                   "recall": r["hit"] / r["gold"] if r["gold"] else 1.0,
                   "precision": r["hit"] / r["pred"] if r["pred"] else 1.0}
            for name, r in sorted(rows.items())}


def false_merges(records: Sequence[dict], pred: Sequence[str]) -> Counter:
    """Wrongly joined pairs by cause: ``one site`` (both pages on one registrable domain),
    ``follow-up`` (a story and its follow-up), else ``other``."""
    clusters: dict[str, list[int]] = {}
    for i, p in enumerate(pred):
        clusters.setdefault(p, []).append(i)
    causes: Counter = Counter()
    for members in clusters.values():
        for a in range(len(members)):
            ra = records[members[a]]
            for b in members[a + 1:]:
                rb = records[b]
                if ra["_story"] == rb["_story"]:
                    continue
                if registrable(urlsplit(ra["url"]).netloc) == registrable(urlsplit(rb["url"]).netloc):
                    causes["one site"] += 1
                elif ra["_story"].rstrip("f") == rb["_story"].rstrip("f"):
                    causes["follow-up"] += 1
                else:
                    causes["other"] += 1
    return causes


def members(labels: Sequence[str]) -> list[frozenset[int]]:
    """Each page's cluster as the set of its pages."""
    clusters: dict[str, set[int]] = {}
    for i, lab in enumerate(labels):
        clusters.setdefault(lab, set()).add(i)
    frozen = {lab: frozenset(m) for lab, m in clusters.items()}
    return [frozen[lab] for lab in labels]


def membership_changes(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of pages whose cluster, as a set of pages, differs between ``a`` and ``b``."""
    ma, mb = members(a), members(b)
    return sum(x != y for x, y in zip(ma, mb)) / len(ma) if ma else 0.0


def label_changes(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of pages whose cluster id differs between ``a`` and ``b``."""
    return sum(x != y for x, y in zip(a, b)) / len(a) if a else 0.0
