"""The row layout of :class:`~stream.dedup.memory_index.MemoryIndex` and its bulk row writers.

:class:`BulkRows` is the part of ``MemoryIndex`` that writes many rows at once (a
changelog batch, :meth:`~stream.dedup.memory_index.MemoryIndex.apply_many`); it works on
the index's columns and tables and is not used on its own.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from array import array

import numpy as np

from stream.dedup import codec
from stream.dedup.hashtable import TableFull, id_hashes

ENTRY, USED = 1, 4  # row flags; ``ENTRY << DIRTY``: changed since the last drain
DIRTY = 3
BUCKET = 3600.0  # seconds of event time per expiry bucket
CHUNK_BITS = 15  # signature rows per chunk: 2**15
RANK_COLS = 5  # numbers of a rank stored inline (canonical.rank has 5); other ranks go to a dict
MAX_LOAD, TARGET_LOAD = 0.75, 0.6  # band table: grow past the first, to the second
ID_MAX_LOAD, ID_TARGET_LOAD = 0.5, 0.35  # id table: 4 bytes a cell, short probes matter more
COLUMNS = (  # name, dtype, trailing shape; ``_time`` is the entry's ``latest`` (expiry)
    ("_idb", np.uint8, (10,)), ("_flags", np.uint8, ()),
    ("_time", np.float64, ()), ("_size", np.uint32, ()), ("_sim", np.float64, ()), ("_site", np.int64, ()),
    ("_parent", np.uint8, (10,)), ("_by", np.uint8, (10,)), ("_nkeys", np.uint8, ()),
    ("_rank", np.float64, (RANK_COLS,)), ("_rlen", np.uint8, ()), ("_rint", np.uint8, ()),
)
NO_ID = bytes(10)  # ``_by`` of a node nobody linked


def id_bytes(doc_id: str) -> bytes:
    """10 bytes per id: the raw bytes of a 20-hex-char doc id, else a 10-byte hash of it."""
    if codec.is_hex_id(doc_id):
        return bytes.fromhex(doc_id)
    return hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=10).digest()


class BulkRows:
    """Row writers for many slots at once (mixed into ``MemoryIndex``)."""

    def _resolve(self, ids: np.ndarray) -> np.ndarray:
        """Slots of many 10-byte ids (uint8[n, 10]); -1 where absent."""
        return self._ids.find_each(id_hashes(ids), lambda q, codes: (self._idb[codes] == ids[q]).all(1))

    def _new_slots(self, ids: np.ndarray) -> np.ndarray:
        """Like :meth:`_new_slot` for many ids, none of them present."""
        m = len(ids)
        k = min(m, len(self._free))
        reused = np.array(self._free[len(self._free) - k:], np.int64)
        del self._free[len(self._free) - k:]
        self._grow(self._n + m - k)
        slots = np.concatenate([reused, np.arange(self._n, self._n + m - k)])
        self._n += m - k
        self._idb[slots] = ids
        self._flags[slots], self._nkeys[slots], self._rlen[slots], self._time[slots] = USED, 0, 0, math.nan
        if self._ids.used + self._ids.tombs + m > ID_MAX_LOAD * self._ids.size:
            self._rebuild_ids()  # sized for these too: they are marked used already
            return slots
        try:
            self._ids.insert(id_hashes(ids), slots)
        except TableFull:
            self._rebuild_ids()
        return slots

    def _set_times(self, slots: np.ndarray, t: np.ndarray) -> None:
        """:meth:`_set_time` on many slots."""
        fin = np.isfinite(t)
        if not fin.all() or np.abs(t).max(initial=0.0) > 1e18:  # rare: one by one
            for s, x in zip(slots.tolist(), t.tolist()):
                self._set_time(s, x)
            return
        self._time[slots] = t
        if not len(t):
            return
        self._max_time = max(self._max_time, float(t.max()))
        b = np.floor(t / BUCKET).astype(np.int64)
        order = np.argsort(b, kind="stable")
        b, s = b[order], slots[order]
        starts = np.flatnonzero(np.diff(b)) + 1
        for bucket, part in zip(b[np.concatenate([[0], starts])].tolist(), np.split(s, starts)):
            arr = self._buckets.get(bucket)
            if arr is None:
                arr = self._buckets[bucket] = array("i")
                heapq.heappush(self._heap, bucket)
            arr.extend(part.tolist())

    def _put_entries(self, ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """:meth:`_write_entry` on many rows of :func:`codec.entry_rows` whose ranks are
        inline (see :meth:`_inline_ranks`); returns a mask of the rows written (the others
        must go one by one)."""
        kinds, ints, floats = codec.rank_columns(rows["rank"])
        n = kinds.shape[1]
        is_int = kinds == ord("i")
        ok = (n <= RANK_COLS) & (is_int | (kinds == ord("f"))).all(1)
        ok &= (~is_int | ((ints > -(2**53)) & (ints < 2**53))).all(1)
        if not ok.any():
            return ok
        ids, rows, is_int = ids[ok], rows[ok], is_int[ok]
        ranks = np.where(is_int, ints[ok].astype(np.float64), floats[ok])
        num_keys, num_perm = rows.dtype["key_hashes"].shape[0], rows.dtype["signature"].shape[0]
        if num_keys > self._nb:
            if num_keys > 255:
                raise ValueError("at most 255 band keys per document")
            self._widen(num_keys)
        if not self._perm:
            self._perm = num_perm
        elif num_perm != self._perm:
            raise ValueError(f"signature of {num_perm} values, the index holds {self._perm}")
        slots = self._resolve(ids)
        new = slots < 0
        if new.any():
            slots[new] = self._new_slots(ids[new])
        while len(self._sig) <= int(slots.max()) >> CHUNK_BITS:
            self._sig.append(np.zeros((1 << CHUNK_BITS, self._perm), np.uint32))
        chunk = slots >> CHUNK_BITS
        for c in np.unique(chunk).tolist():
            sel = chunk == c
            self._sig[c][slots[sel] & ((1 << CHUNK_BITS) - 1)] = rows["signature"][sel]
        if self._odd_ranks:
            for s in slots.tolist():
                self._odd_ranks.pop(s, None)
        self._parent[slots] = rows["parent"]
        self._by[slots] = np.where((rows["flags"] & codec.LINKED != 0)[:, None], rows["by"], 0)
        self._size[slots] = rows["size"]
        self._sim[slots] = np.where(rows["flags"] & codec.HAS_SIMILARITY, rows["similarity"], math.nan)
        self._site[slots] = rows["site"]
        self._nkeys[slots] = num_keys
        self._keyh[slots, :num_keys] = rows["key_hashes"]
        self._rank[slots, :n] = ranks
        self._rlen[slots] = n
        self._rint[slots] = (is_int.astype(np.uint8) << np.arange(n, dtype=np.uint8)).sum(1, dtype=np.uint8)
        self._entries += int(np.count_nonzero((self._flags[slots] & ENTRY) == 0))
        self._flags[slots] |= ENTRY
        self._set_times(slots, rows["latest"].astype(np.float64))
        self._stale = True
        return ok
