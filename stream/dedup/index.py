"""The dedup index: one narrow interface, several backends.

The decision logic (:mod:`stream.dedup.decide`) talks only to :class:`Index`.
Every write that could race between service instances is one atomic call
(:meth:`Index.claim`, :meth:`Index.promote`), so a backend shared between
processes (Redis, :mod:`stream.dedup.redis_index`) can implement it as a single script.

:class:`MemoryIndex` is the embedded backend, built to hold a million documents in
well under 1 KB each (no Python object per document):

* **Rows.** A document is a *slot*: one row of numpy columns (id as 10 raw bytes, cluster
  id, event time, size, similarity, the 32-bit hashes of its band keys, the cluster's
  canonical and rank when the document founded a cluster) plus a row of a chunked uint32
  signature matrix. Freed slots are reused.
* **Band keys.** One linear-probing hash table of int32 cells (``slot * bands + position``)
  split into 16 sub-tables by the key hash's top bits; probes read 16 cells at once for
  all keys of a call (one numpy gather). A cell is verified against the stored key hash,
  so a 32-bit collision costs at most a spurious candidate, which the Deduper verifies
  anyway. A second table maps doc ids to slots.
* **Expiry.** Slots sit in hour buckets of event time; :meth:`MemoryIndex.expire` drops
  whole buckets and filters only the bucket of the cut-off, so a call that expires
  nothing is O(1).
* **Changelog.** Every mutation marks its key; :meth:`MemoryIndex.drain_changes` returns
  the current state of each marked key (plus tombstones) in the :mod:`~stream.dedup.codec`
  format, and :meth:`MemoryIndex.apply` replays such records (restore).
"""

from __future__ import annotations

import hashlib
import heapq
import math
from array import array
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from stream.dedup import codec


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

    def __len__(self) -> int: ...


class _Full(Exception):
    """A probe ran past the end of a table row: the table must grow."""


_W = 16  # cells read per probe
_AR = np.arange(_W)


class _Table:
    """Linear-probing multimap from 32-bit hashes to int codes, in ``2**tbits`` sub-tables.

    A cell is 0 (empty), -1 (deleted) or ``code + 1``. Each row has ``slack`` cells past
    its last home so probes never wrap; running off the end raises :class:`_Full`.
    """

    def __init__(self, tbits: int, cap: int, slack: int = 1024) -> None:
        self.tbits, self.cap, self.rowlen = tbits, cap, cap + slack
        self.cells = np.zeros((1 << tbits, self.rowlen), dtype=np.int32)
        self.used = self.tombs = 0

    @property
    def size(self) -> int:
        return self.cells.shape[0] * self.cap

    def place(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = h.astype(np.uint64)
        shift = np.uint64(32 - self.tbits)
        rows = (h >> shift).astype(np.intp)
        low = h & np.uint64((1 << (32 - self.tbits)) - 1)
        return rows, ((low * np.uint64(self.cap)) >> shift).astype(np.intp)

    def _window(self, rows: np.ndarray, start: np.ndarray, off_end: int) -> tuple[np.ndarray, np.ndarray]:
        cols = start[:, None] + _AR
        inside = cols < self.rowlen
        cells = self.cells[rows[:, None], np.minimum(cols, self.rowlen - 1)]
        cells[~inside] = off_end
        return cells, cols

    def find(self, h: np.ndarray, hash_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Codes stored under any of the hashes ``h``."""
        rows, pos = self.place(h)
        act, out = np.arange(len(h)), []
        while act.size:
            cells, _ = self._window(rows[act], pos[act], 0)
            empty = cells == 0
            stop = empty.any(1)
            first = np.where(stop, empty.argmax(1), _W)
            ii, jj = np.nonzero((cells > 0) & (_AR < first[:, None]))
            if ii.size:
                codes = cells[ii, jj].astype(np.int64) - 1
                out.append(codes[hash_of(codes) == h[act[ii]]])
            act = act[~stop]
            pos[act] += _W
        return np.concatenate(out) if out else np.empty(0, np.int64)

    def insert(self, h: np.ndarray, codes: np.ndarray) -> None:
        rows, pos = self.place(h)
        pend = np.arange(len(h))
        while pend.size:
            cells, cols = self._window(rows[pend], pos[pend], 1)
            free = cells <= 0
            has = free.any(1)
            if not has.all():
                move = pend[~has]
                pos[move] += _W
                if (pos[move] >= self.rowlen).any():
                    raise _Full
            w = pend[has]
            col = cols[has, free[has].argmax(1)]
            _, first = np.unique(rows[w] * self.rowlen + col, return_index=True)  # one winner per cell
            win, r, c = w[first], rows[w[first]], col[first]
            self.tombs -= int(np.count_nonzero(self.cells[r, c] == -1))
            self.cells[r, c] = codes[win] + 1
            self.used += len(win)
            pend = pend[~np.isin(pend, win)]

    def delete(self, h: np.ndarray, codes: np.ndarray) -> None:
        rows, pos = self.place(h)
        act, target = np.arange(len(h)), codes + 1
        while act.size:
            cells, cols = self._window(rows[act], pos[act], 0)
            match = cells == target[act, None]
            found = match.any(1)
            if found.any():
                i = np.flatnonzero(found)
                self.cells[rows[act[i]], cols[i, match[i].argmax(1)]] = -1
                self.used -= len(i)
                self.tombs += len(i)
            act = act[~(found | (cells == 0).any(1))]
            pos[act] += _W

    def build(self, chunks: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]) -> None:
        """Fill an empty table from all ``(hashes, codes)`` at once (sort, then place)."""
        self.cells[:] = 0
        self.used = self.tombs = 0
        shift = np.uint32(32 - self.tbits)
        for t in range(self.cells.shape[0]):
            hs, cs = [], []
            for h, codes in chunks():
                sel = np.flatnonzero((h >> shift) == t) if self.tbits else slice(None)
                hs.append(h[sel])
                cs.append(codes[sel])
            if not hs:
                continue
            h, codes = np.concatenate(hs), np.concatenate(cs)
            if not len(h):
                continue
            _, home = self.place(h)
            order = np.argsort(home, kind="stable")
            i = np.arange(len(h))
            final = np.maximum.accumulate(home[order] - i) + i
            if final[-1] >= self.rowlen:
                raise _Full
            self.cells[t, final] = codes[order] + 1
            self.used += len(h)

    # scalar paths for the doc-id table (one key per call: plain Python is faster than numpy)
    def home(self, h: int) -> tuple[int, int]:
        shift = 32 - self.tbits
        return h >> shift, ((h & ((1 << shift) - 1)) * self.cap) >> shift

    def scan(self, h: int) -> Iterator[int]:
        r, p = self.home(h)
        row = self.cells[r]
        while p < self.rowlen:
            c = int(row[p])
            if c == 0:
                return
            if c > 0:
                yield c - 1
            p += 1

    def put(self, h: int, code: int) -> None:
        r, p = self.home(h)
        row = self.cells[r]
        while p < self.rowlen:
            c = int(row[p])
            if c <= 0:
                self.tombs -= c == -1
                row[p] = code + 1
                self.used += 1
                return
            p += 1
        raise _Full

    def remove(self, h: int, code: int) -> None:
        r, p = self.home(h)
        row = self.cells[r]
        while p < self.rowlen:
            c = int(row[p])
            if c == 0:
                return
            if c == code + 1:
                row[p] = -1
                self.used -= 1
                self.tombs += 1
                return
            p += 1
