"""The dedup decision: LSH candidates, verified against stored signatures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stream.dedup.fingerprint import Fingerprint
from stream.dedup.index import Canonical, Entry, Index

BANDS, ROWS = 32, 4


@dataclass(frozen=True, slots=True)
class Doc:
    """What the decision needs to know about one cleaned page."""

    doc_id: str
    fingerprint: Fingerprint
    event_time: float
    rank: tuple  # canonical preference, smaller is better


@dataclass(frozen=True, slots=True)
class Decision:
    doc_id: str
    cluster_id: str
    canonical: bool  # this document is now the cluster's published version
    duplicate_of: str | None  # the cluster's canonical when this one is a duplicate
    similarity: float | None
    republish: bool = False  # a better canonical for an existing cluster


def band_keys(signature: np.ndarray) -> list[bytes]:
    return [i.to_bytes(2, "big") + signature[i * ROWS : (i + 1) * ROWS].tobytes() for i in range(BANDS)]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


class Deduper:
    def __init__(self, index: Index, threshold: float = 0.5) -> None:
        self.index = index
        self.threshold = threshold

    def decide(self, doc: Doc) -> Decision:
        prior = self.index.lookup(doc.doc_id)
        if prior is not None:
            return self._replayed(prior)
        keys = band_keys(doc.fingerprint.signature)
        seen: set[str] = set()
        best: tuple[float, str] | None = None
        pending = self.index.candidates(keys)
        while True:
            for cand in pending:
                seen.add(cand.doc_id)
                sim = similarity(doc.fingerprint.signature, cand.signature)
                if sim >= self.threshold and (best is None or (sim, cand.cluster_id) > best):
                    best = (sim, cand.cluster_id)
            cluster_id, sim = (best[1], best[0]) if best else (doc.doc_id, None)
            entry = Entry(doc.doc_id, cluster_id, doc.fingerprint.signature, doc.fingerprint.size, doc.event_time, sim)
            pending = self.index.claim(entry, keys, seen)
            if not pending:
                break
        promoted = self.index.promote(cluster_id, Canonical(doc.doc_id, doc.rank))
        if best is None:
            return Decision(doc.doc_id, cluster_id, True, None, None)
        if promoted:
            return Decision(doc.doc_id, cluster_id, True, None, sim, republish=True)
        current = self.index.canonical(cluster_id)
        return Decision(doc.doc_id, cluster_id, False, current.doc_id if current else cluster_id, sim)

    def _replayed(self, entry: Entry) -> Decision:
        """Same decision as the first time: a record is never a duplicate of itself."""
        current = self.index.canonical(entry.cluster_id)
        if current is not None and current.doc_id == entry.doc_id:
            return Decision(entry.doc_id, entry.cluster_id, True, None, entry.similarity,
                            republish=entry.cluster_id != entry.doc_id)
        return Decision(entry.doc_id, entry.cluster_id, False,
                        current.doc_id if current else entry.cluster_id, entry.similarity)
