"""The Deduper's final clusters on prepared documents, a fast threshold sweep, and the order study.

* :func:`final_clusters`: the real :class:`~stream.dedup.Deduper` decides the documents in
  list order; each document's label is its *final* cluster, the root of its tree once every
  document is decided (``index.root(doc_id)``), which is also the cluster's canonical.
* :func:`matching_pairs` and :func:`components`: the same clusters for many thresholds from
  one pass. Every pair of LSH candidates scored by :meth:`Deduper.match` at the lowest
  threshold is kept; at a threshold ``t`` the clusters are the connected components of the
  pairs scoring at least ``t``, labelled by their first member in ``(rank, doc id)`` order.
  That is the Deduper's decision (the score and the band keys are symmetric, the Deduper
  unites a document with every match), so the sweep is faithful: the bench checks it
  against :func:`final_clusters` at the default threshold in every run, and
  ``tests/test_bench_clusters.py`` at several thresholds and orders.
* :func:`order_study`: the Deduper in several seeded shuffles of the same documents; the
  share of pages whose final cluster (as a set of pages), or whose cluster id (= canonical
  id), differs from the arrival order's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial

from bench.dedup_scores import label_changes, membership_changes, pairwise
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


def final_clusters(docs: Sequence[Doc | None], bands: int = decide_module.BANDS, **params: float) -> list[str]:
    """The Deduper's final cluster id of each document, deciding them in list order;
    ``params`` go to :class:`Deduper`. A missing document (the cleaner rejected the page) is
    a cluster of its own, ``x<position>``."""
    deduper = Deduper(MemoryIndex(bands=bands, changelog=False), **params)
    for d in docs:
        if d is not None:
            deduper.decide(d)
    return roots(deduper, docs)


def roots(deduper: Deduper, docs: Sequence[Doc | None]) -> list[str]:
    """Each decided document's final cluster id (its root); ``x<position>`` for a missing one."""
    return [f"x{i}" if d is None else deduper.index.root(d.doc_id).doc_id for i, d in enumerate(docs)]


def matching_pairs(docs: Sequence[Doc | None], **params: float) -> list[Pair]:
    """Every pair of LSH candidates whose match score reaches ``params["threshold"]`` (the
    other ``params`` go to :class:`Deduper` as well): candidates and scores as the Deduper
    finds them, without uniting anything."""
    deduper = Deduper(MemoryIndex(changelog=False), **params)
    index = deduper.index
    position = {d.doc_id: i for i, d in enumerate(docs) if d is not None}
    pairs: list[Pair] = []

    def verify(i: int, doc: Doc, site: int, entries: list[Entry], seen: set[str]) -> None:
        for cand in entries:
            if cand.doc_id not in seen:
                seen.add(cand.doc_id)
                score = deduper.match(doc, cand, site)
                if score >= deduper.threshold:
                    pairs.append((position[cand.doc_id], i, score))

    for i, doc in enumerate(docs):
        if doc is None:
            continue
        keys = decide_module.band_keys(doc.fingerprint.signature)
        site = site_key(doc.site or getattr(doc.rank, "site", None))
        seen = {doc.doc_id}
        verify(i, doc, site, index.candidates(keys), seen)
        entry = Entry(doc.doc_id, doc.doc_id, doc.fingerprint.signature, doc.fingerprint.size, tuple(doc.rank),
                      doc.event_time, None, site)
        verify(i, doc, site, index.insert(entry, keys, seen), seen)
    return pairs


def components(docs: Sequence[Doc | None], pairs: Sequence[Pair], threshold: float = 0.0) -> list[str]:
    """Clusters as connected components of the pairs scoring at least ``threshold``, each
    labelled by its first member in ``(rank, doc id)`` order (the Deduper's root)."""
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


def shuffled(docs: Sequence[Doc | None], order: Sequence[int], **params: float) -> list[str]:
    """:func:`final_clusters` of the documents decided in ``order``; labels in list order."""
    labels = final_clusters([docs[i] for i in order], **params)
    out = [""] * len(docs)
    for pos, i in enumerate(order):
        out[i] = f"x{i}" if labels[pos].startswith("x") else labels[pos]
    return out


def order_study(docs: Sequence[Doc | None], gold: Sequence[str], orders: int = 5, seed: int = 0,
                **params: float) -> dict[str, list[float]]:
    """The Deduper in ``orders`` seeded shuffles of the documents, each against the arrival
    order: the share of pages whose final cluster (as a set of pages) differs, the share
    whose cluster id (which is its canonical's id) differs, and the pair precision, recall
    and ARI of every order (the arrival order first)."""
    rng = random.Random(seed)
    first = shuffled(docs, range(len(docs)), **params)
    runs = [shuffled(docs, rng.sample(range(len(docs)), len(docs)), **params) for _ in range(orders)]
    scores = [pairwise(gold, labels) for labels in (first, *runs)]
    return {"members": [membership_changes(first, labels) for labels in runs],
            "cluster_id": [label_changes(first, labels) for labels in runs],
            **{k: [s[k] for s in scores] for k in ("precision", "recall", "ari")}}
