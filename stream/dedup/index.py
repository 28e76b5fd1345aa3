"""The dedup index: one narrow interface, several backends.

The decision logic (:mod:`stream.dedup.decide`) talks only to :class:`Index`.
Every write that could race between service instances is one atomic call
(:meth:`Index.claim`, :meth:`Index.promote`), so a backend shared between
processes (Redis, :mod:`stream.dedup.redis_index`) can implement it as a single script.
The embedded backend is :class:`~stream.dedup.memory_index.MemoryIndex` (also importable
from here).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
    site: int = 0  # the page's site key (:func:`stream.dedup.decide.site_key`), 0: unknown


@dataclass(frozen=True, slots=True)
class Canonical:
    """The document currently published for a cluster and the rank that chose it."""

    doc_id: str
    rank: tuple  # smaller is better; compared only between ranks of one shape


Change = tuple[bytes, bytes | None]  # a changelog record: key, value (None: tombstone)


class Index(Protocol):
    durable: bool  # True when the backend keeps its own state (no changelog needed)

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

    def drain_changes(self) -> list[Change]:
        """Changelog records of every mutation since the last call (last write wins per key)."""

    def apply(self, key: bytes, value: bytes | None) -> None:
        """Replay one changelog record (restore)."""

    def apply_many(self, records: Iterable[Change]) -> None:
        """Replay a batch of changelog records (restore; faster than :meth:`apply` on each)."""

    def __len__(self) -> int: ...


def __getattr__(name: str) -> Any:  # ``from stream.dedup.index import MemoryIndex`` (it imports this module)
    if name == "MemoryIndex":
        from stream.dedup.memory_index import MemoryIndex

        return MemoryIndex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
