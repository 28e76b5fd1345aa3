"""The dedup index: one narrow interface, several backends.

The decision logic (:mod:`stream.dedup.decide`) talks only to :class:`Index`.
Every write that could race between service instances is one atomic call
(:meth:`Index.claim`, :meth:`Index.promote`), so a backend shared between
processes (Redis) can implement it as a single script.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Entry:
    """One indexed document and the decision it got."""

    doc_id: str
    cluster_id: str
    signature: np.ndarray  # uint32[num_perm]
    size: int  # distinct shingles
    event_time: float  # epoch seconds, drives expiry
    similarity: float | None = None  # to the cluster, None for the cluster's founder


@dataclass(frozen=True, slots=True)
class Canonical:
    """The document currently published for a cluster and the rank that chose it."""

    doc_id: str
    rank: tuple  # smaller is better; compared only between ranks of one shape


class Index(Protocol):
    def lookup(self, doc_id: str) -> Entry | None:
        """The entry of an already indexed document (re-delivery), else None."""

    def candidates(self, keys: Sequence[bytes]) -> list[Entry]:
        """Entries sharing at least one LSH band key."""

    def claim(self, entry: Entry, keys: Sequence[bytes], seen: Collection[str]) -> list[Entry]:
        """Atomically insert ``entry`` under ``keys`` unless a key holds a document
        not in ``seen``. Returns [] when inserted, else the unseen entries (and
        inserts nothing), so the caller verifies them and tries again."""

    def promote(self, cluster_id: str, candidate: Canonical) -> bool:
        """Atomically make ``candidate`` the cluster's canonical if there is none
        yet or its rank is strictly better. True when it changed."""

    def canonical(self, cluster_id: str) -> Canonical | None:
        """The cluster's current canonical."""

    def expire(self, older_than: float) -> int:
        """Drop entries whose event time is before ``older_than``; return how many."""

    def __len__(self) -> int: ...


class MemoryIndex:
    """In-process index; a single writer, so every call is trivially atomic."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._keys: dict[str, tuple[bytes, ...]] = {}
        self._buckets: dict[bytes, set[str]] = {}
        self._canonicals: dict[str, Canonical] = {}

    def lookup(self, doc_id: str) -> Entry | None:
        return self._entries.get(doc_id)

    def candidates(self, keys: Sequence[bytes]) -> list[Entry]:
        ids: set[str] = set()
        for key in keys:
            ids.update(self._buckets.get(key, ()))
        return [self._entries[i] for i in sorted(ids)]

    def claim(self, entry: Entry, keys: Sequence[bytes], seen: Collection[str]) -> list[Entry]:
        unseen = [e for e in self.candidates(keys) if e.doc_id not in seen]
        if unseen:
            return unseen
        self._entries[entry.doc_id] = entry
        self._keys[entry.doc_id] = tuple(keys)
        for key in keys:
            self._buckets.setdefault(key, set()).add(entry.doc_id)
        return []

    def promote(self, cluster_id: str, candidate: Canonical) -> bool:
        current = self._canonicals.get(cluster_id)
        if current is not None and not candidate.rank < current.rank:
            return False
        self._canonicals[cluster_id] = candidate
        return True

    def canonical(self, cluster_id: str) -> Canonical | None:
        return self._canonicals.get(cluster_id)

    def expire(self, older_than: float) -> int:
        old = [i for i, e in self._entries.items() if e.event_time < older_than]
        for doc_id in old:
            entry = self._entries.pop(doc_id)
            for key in self._keys.pop(doc_id):
                bucket = self._buckets[key]
                bucket.discard(doc_id)
                if not bucket:
                    del self._buckets[key]
            if entry.cluster_id == doc_id:
                self._canonicals.pop(doc_id, None)
        return len(old)

    def __len__(self) -> int:
        return len(self._entries)
