"""The dedup decision: LSH candidates, verified against stored signatures.

1. **Candidates.** The signature is cut into ``BANDS`` bands of ``ROWS`` values; a band key
   is the band's number plus its values. Entries sharing any key are candidates.
2. **Verify.** Each candidate's stored signature gives a Jaccard estimate ``J`` (share of
   equal MinHash values). From ``J`` and the two set sizes, the shared shingles are
   ``|A∩B| = J(|A|+|B|)/(1+J)``; the *containment* of the smaller document in the larger
   is ``|A∩B| / min(|A|, |B|)``. A candidate matches when

   * the containment is at least ``threshold`` (an abridged copy, or a copy with extra
     boilerplate, is almost wholly inside the other), and the smaller document is
     *substantial*: at least ``min_size`` shingles and ``min_ratio`` of the larger one
     (a story's shared first paragraph is not a copy of the story; the containment
     estimate is also too noisy below that ratio); or
   * the resemblance ``J`` itself is at least ``threshold`` (short texts).

   **Same site.** When both documents come from one registrable domain (``Doc.site``, else
   the ``site`` carried by a :class:`~stream.dedup.canonical.Rank`), they share that
   site's template, so containment and resemblance are inflated by its boilerplate
   (different stories on one site must stay apart): only a resemblance of at least
   ``same_site`` counts (the same page posted twice). Each entry stores its site key
   (:attr:`Entry.site`), so the rule holds after a restore and across instances.

   The best-scoring match's cluster wins (ties: the smaller cluster id).
3. **Claim.** The entry is inserted with :meth:`Index.claim`, an atomic compare-and-insert:
   when a key meanwhile holds documents not yet verified, they are verified and the claim
   is retried, so two processes never found two clusters for one story.
4. **Canonical.** :meth:`Index.promote` makes the document the cluster's canonical when its
   rank (:func:`stream.dedup.canonical.rank`) is strictly better; a duplicate that takes
   over an existing cluster is published again (``republish=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xxhash

from stream.dedup.fingerprint import NUM_PERM, Fingerprint
from stream.dedup.index import Canonical, Entry, Index

BANDS, ROWS = 32, 2  # the first BANDS*ROWS signature values; see docs/dedup.md
THRESHOLD = 0.6  # see docs/dedup.md for the sweep
MIN_SIZE = 40  # shingles: the smaller doc of a containment match (~ a 45-word paragraph)
MIN_RATIO = 0.2  # smaller/larger size for a containment match
SAME_SITE = 0.9  # resemblance needed between two pages of one site
assert BANDS * ROWS <= NUM_PERM


@dataclass(frozen=True, slots=True)
class Doc:
    """What the decision needs to know about one cleaned page."""

    doc_id: str
    fingerprint: Fingerprint
    event_time: float
    rank: tuple  # canonical preference, smaller is better
    site: str | None = None  # the page's host or URL (see :func:`registrable`); else ``rank.site``


_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go", "gob", "nic"}


def registrable(site: str) -> str:
    """The registrable domain of a host or URL: ``detroit.cbslocal.com`` -> ``cbslocal.com``,
    ``www.bbc.co.uk`` -> ``bbc.co.uk`` (a heuristic, no public-suffix list)."""
    host = site.lower().split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":")[0].strip(".")
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def site_key(site: str | None) -> int:
    """63-bit key of a site's registrable domain; 0 when unknown."""
    if not site:
        return 0
    return (xxhash.xxh64_intdigest(registrable(site).encode()) >> 1) or 1


@dataclass(frozen=True, slots=True)
class Decision:
    doc_id: str
    cluster_id: str
    canonical: bool  # this document is now the cluster's published version
    duplicate_of: str | None  # the cluster's canonical when this one is a duplicate
    similarity: float | None  # the match score (containment or resemblance), None for a founder
    republish: bool = False  # a better canonical for an existing cluster


def band_keys(signature: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> list[bytes]:
    sig = np.ascontiguousarray(signature[: bands * rows], dtype=np.uint32).reshape(bands, rows)
    return [i.to_bytes(2, "big") + sig[i].tobytes() for i in range(bands)]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard estimate of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Estimated share of the smaller set that is inside the larger one."""
    small = min(size_a, size_b)
    if small <= 0:
        return 0.0
    return min(1.0, jaccard * (size_a + size_b) / (1.0 + jaccard) / small)


def score(a: Fingerprint, b_signature: np.ndarray, b_size: int, min_size: int = MIN_SIZE,
          min_ratio: float = MIN_RATIO) -> float:
    """The match score of two documents: containment when it is meaningful, else Jaccard."""
    j = similarity(a.signature, b_signature)
    small, large = sorted((a.size, b_size))
    if small >= min_size and small >= min_ratio * large:
        return max(j, containment(j, a.size, b_size))
    return j


class Deduper:
    def __init__(self, index: Index, threshold: float = THRESHOLD, min_size: int = MIN_SIZE,
                 min_ratio: float = MIN_RATIO, same_site: float = SAME_SITE) -> None:
        self.index = index
        self.threshold = threshold
        self.min_size = min_size
        self.min_ratio = min_ratio
        self.same_site = same_site

    def match(self, doc: Doc, cand: Entry, site: int = 0) -> float:
        """The score of ``cand`` for ``doc`` (0 when it cannot match)."""
        if doc.fingerprint.size == 0 or cand.size == 0:  # nothing to compare
            return 0.0
        if site and cand.site == site:
            j = similarity(doc.fingerprint.signature, cand.signature)
            return j if j >= self.same_site else 0.0
        return score(doc.fingerprint, cand.signature, cand.size, self.min_size, self.min_ratio)

    def decide(self, doc: Doc) -> Decision:
        prior = self.index.lookup(doc.doc_id)
        if prior is not None:
            return self._replayed(doc, prior)
        keys = band_keys(doc.fingerprint.signature)
        site = site_key(doc.site or getattr(doc.rank, "site", None))
        seen: set[str] = {doc.doc_id}
        best: tuple[float, str] | None = None
        pending = self.index.candidates(keys)
        while True:
            for cand in pending:
                if cand.doc_id in seen:
                    continue
                seen.add(cand.doc_id)
                sim = self.match(doc, cand, site)
                # ties: the smaller cluster id, so the result does not depend on candidate order
                if sim >= self.threshold and (best is None or sim > best[0]
                                              or (sim == best[0] and cand.cluster_id < best[1])):
                    best = (sim, cand.cluster_id)
            cluster_id, sim = (best[1], best[0]) if best else (doc.doc_id, None)
            entry = Entry(doc.doc_id, cluster_id, doc.fingerprint.signature, doc.fingerprint.size,
                          doc.event_time, sim, site)
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

    def _replayed(self, doc: Doc, entry: Entry) -> Decision:
        """Same decision as the first time: a record is never a duplicate of itself. A first
        decision cut short after the claim (the index stopped answering) is finished here:
        the promotion it did not reach is tried again, and does nothing if it was reached."""
        current = self.index.canonical(entry.cluster_id)
        if (current is None or current.doc_id != entry.doc_id) and self.index.promote(
                entry.cluster_id, Canonical(doc.doc_id, doc.rank)):
            current = Canonical(doc.doc_id, doc.rank)
        if current is not None and current.doc_id == entry.doc_id:
            return Decision(entry.doc_id, entry.cluster_id, True, None, entry.similarity,
                            republish=entry.cluster_id != entry.doc_id)
        return Decision(entry.doc_id, entry.cluster_id, False,
                        current.doc_id if current else entry.cluster_id, entry.similarity)

