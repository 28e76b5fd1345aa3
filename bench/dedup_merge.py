"""Two decision semantics on prepared documents, and how much the arrival order matters.

* **First match joins** (today's :class:`~stream.dedup.Deduper`): each document joins the
  cluster of its best match among the documents before it, or founds one.
* **Merge** (connected components): every pair of documents that match (LSH candidates
  from a :class:`~stream.dedup.MemoryIndex`, scored by :meth:`Deduper.match`) is joined;
  clusters are the components of that relation, keyed by their best-ranked member. The
  score is symmetric and so are the band keys, so the clusters do not depend on the order.

:func:`order_study` decides the same documents in several seeded orders and reports the
share of pages whose cluster (as a set of pages) differs from the first order's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial

from bench.dedup_scores import membership_changes, pairwise
from stream.dedup import Deduper, Doc, MemoryIndex
from stream.dedup import decide as decide_module
from stream.dedup.decide import site_key
from stream.dedup.index import Entry

Pair = tuple[int, int, float]  # positions in the document list, and their match score


@contextmanager
def banding(bands: int, rows: int) -> Iterator[None]:
    """Band keys of ``bands`` x ``rows`` signature values for the decisions made inside."""
    original = decide_module.band_keys
    decide_module.band_keys = partial(original, bands=bands, rows=rows)
    try:
        yield
    finally:
        decide_module.band_keys = original


def first_match(docs: Sequence[Doc | None], bands: int = decide_module.BANDS, **params: float) -> list[str]:
    """Today's decision, in list order; ``params`` go to :class:`Deduper`. A missing
    document (the cleaner rejected the page) is a cluster of its own."""
    deduper = Deduper(MemoryIndex(bands=bands, changelog=False), **params)
    return [f"x{i}" if d is None else deduper.decide(d).cluster_id for i, d in enumerate(docs)]


def matching_pairs(docs: Sequence[Doc | None], bands: int = decide_module.BANDS, **params: float) -> list[Pair]:
    """Every pair of LSH candidates whose match score reaches ``params["threshold"]``
    (the other ``params`` go to :class:`Deduper` as well)."""
    deduper = Deduper(MemoryIndex(bands=bands, changelog=False), **params)
    index = deduper.index
    position = {d.doc_id: i for i, d in enumerate(docs) if d is not None}
    pairs: list[Pair] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        keys = decide_module.band_keys(doc.fingerprint.signature)
        site = site_key(doc.site or getattr(doc.rank, "site", None))
        seen = {doc.doc_id}
        for cand in index.candidates(keys):
            if cand.doc_id in seen:
                continue
            seen.add(cand.doc_id)
            score = deduper.match(doc, cand, site)
            if score >= deduper.threshold:
                pairs.append((position[cand.doc_id], i, score))
        entry = Entry(doc.doc_id, doc.doc_id, doc.fingerprint.signature, doc.fingerprint.size,
                      doc.event_time, None, site)
        assert not index.claim(entry, keys, seen)
    return pairs


def components(docs: Sequence[Doc | None], pairs: Sequence[Pair], threshold: float = 0.0) -> list[str]:
    """Clusters as connected components of the pairs scoring at least ``threshold``, each
    labelled by its best-ranked member's id (ties: the smaller id)."""
    parent = list(range(len(docs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, score in pairs:
        if score >= threshold:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    best: dict[int, tuple] = {}
    for i, d in enumerate(docs):
        if d is not None:
            r = root(i)
            key = (tuple(d.rank), d.doc_id)
            if r not in best or key < best[r]:
                best[r] = key
    return [f"x{i}" if d is None else best[root(i)][1] for i, d in enumerate(docs)]


def merged(docs: Sequence[Doc | None], **params: float) -> list[str]:
    """The merge semantics in one call."""
    return components(docs, matching_pairs(docs, **params))


def _in_order(decide, docs: Sequence[Doc | None], order: Sequence[int]) -> list[str]:
    """``decide`` on the documents in ``order``; labels back in list order."""
    labels = decide([docs[i] for i in order])
    out = [""] * len(docs)
    for pos, i in enumerate(order):
        out[i] = labels[pos] if not labels[pos].startswith("x") else f"x{i}"
    return out


def order_study(docs: Sequence[Doc | None], gold: Sequence[str], orders: int = 5, seed: int = 0,
                **params: float) -> dict[str, dict[str, list[float]]]:
    """Both semantics in ``orders`` seeded shuffles of the documents (the first order is
    the arrival order): per order, the share of pages whose cluster differs from the first
    order's, and the pair precision, recall and ARI."""
    rng = random.Random(seed)
    shuffles = [list(range(len(docs)))]
    for _ in range(orders - 1):
        shuffles.append(rng.sample(range(len(docs)), len(docs)))
    out: dict[str, dict[str, list[float]]] = {}
    for name, decide in (("first match joins", partial(first_match, **params)),
                         ("merge (components)", partial(merged, **params))):
        runs = [_in_order(decide, docs, order) for order in shuffles]
        scores = [pairwise(gold, labels) for labels in runs]
        out[name] = {"changed": [membership_changes(runs[0], labels) for labels in runs[1:]],
                     **{k: [s[k] for s in scores] for k in ("precision", "recall", "ari")}}
    return out
