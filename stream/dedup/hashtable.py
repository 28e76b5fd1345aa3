"""The hash tables behind :class:`~stream.dedup.memory_index.MemoryIndex`: numpy, no Python object per item.

:class:`Table` is a linear-probing multimap from 32-bit hashes to int codes; the band-key
table and the doc-id table of the index are two of them. :func:`id_hash` hashes a 10-byte
doc id (:func:`id_hashes`: many at once, same values).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np


class TableFull(Exception):
    """A probe ran past the end of a table row: the table must grow."""


_W = 128  # cells past each row's slack: the widest probe
_WIDE, _NARROW = np.arange(_W), np.arange(32)


def _window(keys: int) -> np.ndarray:
    """Cell offsets a probe reads at once: wide for the few keys of one document, whose
    runs can be long (a story's copies share band keys); narrow for bulk calls, to bound
    the temporary arrays."""
    return _WIDE if keys <= 64 else _NARROW


class Table:
    """Linear-probing multimap from 32-bit hashes to int codes, in ``2**tbits`` sub-tables.

    A cell is 0 (empty), -1 (deleted) or ``code + 1``. A row has ``slack`` cells past its
    last home, so probes never wrap, and ``_W`` cells past those that stay empty, so a
    probe window never needs clipping; a write past the slack raises :class:`TableFull`.
    """

    def __init__(self, tbits: int, cap: int, slack: int = 1024) -> None:
        self.tbits, self.cap, self.limit = tbits, cap, cap + slack
        self.cells = np.zeros((1 << tbits, self.limit + _W), dtype=np.int32)
        self.used = self.tombs = 0
        self._shift = np.uint64(32 - tbits)
        self._mask = np.uint64((1 << (32 - tbits)) - 1)
        self._cap = np.uint64(cap)

    @property
    def size(self) -> int:
        return self.cells.shape[0] * self.cap

    def place(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = h.astype(np.uint64)
        return (h >> self._shift).astype(np.intp), ((h & self._mask) * self._cap >> self._shift).astype(np.intp)

    def find(self, h: np.ndarray, hash_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Codes stored under any of the hashes ``h``."""
        rows, pos = self.place(h)
        ar = _window(len(h))
        out = []
        while True:
            cells = self.cells[rows[:, None], pos[:, None] + ar]
            blocked = np.logical_or.accumulate(cells == 0, axis=1)  # at or after the first empty cell
            ii, jj = np.nonzero((cells > 0) & ~blocked)
            if ii.size:
                codes = cells[ii, jj].astype(np.int64) - 1
                out.append(codes[hash_of(codes) == h[ii]])
            more = ~blocked[:, -1]
            if not more.any():
                break
            rows, pos, h = rows[more], pos[more] + len(ar), h[more]
        return np.concatenate(out) if out else np.empty(0, np.int64)

    def find_each(self, h: np.ndarray, match: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        """For each hash of ``h``, the code stored under it that ``match(positions in h, codes)``
        accepts (at most one per hash), else -1."""
        rows, pos = self.place(h)
        ar = _window(len(h))
        out = np.full(len(h), -1, np.int64)
        q = np.arange(len(h))
        while q.size:
            cells = self.cells[rows[:, None], pos[:, None] + ar]
            blocked = np.logical_or.accumulate(cells == 0, axis=1)
            ii, jj = np.nonzero((cells > 0) & ~blocked)
            more = ~blocked[:, -1]
            if ii.size:
                codes = cells[ii, jj].astype(np.int64) - 1
                ok = match(q[ii], codes)
                out[q[ii[ok]]] = codes[ok]
                more[ii[ok]] = False
            rows, pos, q = rows[more], pos[more] + len(ar), q[more]
        return out

    def insert(self, h: np.ndarray, codes: np.ndarray) -> None:
        rows, pos = self.place(h)
        k = len(h)
        cells = self.cells[rows[:, None], pos[:, None] + _window(k)]
        free = cells <= 0
        first = free.argmax(1)
        col = pos + first
        ok = free[np.arange(k), first] & (col < self.limit)
        if k > 1:  # two keys may pick one cell: the first wins, the others go one at a time
            _, winners = np.unique(rows * self.cells.shape[1] + col, return_index=True)
            won = np.zeros(k, bool)
            won[winners] = True
            ok &= won
        w = np.flatnonzero(ok)
        self.tombs -= int(np.count_nonzero(cells[w, first[w]] == -1))
        self.cells[rows[w], col[w]] = codes[w] + 1
        self.used += len(w)
        if len(w) < k:  # rare: the slow way
            for i in np.flatnonzero(~ok).tolist():
                self._put(int(rows[i]), int(pos[i]), int(codes[i]))

    def delete(self, h: np.ndarray, codes: np.ndarray) -> None:
        rows, pos = self.place(h)
        target = codes + 1
        ar = _window(len(h))
        while rows.size:
            cells = self.cells[rows[:, None], pos[:, None] + ar]
            match = cells == target[:, None]
            found = match.any(1)
            if found.any():
                i = np.flatnonzero(found)
                self.cells[rows[i], pos[i] + match[i].argmax(1)] = -1
                self.used -= len(i)
                self.tombs += len(i)
            go = ~(found | (cells == 0).any(1))
            rows, pos, target = rows[go], pos[go] + len(ar), target[go]

    def build(self, h: np.ndarray, codes: np.ndarray | None = None, route: np.ndarray | None = None) -> None:
        """Fill an empty table at once: sort each sub-table's items by home, then place.

        ``codes`` default to the positions in ``h``; ``route`` (uint8, 255: skip) gives each
        item's sub-table, computed once by the caller."""
        for t in range(self.cells.shape[0]):
            idx = np.flatnonzero(route == t) if route is not None else None
            ht = h[idx] if idx is not None else h
            if not len(ht):
                continue
            ct = (idx if codes is None else codes[idx]) if idx is not None else (
                np.arange(len(h)) if codes is None else codes)
            _, home = self.place(ht)
            order = np.argsort(home)
            i = np.arange(len(ht))
            final = np.maximum.accumulate(home[order] - i) + i
            if final[-1] >= self.limit:
                raise TableFull
            self.cells[t, final] = ct[order] + 1
            self.used += len(ht)

    # scalar paths for the doc-id table (one key per call: plain Python beats numpy there)
    def home(self, h: int) -> tuple[int, int]:
        shift = 32 - self.tbits
        return h >> shift, ((h & ((1 << shift) - 1)) * self.cap) >> shift

    def scan(self, h: int) -> Iterator[int]:
        r, p = self.home(h)
        row = self.cells[r]
        while c := int(row[p]):
            if c > 0:
                yield c - 1
            p += 1

    def put(self, h: int, code: int) -> None:
        self._put(*self.home(h), code)

    def _put(self, r: int, p: int, code: int) -> None:
        row = self.cells[r]
        while int(row[p]) > 0:  # a window at a time: the run may be long
            free = np.flatnonzero(row[p:p + _W] <= 0)  # the row ends in _W empty cells
            p += int(free[0]) if free.size else _W
        c = int(row[p])
        if p >= self.limit:
            raise TableFull
        self.tombs -= c == -1
        row[p] = code + 1
        self.used += 1

    def remove(self, h: int, code: int) -> None:
        r, p = self.home(h)
        row = self.cells[r]
        while c := int(row[p]):
            if c == code + 1:
                row[p] = -1
                self.used -= 1
                self.tombs += 1
                return
            p += 1


_M64 = (1 << 64) - 1
_C1, _C2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53  # murmur3's fmix64


def id_hash(b: bytes) -> int:
    """32-bit hash of a 10-byte id; :func:`id_hashes` is the same on many ids at once."""
    x = int.from_bytes(b[:8], "little") ^ (int.from_bytes(b[8:10], "little") * _C2 & _M64)
    x ^= x >> 33
    x = x * _C1 & _M64
    x ^= x >> 33
    x = x * _C2 & _M64
    return (x ^ (x >> 33)) >> 32


def id_hashes(ids: np.ndarray) -> np.ndarray:
    x = ids[:, :8].copy().view("<u8").ravel() ^ (ids[:, 8:10].copy().view("<u2").ravel().astype(np.uint64)
                                                  * np.uint64(_C2))
    x ^= x >> np.uint64(33)
    x *= np.uint64(_C1)
    x ^= x >> np.uint64(33)
    x *= np.uint64(_C2)
    return ((x ^ (x >> np.uint64(33))) >> np.uint64(32)).astype(np.uint32)


def rebuilt(tbits: int, live: int, load: float, fill: Callable[[Table], None]) -> Table:
    """A table sized for ``live`` items at ``load``, filled by ``fill``; grown until they fit."""
    cap = max(1024, math.ceil(live / load / (1 << tbits)))
    while True:
        table = Table(tbits, cap)
        try:
            fill(table)
            return table
        except TableFull:
            cap += cap // 4
