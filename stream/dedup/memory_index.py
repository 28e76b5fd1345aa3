"""The embedded index backend, built to hold a million documents in about 1 KB each.

No Python object per document:

* **Rows.** A document is a *slot*: one row of numpy columns (id, parent and linked-by as
  10 raw bytes each, expiry time, size, similarity, site, rank, the 32-bit hashes of its
  band keys) plus a row of a chunked uint32 signature matrix. Freed slots are reused.
* **Band keys.** One :class:`~stream.dedup.hashtable.Table` of ``slot * bands + position``
  codes in 16 sub-tables; a probe reads 128 cells at once (32 in bulk calls) for all keys
  of a call. A cell is verified against the stored key hash, so a 32-bit collision costs at
  most a spurious candidate, which the Deduper verifies anyway. A second table maps doc ids
  to slots; a parent is found through it.
* **Expiry.** Slots sit in hour buckets of their ``latest`` time; :meth:`MemoryIndex.expire`
  drops whole buckets and filters only the bucket of the cut-off, so a call that expires
  nothing is O(1). A parent's ``latest`` covers its children's, so a parent never goes
  before a node that points to it.
* **Changelog.** Every mutation marks its row; :meth:`MemoryIndex.drain_changes` returns
  the current state of each marked row (plus tombstones) in the :mod:`~stream.dedup.codec`
  format; :meth:`MemoryIndex.apply` and :meth:`MemoryIndex.apply_many` replay them (restore).
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Collection, Iterable, Sequence

import numpy as np

from stream.dedup import codec
from stream.dedup.hashtable import Table, TableFull, id_hash, id_hashes, rebuilt
from stream.dedup.index import Change, Entry
from stream.dedup.memory_rows import (
    BUCKET,
    CHUNK_BITS,
    COLUMNS,
    DIRTY,
    ENTRY,
    ID_MAX_LOAD,
    ID_TARGET_LOAD,
    MAX_LOAD,
    NO_ID,
    RANK_COLS,
    TARGET_LOAD,
    USED,
    BulkRows,
    id_bytes,
)


class MemoryIndex(BulkRows):
    """In-process index; a single writer, so every call is trivially atomic.

    ``changelog=False`` stops recording changes (offline runs that never drain them).
    Restore with :meth:`apply` or :meth:`apply_many` into a fresh index *before* using it:
    the band table is rebuilt once, on the first query after the replay.
    """

    durable = False
    shared = False

    def __init__(self, capacity: int = 1024, bands: int = 32, changelog: bool = True) -> None:
        self._cap = self._n = self._entries = 0
        self._nb, self._perm = bands, 0
        self._keyh = np.zeros((0, bands), np.uint32)
        for name, dtype, shape in COLUMNS:
            setattr(self, name, np.zeros((0, *shape), dtype))
        self._sig: list[np.ndarray] = []
        self._free = array("i")
        self._alias: dict[bytes, str] = {}  # id bytes -> id, for ids that are not 20 hex chars
        self._odd_ranks: dict[int, tuple] = {}
        self._buckets: dict[int, array] = {}
        self._heap: list[int] = []
        self._max_time = -math.inf
        self._changelog = changelog
        self._dirty_slots = array("i")
        self._tombstones: list[bytes] = []
        self._bands = Table(4, 1024)
        self._ids = Table(0, 1024)
        self._stale = False
        self._version = 0  # bumped by every change of the band table
        self._last: tuple | None = None
        self._grow(capacity)

    # --- the Index interface ------------------------------------------------------------
    def lookup(self, doc_id: str) -> Entry | None:
        slot = self._slot(doc_id)
        return self._entries_at([slot])[0] if slot >= 0 and self._flags[slot] & ENTRY else None

    def candidates(self, keys: Sequence[bytes]) -> list[Entry]:
        return self._entries_at(self._find(keys)[1])

    def insert(self, entry: Entry, keys: Sequence[bytes], seen: Collection[str]) -> list[Entry]:
        h, slots = self._find(keys)
        unseen = [s for s, doc_id in zip(slots, self._ids_of(slots)) if doc_id not in seen]
        held = self._entries_at(unseen) if unseen else []
        slot = self._slot(entry.doc_id)
        if slot < 0:
            slot = self._new_slot(self._id_key(entry.doc_id))
        elif self._flags[slot] & ENTRY:  # inserted again: replace
            self._unindex(np.array([slot]))
        self._write_entry(slot, entry, h)
        self._index(slot, h)
        self._mark(slot)
        return held

    def root(self, doc_id: str) -> Entry | None:
        slot = self._slot(doc_id)
        if slot < 0 or not self._flags[slot] & ENTRY:
            return None
        return self._node(self._root_slot(slot))

    def link(self, child: str, parent: str, by: str) -> str | None:
        slot = self._slot(child)
        if slot < 0 or not self._flags[slot] & ENTRY:
            raise KeyError(child)
        current = self._parent[slot].tobytes()
        if current != self._idb[slot].tobytes():
            return self._id_text(current)
        self._parent[slot] = np.frombuffer(self._id_key(parent), np.uint8)
        self._by[slot] = np.frombuffer(self._id_key(by), np.uint8)
        self._mark(slot)
        self._touch(self._slot(parent), float(self._time[slot]))
        return None

    def expire(self, older_than: float) -> int:
        if math.isnan(older_than) or older_than == -math.inf or not self._heap:
            return 0
        cut = math.floor(older_than / BUCKET) if math.isfinite(older_than) else (1 << 62) * (older_than > 0)
        drop = []
        while self._heap and self._heap[0] <= cut:
            b = self._heap[0]
            slots = np.unique(np.array(self._buckets[b], dtype=np.intp))
            t = self._time[slots]
            live = (self._flags[slots] != 0) & (np.floor(t / BUCKET) == b)
            slots, t = slots[live], t[live]
            old = t < older_than
            drop.append(slots[old])
            if b < cut or old.all():
                heapq.heappop(self._heap)
                del self._buckets[b]
            else:
                self._buckets[b] = array("i", slots[~old].tolist())
                break
        return self._drop(np.concatenate(drop)) if drop else 0

    def drain_changes(self) -> list[Change]:
        out: list[Change] = [(k, None) for k in self._tombstones]
        self._tombstones = []
        for s in dict.fromkeys(self._dirty_slots.tolist()):
            f = int(self._flags[s])
            self._flags[s] = f & ((1 << DIRTY) - 1)
            if f >> DIRTY & ENTRY and f & ENTRY:
                n = self._nkeys[s]
                sim = float(self._sim[s])
                by = self._by[s].tobytes()
                root = self._parent[s].tobytes() == self._idb[s].tobytes()
                out.append((self._rkey(codec.ENTRY, s), codec.encode_entry(
                    self._id_str(self._parent[s]), self._sig_row(s), int(self._size[s]), float(self._time[s]),
                    None if math.isnan(sim) else sim, self._keyh[s, :n], int(self._site[s]), self._rank_of(s),
                    None if root or by == NO_ID else self._id_text(by))))
        self._dirty_slots = array("i")
        return out

    def apply(self, key: bytes, value: bytes | None) -> None:
        kind = key[:1]
        if len(key) == 11 and kind == codec.ENTRY:
            raw = key[1:]  # a 20-hex-char id: no string on this path (restore speed)
        else:
            kind, doc_id = codec.parse_key(key)
            raw = self._id_key(doc_id)
        if kind != codec.ENTRY:
            return  # a canonical record of a version before the cluster forest: the root is the canonical now
        slot = self._slot_of(raw)
        if value is None:
            if slot >= 0 and self._flags[slot] & ENTRY:
                self._entries -= 1
                self._stale = True
                self._free_slot(slot)
            return
        rec = codec.decode_entry(value)
        if slot < 0:
            slot = self._new_slot(raw)
        doc_id = self._id_text(raw)
        self._write_entry(slot, Entry(doc_id, rec.parent, rec.signature, rec.size, rec.rank, rec.latest,
                                      rec.similarity, rec.site, rec.linked_by), rec.key_hashes)
        self._stale = True  # the band table is rebuilt once, before the next query

    def apply_many(self, records: Iterable[Change]) -> None:
        """Replay a batch of changelog records: the same state as :meth:`apply` on each (the
        last record of a key wins), but the common records (20-hex-char ids, ranks of up to
        ``RANK_COLS`` numbers) are decoded and written in numpy batches (restore speed)."""
        last: dict[bytes, bytes | None] = dict(records)
        groups: dict[int, tuple[list[bytes], list[bytes]]] = {}  # by value length
        rest: list[Change] = []
        for key, value in last.items():
            if value is None or len(key) != 11 or key[:1] != codec.ENTRY:
                rest.append((key, value))
                continue
            group = groups.get(len(value))
            if group is None:
                group = groups[len(value)] = ([], [])
            group[0].append(key)
            group[1].append(value)
        for keys, values in groups.values():
            got = codec.entry_rows(values)
            ok = np.zeros(len(keys), bool)
            if got is not None and got[1].any():
                rows_ok = np.flatnonzero(got[1])
                written = self._put_entries(_raw_ids(keys)[rows_ok], got[0][rows_ok])
                ok[rows_ok[written]] = True
            rest += [(keys[i], values[i]) for i in np.flatnonzero(~ok).tolist()]
        for key, value in rest:
            self.apply(key, value)

    def __len__(self) -> int:
        return self._entries

    def memory_bytes(self) -> int:
        """Bytes held by the numpy structures (allocated, not necessarily touched)."""
        cols = sum(getattr(self, name).nbytes for name, _, _ in COLUMNS)
        return (cols + self._keyh.nbytes + sum(c.nbytes for c in self._sig) + self._bands.cells.nbytes
                + self._ids.cells.nbytes + self._free.itemsize * len(self._free))

    # --- rows ---------------------------------------------------------------------------
    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(need, self._cap + self._cap // 2, 1024)
        for name, dtype, shape in COLUMNS:
            old = getattr(self, name)
            new = np.zeros((cap, *shape), dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)
        keyh = np.zeros((cap, self._nb), np.uint32)
        keyh[: self._n] = self._keyh[: self._n]
        self._keyh, self._cap = keyh, cap

    def _widen(self, nb: int) -> None:
        keyh = np.zeros((self._cap, nb), np.uint32)
        keyh[: self._n, : self._nb] = self._keyh[: self._n]
        self._keyh, self._nb, self._stale = keyh, nb, True

    def _sig_row(self, slot: int) -> np.ndarray:
        return self._sig[slot >> CHUNK_BITS][slot & ((1 << CHUNK_BITS) - 1)]

    def _id_str(self, raw: np.ndarray) -> str:
        return self._id_text(raw.tobytes())

    def _id_text(self, b: bytes) -> str:
        return self._alias.get(b) or b.hex()

    def _id_key(self, doc_id: str) -> bytes:
        b = id_bytes(doc_id)
        if not codec.is_hex_id(doc_id):
            self._alias[b] = doc_id  # kept for good: only tests use such ids
        return b

    def _rkey(self, kind: bytes, slot: int) -> bytes:
        b = self._idb[slot].tobytes()
        alias = self._alias.get(b)
        return codec.record_key(kind, alias) if alias is not None else kind + b

    def _slot(self, doc_id: str) -> int:
        return self._slot_of(id_bytes(doc_id))

    def _slot_of(self, b: bytes) -> int:
        h = id_hash(b)
        for s in self._ids.scan(h):
            if self._idb[s].tobytes() == b:
                return s
        return -1

    def _new_slot(self, b: bytes) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            slot = self._n
            self._grow(slot + 1)
            self._n += 1
        self._idb[slot] = np.frombuffer(b, np.uint8)
        h = id_hash(b)
        self._flags[slot], self._nkeys[slot], self._rlen[slot] = USED, 0, 0
        self._time[slot] = math.nan
        try:
            self._ids.put(h, slot)
        except TableFull:
            self._rebuild_ids()
        if self._ids.used + self._ids.tombs > ID_MAX_LOAD * self._ids.size:
            self._rebuild_ids()
        return slot

    def _free_slot(self, slot: int) -> None:
        self._ids.remove(id_hash(self._idb[slot].tobytes()), slot)
        self._flags[slot] = 0
        self._odd_ranks.pop(slot, None)
        self._free.append(slot)

    def _set_time(self, slot: int, t: float) -> None:
        self._time[slot] = t
        if math.isfinite(t):
            self._max_time = max(self._max_time, t)
            b = math.floor(t / BUCKET)
            bucket = self._buckets.get(b)
            if bucket is None:
                bucket = self._buckets[b] = array("i")
                heapq.heappush(self._heap, b)
            bucket.append(slot)

    def _write_entry(self, slot: int, entry: Entry, h: np.ndarray) -> None:
        signature = entry.signature
        if len(h) > self._nb:
            if len(h) > 255:
                raise ValueError("at most 255 band keys per document")
            self._widen(len(h))
        if not self._perm:
            self._perm = len(signature)
        elif len(signature) != self._perm:
            raise ValueError(f"signature of {len(signature)} values, the index holds {self._perm}")
        while len(self._sig) <= slot >> CHUNK_BITS:
            self._sig.append(np.zeros((1 << CHUNK_BITS, self._perm), np.uint32))
        self._sig_row(slot)[:] = signature
        self._parent[slot] = np.frombuffer(self._id_key(entry.parent), np.uint8)
        self._by[slot] = np.frombuffer(NO_ID if entry.linked_by is None else self._id_key(entry.linked_by), np.uint8)
        self._size[slot] = entry.size
        self._sim[slot] = math.nan if entry.similarity is None else entry.similarity
        self._site[slot] = entry.site
        self._nkeys[slot] = len(h)
        self._keyh[slot, : len(h)] = h
        self._write_rank(slot, entry.rank)
        if not self._flags[slot] & ENTRY:
            self._entries += 1
        self._flags[slot] |= ENTRY
        self._set_time(slot, float(entry.latest))

    def _write_rank(self, slot: int, rank: tuple) -> None:
        self._odd_ranks.pop(slot, None)
        types = [type(x) for x in rank]
        if len(rank) <= RANK_COLS and all(t is float or (t is int and abs(x) < 2**53) for t, x in zip(types, rank)):
            self._rank[slot, : len(rank)] = rank
            self._rlen[slot] = len(rank)
            self._rint[slot] = sum(1 << i for i, t in enumerate(types) if t is int)
        else:
            self._rlen[slot] = 255
            self._odd_ranks[slot] = tuple(rank)

    def _rank_of(self, slot: int) -> tuple:
        n = int(self._rlen[slot])
        if n == 255:
            return self._odd_ranks[slot]
        ints = int(self._rint[slot])
        return tuple(int(v) if ints >> i & 1 else float(v) for i, v in enumerate(self._rank[slot, :n].tolist()))

    def _ids_of(self, slots: list[int], column: str = "_idb") -> list[str]:
        """:meth:`_id_str` of a 10-byte id column (doc, parent or linked-by id) in many slots at once."""
        raw = getattr(self, column)[slots].tobytes()
        return [self._id_text(raw[i:i + 10]) for i in range(0, len(raw), 10)]

    def _entries_at(self, slots: list[int]) -> list[Entry]:
        """The entries in ``slots``, by doc id: the columns are read once for all."""
        ids, parents, bys = self._ids_of(slots), self._ids_of(slots, "_parent"), self._by[slots].tobytes()
        rows = zip(ids, parents, slots, self._size[slots].tolist(), self._time[slots].tolist(),
                   self._sim[slots].tolist(), self._site[slots].tolist(), self._ranks_of(slots), range(0, len(bys), 10))
        return sorted((Entry(doc_id, parent, self._sig_row(s).copy(), size, rank, t,
                             None if math.isnan(sim) else sim, site,
                             None if parent == doc_id or bys[b:b + 10] == NO_ID else self._id_text(bys[b:b + 10]))
                       for doc_id, parent, s, size, t, sim, site, rank, b in rows), key=lambda e: e.doc_id)

    def _node(self, slot: int) -> Entry:
        """The entry in ``slot``, read cell by cell (cheaper than :meth:`_entries_at` for one);
        its signature is a view of the row, valid until the slot is freed."""
        doc_id = self._id_text(self._idb[slot].tobytes())
        parent = self._parent[slot].tobytes()
        by = self._by[slot].tobytes()
        root = parent == self._idb[slot].tobytes()
        sim = float(self._sim[slot])
        return Entry(doc_id, doc_id if root else self._id_text(parent), self._sig_row(slot), int(self._size[slot]),
                     self._rank_of(slot), float(self._time[slot]), None if math.isnan(sim) else sim,
                     int(self._site[slot]), None if root or by == NO_ID else self._id_text(by))

    def _ranks_of(self, slots: list[int]) -> list[tuple]:
        """:meth:`_rank_of` of many slots, the columns read once."""
        out = []
        for s, n, ints, row in zip(slots, self._rlen[slots].tolist(), self._rint[slots].tolist(),
                                   self._rank[slots].tolist()):
            if n == 255:
                out.append(self._odd_ranks[s])
            elif ints:
                out.append(tuple(int(v) if ints >> i & 1 else v for i, v in enumerate(row[:n])))
            else:
                out.append(tuple(row[:n]))
        return out

    def _root_slot(self, slot: int) -> int:
        """The slot of the root above ``slot`` (a missing parent ends the walk: it expired)."""
        while True:
            parent = self._parent[slot].tobytes()
            if parent == self._idb[slot].tobytes():
                return slot
            up = self._slot_of(parent)
            if up < 0 or not self._flags[up] & ENTRY:
                return slot
            slot = up

    def _touch(self, slot: int, latest: float) -> None:
        """Raise the expiry time of ``slot`` and its ancestors to ``latest`` (a parent's time
        already covers its children's, so the walk stops at the first that is late enough)."""
        while slot >= 0 and self._flags[slot] & ENTRY and self._time[slot] < latest:
            self._set_time(slot, latest)
            self._mark(slot)
            parent = self._parent[slot].tobytes()
            if parent == self._idb[slot].tobytes():
                return
            slot = self._slot_of(parent)

    def _mark(self, slot: int) -> None:
        if self._changelog:
            self._flags[slot] |= ENTRY << DIRTY
            self._dirty_slots.append(slot)

    def _drop(self, slots: np.ndarray) -> int:
        entries = slots[(self._flags[slots] & ENTRY) != 0]
        if entries.size and not self._stale:
            self._unindex(entries)
        for s in slots.tolist():
            if self._changelog and self._flags[s] & ENTRY:
                self._tombstones.append(self._rkey(codec.ENTRY, s))
            self._free_slot(s)
        self._entries -= len(entries)
        if self._bands.tombs > self._bands.size // 4:
            self._stale = True
        return len(entries)

    # --- the two hash tables ------------------------------------------------------------
    def _find(self, keys: Sequence[bytes]) -> tuple[np.ndarray, list[int]]:
        """Hashes of ``keys`` and the slots holding any of them (the last answer is reused
        while nothing changed: the Deduper asks ``candidates`` then ``insert`` with one list)."""
        if self._stale:
            self._rebuild_bands()
        last = self._last
        if last is not None and last[0] is keys and last[1] == self._version and last[2] == keys:
            return last[3], last[4]
        h = _hashes(keys)
        codes = self._bands.find(h, self._keyh.reshape(-1).__getitem__)
        slots = np.unique(codes // self._nb).tolist()
        self._last = (keys, self._version, list(keys), h, slots)
        return h, slots

    def _index(self, slot: int, h: np.ndarray) -> None:
        self._version += 1
        if self._stale:
            self._rebuild_bands()
            return
        try:
            self._bands.insert(h, slot * self._nb + np.arange(len(h)))
        except TableFull:
            self._rebuild_bands()
            return
        if self._bands.used + self._bands.tombs > MAX_LOAD * self._bands.size:
            self._rebuild_bands()

    def _unindex(self, slots: np.ndarray) -> None:
        self._version += 1
        valid = np.arange(self._nb) < self._nkeys[slots, None]
        codes = (slots[:, None] * self._nb + np.arange(self._nb))[valid]
        self._bands.delete(self._keyh[slots][valid], codes)

    def _rebuild_bands(self) -> None:
        self._bands = Table(4, 1)  # let the old table go before the new one fills (peak memory)
        n, nb = self._n, self._nb
        h = self._keyh[:n].reshape(-1)  # a view: the code of a key is its position here
        route = np.empty(n * nb, np.uint8)
        ar = np.arange(nb)
        for start in range(0, n, 1 << 16):  # in chunks: no full-size temporaries
            end = min(n, start + (1 << 16))
            valid = ((self._flags[start:end] & ENTRY) != 0)[:, None] & (ar < self._nkeys[start:end, None])
            r = (self._keyh[start:end] >> np.uint32(28)).astype(np.uint8)
            r[~valid] = 255
            route[start * nb:end * nb] = r.reshape(-1)
        live = int(np.count_nonzero(route != 255))
        self._bands = rebuilt(4, live, TARGET_LOAD, lambda t: t.build(h, None, route))
        self._version += 1
        self._stale = False

    def _rebuild_ids(self) -> None:
        self._ids = Table(0, 1)
        slots = np.flatnonzero(self._flags[: self._n] != 0)
        h = id_hashes(self._idb[slots])
        self._ids = rebuilt(0, len(slots), ID_TARGET_LOAD, lambda t: t.build(h, slots))


def _raw_ids(keys: list[bytes]) -> np.ndarray:
    """The 10 id bytes of many 11-byte record keys, as uint8[n, 10]."""
    return np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), 11)[:, 1:]


def _hashes(keys: Sequence[bytes]) -> np.ndarray:
    return np.fromiter((codec.key_hash(k) for k in keys), np.uint32, len(keys))
