"""The embedded index backend, built to hold a million documents in well under 1 KB each.

No Python object per document:

* **Rows.** A document is a *slot*: one row of numpy columns (id as 10 raw bytes, cluster
  id, event time, size, similarity, site, the 32-bit hashes of its band keys, the cluster's
  canonical and rank when the document founded a cluster) plus a row of a chunked uint32
  signature matrix. Freed slots are reused.
* **Band keys.** One :class:`~stream.dedup.hashtable.Table` of ``slot * bands + position``
  codes in 16 sub-tables; a probe reads 128 cells at once (32 in bulk calls) for all keys
  of a call. A cell is verified against the stored key hash, so a 32-bit collision costs at
  most a spurious candidate, which the Deduper verifies anyway. A second table maps doc ids
  to slots.
* **Expiry.** Slots sit in hour buckets of event time; :meth:`MemoryIndex.expire` drops
  whole buckets and filters only the bucket of the cut-off, so a call that expires
  nothing is O(1).
* **Changelog.** Every mutation marks its key; :meth:`MemoryIndex.drain_changes` returns
  the current state of each marked key (plus tombstones) in the :mod:`~stream.dedup.codec`
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
from stream.dedup.index import Canonical, Change, Entry
from stream.dedup.memory_rows import (
    BUCKET, CANON, CHUNK_BITS, COLUMNS, DIRTY, ENTRY, ID_MAX_LOAD, ID_TARGET_LOAD, MAX_LOAD, RANK_COLS, TARGET_LOAD,
    USED, BulkRows, id_bytes)


class MemoryIndex(BulkRows):
    """In-process index; a single writer, so every call is trivially atomic.

    ``changelog=False`` stops recording changes (offline runs that never drain them).
    Restore with :meth:`apply` or :meth:`apply_many` into a fresh index *before* using it:
    the band table is rebuilt once, on the first query after the replay.
    """

    durable = False

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

    def claim(self, entry: Entry, keys: Sequence[bytes], seen: Collection[str]) -> list[Entry]:
        h, slots = self._find(keys)
        unseen = [s for s, doc_id in zip(slots, self._ids_of(slots)) if doc_id not in seen]
        if unseen:
            return self._entries_at(unseen)
        slot = self._slot(entry.doc_id)
        if slot < 0:
            slot = self._new_slot(self._id_key(entry.doc_id))
        elif self._flags[slot] & ENTRY:  # claimed again: replace
            self._unindex(np.array([slot]))
        self._write_entry(slot, self._id_key(entry.cluster_id), entry.signature, entry.size, entry.event_time,
                          math.nan if entry.similarity is None else entry.similarity, h, entry.site)
        self._index(slot, h)
        self._mark(slot, ENTRY)
        return []

    def promote(self, cluster_id: str, candidate: Canonical) -> bool:
        slot = self._slot(cluster_id)
        if slot >= 0 and self._flags[slot] & CANON and not candidate.rank < self._rank_of(slot):
            return False
        if slot < 0:  # the founder is gone (expired): a row for the canonical alone
            slot = self._new_slot(self._id_key(cluster_id))
            self._set_time(slot, self._time_of(id_bytes(candidate.doc_id)))
        self._write_canon(slot, self._id_key(candidate.doc_id), candidate.rank)
        self._mark(slot, CANON)
        return True

    def canonical(self, cluster_id: str) -> Canonical | None:
        slot = self._slot(cluster_id)
        if slot < 0 or not self._flags[slot] & CANON:
            return None
        return Canonical(self._id_str(self._canon[slot]), self._rank_of(slot))

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
            d = f >> DIRTY
            self._flags[s] = f & ((1 << DIRTY) - 1)
            if d & ENTRY and f & ENTRY:
                n = self._nkeys[s]
                sim = float(self._sim[s])
                out.append((self._rkey(codec.ENTRY, s), codec.encode_entry(
                    self._id_str(self._cluster[s]), self._sig_row(s), int(self._size[s]), float(self._time[s]),
                    None if math.isnan(sim) else sim, self._keyh[s, :n], int(self._site[s]))))
            if d & CANON and f & CANON:
                out.append((self._rkey(codec.CANONICAL, s),
                            codec.encode_canonical(self._id_str(self._canon[s]), self._rank_of(s))))
        self._dirty_slots = array("i")
        return out

    def apply(self, key: bytes, value: bytes | None) -> None:
        kind = key[:1]
        if len(key) == 11 and kind in (codec.ENTRY, codec.CANONICAL):
            raw = key[1:]  # a 20-hex-char id: no string on this path (restore speed)
        else:
            kind, doc_id = codec.parse_key(key)
            raw = self._id_key(doc_id)
        part = ENTRY if kind == codec.ENTRY else CANON
        slot = self._slot_of(raw)
        if value is None:
            if slot >= 0 and self._flags[slot] & part:
                if part == ENTRY:
                    self._entries -= 1
                    self._stale = True
                self._flags[slot] &= ~np.uint8(part)
                if not self._flags[slot] & (ENTRY | CANON):
                    self._free_slot(slot)
            return
        if part == ENTRY:
            flags, event_time, size, sim, num_perm, num_keys, site, at = codec.entry_head(value)
            cluster, at = codec.unpack_id_raw(value, at)
            sig = np.frombuffer(value, "<u4", num_perm, at)
            hashes = np.frombuffer(value, "<u4", num_keys, at + 4 * num_perm)
            if slot < 0:
                slot = self._new_slot(raw)
            self._write_entry(slot, cluster if isinstance(cluster, bytes) else self._id_key(cluster), sig, size,
                              event_time, sim if flags & 1 else math.nan, hashes, site)
            self._stale = True  # the band table is rebuilt once, before the next query
        else:
            if value[0] != codec.CANONICAL_VERSION:
                raise codec.CodecError(f"canonical record version {value[0]}, "
                                       f"this code reads {codec.CANONICAL_VERSION}")
            canon, at = codec.unpack_id_raw(value, 1)
            canon = canon if isinstance(canon, bytes) else self._id_key(canon)
            if slot < 0:
                slot = self._new_slot(raw)
                self._set_time(slot, self._time_of(canon))
            self._write_canon(slot, canon, codec.decode_rank(value, at))

    def apply_many(self, records: Iterable[Change]) -> None:
        """Replay a batch of changelog records: the same state as :meth:`apply` on each (the
        last record of a key wins), but the common records (20-hex-char ids) are decoded and
        written in numpy batches (restore speed). Entries go first, canonicals last, so a
        canonical finds its document's entry in the same batch."""
        last: dict[bytes, bytes | None] = dict(records)
        groups: dict[tuple[int, int], tuple[list[bytes], list[bytes]]] = {}  # (kind, value length)
        rest: list[Change] = []
        for key, value in last.items():
            if value is None or len(key) != 11 or key[0] not in _FAST_KINDS:
                rest.append((key, value))
                continue
            group = groups.get((key[0], len(value)))
            if group is None:
                group = groups[key[0], len(value)] = ([], [])
            group[0].append(key)
            group[1].append(value)
        canons = []
        for (kind, _), (keys, values) in groups.items():
            if kind == _CANON_KIND:
                canons.append((keys, values))
                continue
            got = codec.entry_rows(values)
            ok = got[1] if got is not None else np.zeros(len(keys), bool)
            rest += [(keys[i], values[i]) for i in np.flatnonzero(~ok).tolist()]
            if ok.any():
                self._put_entries(_raw_ids(keys)[ok], got[0][ok])
        for key, value in rest:
            self.apply(key, value)
        for keys, values in canons:
            got = codec.canonical_rows(values)
            if got is None:
                for key, value in zip(keys, values):
                    self.apply(key, value)
                continue
            docs, kinds, ints, floats, ok = got
            n = kinds.shape[1]
            is_int = kinds == ord("i")
            ok &= (n <= RANK_COLS) & (is_int | (kinds == ord("f"))).all(1)
            ok &= (~is_int | ((ints > -(2**53)) & (ints < 2**53))).all(1)
            for i in np.flatnonzero(~ok).tolist():  # long ranks, big ints, other layouts: one by one
                self.apply(keys[i], values[i])
            if ok.any():
                rint = (is_int[ok].astype(np.uint8) << np.arange(n, dtype=np.uint8)).sum(1, dtype=np.uint8)
                self._put_canons(_raw_ids(keys)[ok], docs[ok], np.where(is_int[ok], ints[ok].astype(np.float64),
                                                                        floats[ok]), rint)

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

    def _time_of(self, b: bytes) -> float:
        slot = self._slot_of(b)
        if slot >= 0 and self._flags[slot] & ENTRY:
            return float(self._time[slot])
        return self._max_time if math.isfinite(self._max_time) else 0.0

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

    def _write_entry(self, slot: int, cluster: bytes, signature: np.ndarray, size: int, event_time: float,
                     similarity: float, h: np.ndarray, site: int) -> None:
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
        self._cluster[slot] = np.frombuffer(cluster, np.uint8)
        self._size[slot] = size
        self._sim[slot] = similarity
        self._site[slot] = site
        self._nkeys[slot] = len(h)
        self._keyh[slot, : len(h)] = h
        if not self._flags[slot] & ENTRY:
            self._entries += 1
        self._flags[slot] |= ENTRY
        self._set_time(slot, float(event_time))

    def _write_canon(self, slot: int, doc: bytes, rank: tuple) -> None:
        self._canon[slot] = np.frombuffer(doc, np.uint8)
        self._odd_ranks.pop(slot, None)
        types = [type(x) for x in rank]
        if len(rank) <= RANK_COLS and all(t is float or (t is int and abs(x) < 2**53) for t, x in zip(types, rank)):
            self._rank[slot, : len(rank)] = rank
            self._rlen[slot] = len(rank)
            self._rint[slot] = sum(1 << i for i, t in enumerate(types) if t is int)
        else:
            self._rlen[slot] = 255
            self._odd_ranks[slot] = tuple(rank)
        self._flags[slot] |= CANON

    def _rank_of(self, slot: int) -> tuple:
        n = int(self._rlen[slot])
        if n == 255:
            return self._odd_ranks[slot]
        ints = int(self._rint[slot])
        return tuple(int(v) if ints >> i & 1 else float(v) for i, v in enumerate(self._rank[slot, :n].tolist()))

    def _ids_of(self, slots: list[int], column: str = "_idb") -> list[str]:
        """:meth:`_id_str` of a 10-byte id column (doc or cluster id) in many slots at once."""
        raw = getattr(self, column)[slots].tobytes()
        return [self._id_text(raw[i:i + 10]) for i in range(0, len(raw), 10)]

    def _entries_at(self, slots: list[int]) -> list[Entry]:
        """The entries in ``slots``, by doc id: the columns are read once for all."""
        rows = zip(self._ids_of(slots), self._ids_of(slots, "_cluster"), slots, self._size[slots].tolist(),
                   self._time[slots].tolist(), self._sim[slots].tolist(), self._site[slots].tolist())
        return sorted((Entry(doc_id, cluster_id, self._sig_row(s).copy(), size, t, None if math.isnan(sim) else sim,
                             site) for doc_id, cluster_id, s, size, t, sim, site in rows), key=lambda e: e.doc_id)

    def _mark(self, slot: int, part: int) -> None:
        if self._changelog:
            self._flags[slot] |= part << DIRTY
            self._dirty_slots.append(slot)

    def _drop(self, slots: np.ndarray) -> int:
        entries = slots[(self._flags[slots] & ENTRY) != 0]
        if entries.size and not self._stale:
            self._unindex(entries)
        for s in slots.tolist():
            f = self._flags[s]
            if self._changelog:
                if f & ENTRY:
                    self._tombstones.append(self._rkey(codec.ENTRY, s))
                if f & CANON:
                    self._tombstones.append(self._rkey(codec.CANONICAL, s))
            self._free_slot(s)
        self._entries -= len(entries)
        if self._bands.tombs > self._bands.size // 4:
            self._stale = True
        return len(entries)

    # --- the two hash tables ------------------------------------------------------------
    def _find(self, keys: Sequence[bytes]) -> tuple[np.ndarray, list[int]]:
        """Hashes of ``keys`` and the slots holding any of them (the last answer is reused
        while nothing changed: the Deduper asks ``candidates`` then ``claim`` with one list)."""
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


_FAST_KINDS, _CANON_KIND = frozenset(codec.ENTRY + codec.CANONICAL), codec.CANONICAL[0]


def _raw_ids(keys: list[bytes]) -> np.ndarray:
    """The 10 id bytes of many 11-byte record keys, as uint8[n, 10]."""
    return np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), 11)[:, 1:]


def _hashes(keys: Sequence[bytes]) -> np.ndarray:
    return np.fromiter((codec.key_hash(k) for k in keys), np.uint32, len(keys))
