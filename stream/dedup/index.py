"""The dedup index: one narrow interface, several backends.

The decision logic (:mod:`stream.dedup.decide`) talks only to :class:`Index`. The index
holds every recent document as an :class:`Entry` under its LSH band keys, and the clusters
as a forest: each entry points to a parent, a *root* points to itself, and a cluster is a
tree whose root is its best-ranked member, its canonical. Every write that could race
between processes touches one document's record and is atomic on its own:

* :meth:`Index.insert` stores an entry and adds it under each band key; per key, it
  returns who held the key before it;
* :meth:`Index.link` is a compare-and-set: it points a root to another node only while it
  is still a root, and raises the expiry time of the node's new ancestors to its own.

So a backend shared by several processes (Redis, :mod:`stream.dedup.redis_index`) needs no
multi-key transaction; ``docs/state.md`` gives the argument. The embedded backend is
:class:`~stream.dedup.memory_index.MemoryIndex` (also importable from here).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Entry:
    """One indexed document and its place in the cluster forest."""

    doc_id: str
    parent: str  # the node it points to; itself for a root (the cluster's canonical)
    signature: np.ndarray  # uint32[num_perm]
    size: int  # distinct shingles
    rank: tuple  # its canonical rank (:func:`stream.dedup.canonical.rank`), smaller is better
    latest: float  # epoch seconds: the newest event time of it and of what points to it; drives expiry
    similarity: float | None = None  # its best match when it was decided, None for none
    site: int = 0  # the page's site key (:func:`stream.dedup.decide.site_key`), 0: unknown
    linked_by: str | None = None  # the document whose decision linked this root under another

    @property
    def is_root(self) -> bool:
        return self.parent == self.doc_id

    def order(self) -> tuple:
        """The total order that picks a cluster's root: rank, then id."""
        return (tuple(self.rank), self.doc_id)


Change = tuple[bytes, bytes | None]  # a changelog record: key, value (None: tombstone)


class Index(Protocol):
    durable: bool  # True when the backend keeps its own state (no changelog needed)
    shared: bool  # True when other processes write it too: a root may be linked at any time

    def lookup(self, doc_id: str) -> Entry | None:
        """The entry of an indexed document, else None."""

    def candidates(self, keys: Sequence[bytes]) -> list[Entry]:
        """Entries holding at least one of the LSH band ``keys``, by doc id."""

    def insert(self, entry: Entry, keys: Sequence[bytes], seen: Collection[str]) -> list[Entry]:
        """Store ``entry`` (a root) and add it under each of ``keys``. Returns the entries not
        in ``seen`` that held any of the keys before it: for each key, the addition and the
        read of its earlier holders are one atomic step."""

    def root(self, doc_id: str) -> Entry | None:
        """The root of the tree that holds ``doc_id`` (None when it is not indexed)."""

    def link(self, child: str, parent: str, by: str) -> str | None:
        """Atomically point ``child`` to ``parent``, recording ``by``, if ``child`` is still a
        root, and raise the expiry time of ``parent`` and its ancestors to ``child``'s. None
        when it was linked, else the parent ``child`` has meanwhile. (A shared
        backend also answers non-None, linking nothing, when ``child`` or ``parent`` expired
        meanwhile; and a node whose parent expired counts as a root: the caller looks again.)"""

    def expire(self, older_than: float) -> int:
        """Drop entries whose ``latest`` is before ``older_than``; return how many."""

    def drain_changes(self) -> list[Change]:
        """Changelog records of every mutation since the last call (last write wins per key)."""

    def apply_many(self, records: Iterable[Change]) -> None:
        """Replay changelog records (restore)."""

    def __len__(self) -> int: ...


def __getattr__(name: str) -> Any:  # ``from stream.dedup.index import MemoryIndex`` (it imports this module)
    if name == "MemoryIndex":
        from stream.dedup.memory_index import MemoryIndex

        return MemoryIndex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
