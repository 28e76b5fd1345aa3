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
3. **Insert.** The entry goes in as a root of its own under its band keys
   (:meth:`Index.insert`). For each key the index returns who held it before, so another
   process's copy inserted at the same moment is seen by at least one of the two; it is
   verified like a candidate.
4. **Unite.** A cluster is a connected component of the match relation: the document and
   the roots of all its matches become one tree, whose root is the member first in
   ``(rank, doc id)`` order (:func:`stream.dedup.canonical.rank`), the cluster's
   canonical. Every other root is linked under it (:meth:`Index.link`, a compare-and-set);
   their clusters are *retired*: a document that matches two clusters merges them, and a
   better-ranked copy arriving later becomes the root of its cluster. Membership, root and
   canonical are therefore a function of the set of documents, not of their order.

The cluster id is the root's doc id, which is also the canonical's id. A decision reports
the retired cluster ids (``replaces``), so the service can delete their keys. A document
decided again (re-delivery, or a batch processed again after an outage cut its decision
short) finishes what the first decision may not have reached, and gets the cluster's
current state back: it is never a duplicate of itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xxhash

from stream.dedup.fingerprint import NUM_PERM, Fingerprint
from stream.dedup.index import Entry, Index

BANDS, ROWS = 32, 2  # the first BANDS*ROWS signature values; see docs/dedup.md
THRESHOLD = 0.6  # see docs/dedup.md for the sweep
MIN_SIZE = 40  # shingles: the smaller doc of a containment match (~ a 45-word paragraph)
MIN_RATIO = 0.15  # smaller/larger size for a containment match (0.1 chains clusters; see docs/dedup.md)
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
    cluster_id: str  # the cluster's root, which is its canonical
    canonical: bool  # this document is the cluster's canonical
    duplicate_of: str | None  # the cluster's canonical when this one is a duplicate
    similarity: float | None  # its best match score (containment or resemblance), None for none
    replaces: tuple[str, ...] = ()  # cluster ids this decision retired: linked under cluster_id


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
        keys = band_keys(doc.fingerprint.signature)
        site = site_key(doc.site or getattr(doc.rank, "site", None))
        prior = self.index.lookup(doc.doc_id)
        seen: set[str] = {doc.doc_id}
        scores: dict[str, float] = {}
        self._verify(doc, site, self.index.candidates(keys), seen, scores)
        if prior is None:
            entry = Entry(doc.doc_id, doc.doc_id, doc.fingerprint.signature, doc.fingerprint.size, tuple(doc.rank),
                          doc.event_time, max(scores.values(), default=None), site)
            self._verify(doc, site, self.index.insert(entry, keys, seen), seen, scores)
            similarity = max(scores.values(), default=None)
        else:
            similarity = prior.similarity
        if prior is None and not scores and not self.index.shared:
            root, retired = doc.doc_id, []  # a new story: a cluster of its own
        else:
            root, retired = self._unite(doc.doc_id, scores)
        if prior is not None:  # decided before: what that decision retired, finished or not
            retired = self._retired_by(doc.doc_id, scores)
        if self.index.shared:  # another process may have linked it meanwhile: as the cluster is now
            now = self.index.root(doc.doc_id)
            root = now.doc_id if now is not None else root
        canonical = root == doc.doc_id
        return Decision(doc.doc_id, root, canonical, None if canonical else root, similarity, tuple(sorted(retired)))

    def _verify(self, doc: Doc, site: int, entries: list[Entry], seen: set[str], scores: dict[str, float]) -> None:
        """Score the entries not seen yet; keep the matches."""
        for cand in entries:
            if cand.doc_id in seen:
                continue
            seen.add(cand.doc_id)
            sim = self.match(doc, cand, site)
            if sim >= self.threshold:
                scores[cand.doc_id] = sim

    def _unite(self, doc_id: str, matches: dict[str, float]) -> tuple[str, list[str]]:
        """Make ``doc_id`` and its matches one tree under the first root in ``(rank, id)``
        order; return that root's id and the roots this call linked under it (``doc_id``
        itself excepted). A link fails only when another process linked that root meanwhile:
        look again."""
        retired: list[str] = []
        while True:
            roots = {}
            for member in (doc_id, *matches):
                root = self.index.root(member)
                if root is not None:  # None: expired meanwhile
                    roots[root.doc_id] = root
            if len(roots) <= 1:
                return next(iter(roots), doc_id), retired
            first, *rest = sorted(roots.values(), key=Entry.order)
            raced = False
            for root in rest:
                if self.index.link(root.doc_id, first.doc_id, doc_id) is None:
                    if root.doc_id != doc_id:
                        retired.append(root.doc_id)
                else:
                    raced = True
            if not raced:
                return first.doc_id, retired

    def _retired_by(self, doc_id: str, matches: dict[str, float]) -> list[str]:
        """The nodes that ``doc_id``'s decision linked, found on the paths from its matches
        to their root (``Entry.linked_by``)."""
        out, walked = set(), set()
        for member in matches:
            node = self.index.lookup(member)
            while node is not None and not node.is_root and node.doc_id not in walked:
                walked.add(node.doc_id)
                if node.linked_by == doc_id and node.doc_id != doc_id:
                    out.add(node.doc_id)
                node = self.index.lookup(node.parent)
        return sorted(out)
