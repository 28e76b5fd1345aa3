"""The embedded index: the Index contract, the cluster forest, expiry, the changelog round trip, growth.

A plain-dict reference model is run side by side with :class:`MemoryIndex` on random
operations; every answer must agree.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from stream.dedup import codec
from stream.dedup.decide import Deduper, Doc, band_keys
from stream.dedup.fingerprint import Fingerprint
from stream.dedup.index import Entry, MemoryIndex


class Reference:
    """The obviously right index: dicts and sets."""

    durable, shared = False, False

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.keys: dict[str, tuple[bytes, ...]] = {}
        self.buckets: dict[bytes, set[str]] = {}

    def lookup(self, doc_id):
        return self.entries.get(doc_id)

    def candidates(self, keys):
        ids = set().union(*(self.buckets.get(k, ()) for k in keys))
        return [self.entries[i] for i in sorted(ids)]

    def insert(self, entry, keys, seen):
        held = [e for e in self.candidates(keys) if e.doc_id not in seen]
        self.entries[entry.doc_id] = entry
        self.keys[entry.doc_id] = tuple(keys)
        for k in keys:
            self.buckets.setdefault(k, set()).add(entry.doc_id)
        return held

    def root(self, doc_id):
        node = self.entries.get(doc_id)
        while node is not None and not node.is_root and node.parent in self.entries:
            node = self.entries[node.parent]
        return node

    def link(self, child, parent, by):
        node = self.entries[child]
        if not node.is_root:
            return node.parent
        self.entries[child] = _replace(node, parent=parent, linked_by=by)
        up = self.entries.get(parent)
        while up is not None and up.latest < node.latest:
            self.entries[up.doc_id] = _replace(up, latest=node.latest)
            up = None if up.is_root else self.entries.get(up.parent)
        return None

    def expire(self, older_than):
        old = [i for i, e in self.entries.items() if e.latest < older_than]
        for doc_id in old:
            self.entries.pop(doc_id)
            for k in self.keys.pop(doc_id):
                self.buckets[k].discard(doc_id)
        return len(old)

    def __len__(self):
        return len(self.entries)


def _replace(entry: Entry, **changes) -> Entry:
    fields = {f: getattr(entry, f) for f in Entry.__slots__}
    fields.update(changes)
    return Entry(**fields)


def hex_id(rng: random.Random) -> str:
    return "%020x" % rng.getrandbits(80)


def signature(rng: np.random.Generator, base: np.ndarray | None = None, keep: float = 1.0) -> np.ndarray:
    sig = rng.integers(0, 2**32, 128, dtype=np.uint32)
    if base is not None:
        same = rng.random(128) < keep
        sig[same] = base[same]
    return sig


RANKS = [(0, 5, 0, 1.5, 7), (1, 2**62, 1, 0.0, 3), (0, -7, 0, -math.inf, 0), (2, 1.0), (1, 2, 3, 4, 5, 6, 7.5, True)]


def random_entry(rng: random.Random, nrng: np.random.Generator, t: float, odd_id: str, hex_share: float,
                 sites: list[int]) -> tuple[Entry, list[bytes]]:
    """A random root and its band keys: a hex id (``hex_share`` of the time) or ``odd_id``."""
    doc_id = hex_id(rng) if rng.random() < hex_share else odd_id
    keys = [bytes([rng.randrange(40)]) + bytes([i]) for i in range(rng.randrange(1, 6))]
    entry = Entry(doc_id, doc_id, signature(nrng), rng.randrange(500), rng.choice(RANKS), t + rng.random() * 3600,
                  rng.choice([None, rng.random()]), rng.choice(sites))
    return entry, keys


def same_entry(a: Entry | None, b: Entry | None) -> bool:
    if a is None or b is None:
        return a is b
    fields = ("doc_id", "parent", "size", "rank", "latest", "similarity", "site", "linked_by")
    return all(getattr(a, f) == getattr(b, f) for f in fields) and np.array_equal(a.signature, b.signature)


def ids(entries) -> list[str]:
    return [e.doc_id for e in entries]


def random_link(rng: random.Random, index, docs: list[Entry]) -> tuple[str, str, str] | None:
    """Two roots, linked as the Deduper links them: the later one in (rank, id) order under
    the other (so the forest never gets a cycle)."""
    a, b = index.root(rng.choice(docs).doc_id), index.root(rng.choice(docs).doc_id)
    if a is None or b is None or a.doc_id == b.doc_id:
        return None
    lo, hi = sorted((a, b), key=lambda e: (tuple(map(float, e.rank)), e.doc_id))
    return hi.doc_id, lo.doc_id, rng.choice(docs).doc_id


def test_insert_returns_the_earlier_holders_not_seen():
    index = MemoryIndex()
    sig = np.arange(128, dtype=np.uint32)
    a = Entry("a", "a", sig, 50, (0,), 100.0)
    assert index.insert(a, [b"k1", b"k2"], {"a"}) == []
    b = Entry("b", "b", sig, 60, (1,), 101.0, 0.9)
    assert ids(index.insert(b, [b"k2", b"k3"], {"b"})) == ["a"]  # inserted anyway
    assert same_entry(index.lookup("b"), b) and len(index) == 2
    assert ids(index.candidates([b"k3"])) == ["b"]
    assert ids(index.candidates([b"k1", b"k2", b"nope"])) == ["a", "b"]
    assert index.candidates([b"nope"]) == []


def test_link_is_a_compare_and_set_and_raises_the_parents_expiry():
    index = MemoryIndex()
    sig = np.zeros(128, np.uint32)
    for name, t in (("a", 10.0), ("b", 50.0), ("c", 30.0)):
        index.insert(Entry(name, name, sig, 1, (0,), t), [name.encode()], {name})
    assert index.link("b", "a", "b") is None
    assert index.link("b", "c", "x") == "a"  # b is no root any more: nothing changes
    assert index.root("b").doc_id == "a" and index.lookup("b").linked_by == "b"
    assert index.lookup("a").latest == 50.0  # the parent outlives what points to it
    assert index.link("a", "c", "z") is None
    assert index.root("b").doc_id == "c" and index.lookup("c").latest == 50.0
    assert index.lookup("c").linked_by is None and index.lookup("a").linked_by == "z"


def test_odd_ranks_and_ids_round_trip():
    index = MemoryIndex()
    rank = (1, 2, 3, 4, 5, 6, 7.5, True)  # longer than the inline columns, and a bool
    index.insert(Entry("x y", "x y", np.ones(128, np.uint32), 3, rank, 1.0), [b"k"], {"x y"})
    index.insert(Entry("ünïcode", "ünïcode", np.ones(128, np.uint32), 3, (0, 2**60), 2.0), [b"k"], {"ünïcode", "x y"})
    assert index.link("x y", "ünïcode", "x y") is None
    assert index.lookup("x y").rank == rank and index.root("x y").doc_id == "ünïcode"
    restored = MemoryIndex()
    restored.apply_many(index.drain_changes())
    assert same_entry(restored.lookup("x y"), index.lookup("x y"))
    assert restored.root("x y").rank == (0, 2**60)


def agree_with_the_reference(index, seed: int, steps: int, odd: str, sites: list[int]) -> Reference:
    """Random inserts (ids 20 hex chars but one in ten ``odd + step``), links, reads and
    expiries on ``index`` and on the reference model; every answer must agree. Returns the model."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    ref = Reference()
    docs: list[Entry] = []
    keys_of: dict[str, list[bytes]] = {}
    t = 0.0
    for step in range(steps):
        op = rng.random()
        live = [d for d in docs if ref.lookup(d.doc_id) is not None]
        if op < 0.5 or not live:
            t += rng.random() * 600
            entry, keys = random_entry(rng, nrng, t, f"{odd}{step}", 0.9, sites)
            if ref.lookup(entry.doc_id) is not None:
                continue
            seen = {entry.doc_id} | {e.doc_id for e in rng.sample(live, min(3, len(live)))}
            got, want = index.insert(entry, keys, seen), ref.insert(entry, keys, seen)
            assert ids(got) == ids(want) and all(same_entry(a, b) for a, b in zip(got, want))
            docs.append(entry)
            keys_of[entry.doc_id] = keys
        elif op < 0.7:
            pair = random_link(rng, ref, live)
            if pair:
                assert index.link(*pair) == ref.link(*pair)
                assert index.link(*pair) == ref.link(*pair)  # a second time: not a root any more
        elif op < 0.9:
            entry = rng.choice(live)
            assert same_entry(index.lookup(entry.doc_id), ref.lookup(entry.doc_id))
            assert same_entry(index.root(entry.doc_id), ref.root(entry.doc_id))
            got, want = index.candidates(keys_of[entry.doc_id]), ref.candidates(keys_of[entry.doc_id])
            assert ids(got) == ids(want) and all(same_entry(a, b) for a, b in zip(got, want))
        else:
            cut = t - rng.random() * 20000
            assert index.expire(cut) == ref.expire(cut)
            assert len(index) == len(ref)
    assert len(index) == len(ref) > 0
    return ref


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agrees_with_the_reference_on_random_operations(seed):
    agree_with_the_reference(MemoryIndex(capacity=16), seed, 3000, "doc-", [0, 1, 2**63 - 1])


def test_expire_drops_old_entries_and_their_keys_but_not_a_parent_of_younger_ones():
    index = MemoryIndex()
    sig = np.zeros(128, np.uint32)
    for i, t in enumerate([10.0, 5000.0, 7199.0, 7300.0, 99999.0]):
        index.insert(Entry(f"d{i}", f"d{i}", sig, 1, (t,), t), [b"shared", f"own{i}".encode()], set())
    index.insert(Entry("old", "old", sig, 1, (0.0,), 20.0), [b"x"], set())
    index.insert(Entry("young", "young", sig, 1, (1.0,), 8000.0), [b"x"], set())
    index.link("young", "old", "young")  # the root now lives as long as its young member
    assert index.expire(0.0) == 0
    assert index.expire(7200.0) == 3  # cut inside a bucket: 7300 stays
    assert ids(index.candidates([b"shared"])) == ["d3", "d4"]
    assert index.lookup("d0") is None and index.root("young").doc_id == "old"
    assert index.candidates([b"own1"]) == [] and len(index) == 4
    assert index.expire(7200.0) == 0
    assert index.expire(8000.5) == 3 and index.lookup("old") is None and index.lookup("young") is None
    assert index.expire(math.inf) == 1 and len(index) == 0


def docs_stream(n: int, seed: int) -> list[Doc]:
    """Stories with several near-identical copies each, in a shuffled order."""
    rng = np.random.default_rng(seed)
    out = []
    for story in range(n):
        base = signature(rng)
        for copy in range(int(rng.integers(1, 4))):
            fp = Fingerprint(signature(rng, base, 0.93) if copy else base, int(rng.integers(40, 400)))
            out.append((fp, story, copy))
    order = rng.permutation(len(out))
    return [Doc("%020x" % (i * 7919 + 1), out[j][0], 1000.0 + i * 60.0, (out[j][2], float(i)))
            for i, j in enumerate(order)]


def compact(records: list[tuple[bytes, bytes | None]]) -> list[tuple[bytes, bytes | None]]:
    """What a compacted topic keeps: the last record per key, tombstones dropped, in offset order."""
    last = {k: (i, v) for i, (k, v) in enumerate(records)}
    return [(k, v) for k, (i, v) in sorted(last.items(), key=lambda kv: kv[1][0]) if v is not None]


@pytest.mark.parametrize("bulk", [False, True])
def test_restore_from_the_changelog_gives_identical_decisions(bulk):
    docs = docs_stream(400, seed=7)
    head, tail = docs[:700], docs[700:]
    live = Deduper(MemoryIndex())
    log: list[tuple[bytes, bytes | None]] = []
    for i, doc in enumerate(head):
        live.decide(doc)
        if i % 50 == 49:  # a batch: expire, then drain into the same transaction
            live.index.expire(doc.event_time - 20000)
            log += live.index.drain_changes()
    log += live.index.drain_changes()
    assert any(v is None for _, v in log)  # expiry tombstones were written

    restored = MemoryIndex()
    records = compact(log)
    random.Random(1).shuffle(records)  # any order: the records of one batch are one fetch
    if bulk:
        for at in range(0, len(records), 500):
            restored.apply_many(records[at:at + 500])
    else:
        for key, value in records:
            restored.apply(key, value)
    assert len(restored) == len(live.index)
    again = Deduper(restored)
    for doc in head[-200:]:  # re-delivered after the crash: the same decision as before
        assert again.decide(doc) == live.decide(doc)
    for doc in tail:  # new records: the same decisions as the index that never stopped
        assert again.decide(doc) == live.decide(doc)


def test_restore_keeps_sites_so_the_same_site_rule_still_applies():
    from tests.dedup.conftest import make_doc
    from tests.dedup.test_decide import NEW, STORY, furnished

    live = Deduper(MemoryIndex())
    live.decide(make_doc("a", furnished(STORY[0]), url="https://site.example/a", site="site.example"))
    restored = MemoryIndex()
    for key, value in live.index.drain_changes():
        restored.apply(key, value)
    assert restored.lookup("a").site == live.index.lookup("a").site != 0
    again = Deduper(restored)
    # another story with the site's heavy furniture: apart only because the site survived
    b = make_doc("b", furnished(NEW[0]), url="https://site.example/b", site="site.example")
    assert again.decide(b).cluster_id == "b"
    a2 = make_doc("a2", furnished(STORY[0]), url="https://site.example/a?x", site="site.example")
    assert again.decide(a2).cluster_id == "a"


def old_entry(version: int, cluster_id: str, sig: np.ndarray, size: int, event_time: float,
              similarity: float | None, hashes: np.ndarray, site: int = 0) -> bytes:
    """An entry value as version 1 (no site) or 2 (before the cluster forest) wrote it."""
    head = (codec.ENTRY_HEAD_V1.pack(1, similarity is not None, event_time, size,
                                     math.nan if similarity is None else similarity, len(sig), len(hashes))
            if version == 1 else
            codec._HEAD.pack(2, similarity is not None, event_time, size, math.nan if similarity is None else similarity,
                             len(sig), len(hashes), site))
    return head + codec.pack_id(cluster_id) + sig.astype("<u4").tobytes() + hashes.astype("<u4").tobytes()


def test_entries_of_earlier_versions_restore_with_their_clusters():
    sig = np.arange(128, dtype=np.uint32)
    hashes = np.array([codec.key_hash(b"k")], np.uint32)
    founder = old_entry(2, "ab" * 10, sig, 7, 40.0, None, hashes, site=5)
    member = old_entry(1, "ab" * 10, sig, 7, 50.0, 0.8, hashes)
    rec = codec.decode_entry(member)
    assert (rec.parent, rec.size, rec.latest, rec.similarity, rec.site) == ("ab" * 10, 7, 50.0, 0.8, 0)
    assert rec.rank == (1, 2**52, 0, 50.0, 0) and rec.linked_by is None
    assert np.array_equal(rec.signature, sig) and np.array_equal(rec.key_hashes, hashes)
    canonical = (codec.record_key(codec.CANONICAL, "ab" * 10), b"\x01\x00" + bytes(10) + b"\x00")  # ignored now
    for restore in ("apply", "apply_many"):
        index = MemoryIndex()
        records = [(codec.record_key(codec.ENTRY, "ab" * 10), founder), (codec.record_key(codec.ENTRY, "cd" * 10), member),
                   canonical]
        if restore == "apply":
            for key, value in records:
                index.apply(key, value)
        else:
            index.apply_many(records)
        assert index.root("cd" * 10).doc_id == "ab" * 10 and index.lookup("ab" * 10).site == 5
        assert ids(index.candidates([b"k"])) == ["ab" * 10, "cd" * 10]
        index.insert(Entry("ef" * 10, "ef" * 10, sig, 1, (0, 1), 70.0), [b"x"], set())
        (key, value), = [c for c in index.drain_changes() if c[0] == codec.record_key(codec.ENTRY, "ef" * 10)]
        assert value[0] == codec.ENTRY_VERSION  # written back in the current version


def restored_both_ways(records, seed: int) -> tuple[MemoryIndex, MemoryIndex]:
    one, many = MemoryIndex(capacity=8), MemoryIndex(capacity=8)
    for key, value in records:
        one.apply(key, value)
    rng, at = random.Random(seed), 0
    while at < len(records):  # batches of any size, as the consumer fetches them
        n = rng.choice([1, 7, 100, 1000])
        many.apply_many(records[at:at + n])
        at += n
    return one, many


@pytest.mark.parametrize("seed", [1, 2])
def test_apply_many_restores_what_apply_does(seed):
    """Random operations (odd ids, long ranks, sites, links, expiry) into a log; both restores agree."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    live = MemoryIndex()
    log: list[tuple[bytes, bytes | None]] = []
    docs: list[tuple[Entry, list[bytes]]] = []
    t = 0.0
    for step in range(2500):
        op = rng.random()
        alive = [d for d, _ in docs if live.lookup(d.doc_id) is not None]
        if op < 0.55 or not alive:
            t += rng.random() * 600
            entry, keys = random_entry(rng, nrng, t, f"doc-{step}", 0.9, [0, 5, 2**63 - 1])
            if live.lookup(entry.doc_id) is None:
                live.insert(entry, keys, set())
                docs.append((entry, keys))
        elif op < 0.8:
            pair = random_link(rng, live, alive)
            if pair:
                live.link(*pair)
        elif op < 0.92:
            live.expire(t - rng.random() * 20000)
        else:
            log += live.drain_changes()
    log += live.drain_changes()
    for records in (log, compact(log)):
        one, many = restored_both_ways(records, seed)
        assert len(many) == len(one) == len(live)
        for entry, keys in docs:
            assert same_entry(many.lookup(entry.doc_id), one.lookup(entry.doc_id))
            assert same_entry(many.lookup(entry.doc_id), live.lookup(entry.doc_id))
            assert same_entry(many.root(entry.doc_id), live.root(entry.doc_id))
            assert ids(many.candidates(keys)) == ids(one.candidates(keys))
        for cut in (t - 30000, t - 10000, t - 3000, math.inf):
            assert many.expire(cut) == one.expire(cut)
        assert len(many) == 0


def test_changelog_coalesces_and_replays_tombstones():
    index = MemoryIndex()
    sig = np.ones(128, np.uint32)
    index.insert(Entry("a", "a", sig, 1, (0,), 10.0), [b"k"], {"a"})
    index.insert(Entry("b", "b", sig, 1, (1,), 10.0), [b"k"], {"b"})
    index.link("b", "a", "b")
    changes = index.drain_changes()
    assert sorted(k for k, _ in changes) == [codec.record_key(b"E", "a"), codec.record_key(b"E", "b")]
    assert index.drain_changes() == []
    index.expire(11.0)
    tomb = index.drain_changes()
    assert sorted(tomb) == sorted((k, None) for k, _ in changes)
    restored = MemoryIndex()
    for k, v in changes + tomb:
        restored.apply(k, v)
    assert len(restored) == 0 and restored.root("a") is None and restored.candidates([b"k"]) == []


def test_structures_grow_and_every_document_stays_findable():
    rng = np.random.default_rng(3)
    index = MemoryIndex(capacity=8)
    before = index.memory_bytes()
    sigs = rng.integers(0, 2**32, (20000, 128), dtype=np.uint32)
    doc_ids = ["%020x" % (i + 1) for i in range(len(sigs))]
    for doc_id, sig in zip(doc_ids, sigs):
        keys = band_keys(sig)
        seen = {doc_id} | {e.doc_id for e in index.candidates(keys)}
        assert index.insert(Entry(doc_id, doc_id, sig, 10, (0,), 0.0), keys, seen) == []
    assert index.memory_bytes() > 50 * before and index._cap >= len(sigs)
    spurious = 0
    for i in rng.integers(0, len(sigs), 300):
        found = ids(index.candidates(band_keys(sigs[i])))
        assert doc_ids[i] in found
        spurious += len(found) - 1  # a 32-bit key-hash collision: rare, and verified by the Deduper
        assert np.array_equal(index.lookup(doc_ids[i]).signature, sigs[i])
    assert spurious <= 3


def test_codec_round_trips():
    sig = np.arange(128, dtype=np.uint32) * 7
    hashes = np.array([1, 2, 2**32 - 1], np.uint32)
    rank = (0, 10**7, 1, math.inf, -2.5)
    rec = codec.decode_entry(codec.encode_entry("ab" * 10, sig, 77, 1.5e9, 0.75, hashes, 2**63 - 1, rank, "by"))
    assert (rec.parent, rec.size, rec.latest, rec.similarity, rec.site, rec.rank, rec.linked_by) == (
        "ab" * 10, 77, 1.5e9, 0.75, 2**63 - 1, rank, "by")
    assert [type(x) for x in rec.rank] == [int, int, int, float, float]
    assert np.array_equal(rec.signature, sig) and np.array_equal(rec.key_hashes, hashes)
    bare = codec.decode_entry(codec.encode_entry("odd id", sig, 0, 0.0, None, hashes[:0]))
    assert bare.similarity is None and bare.linked_by is None and bare.rank == codec.LEGACY_RANK
    assert codec.parse_key(codec.record_key(b"E", "0123456789abcdef0123")) == (b"E", "0123456789abcdef0123")
    assert len(codec.record_key(b"C", "0123456789abcdef0123")) == 11
    assert codec.parse_key(codec.record_key(b"C", "Doc 1")) == (b"C", "Doc 1")
    with pytest.raises(codec.CodecError):
        codec.decode_entry(b"\x09" + bytes(40))


def test_open_index_names_the_backend():
    from stream.config import Settings
    from stream.dedup.store import open_index
    from stream.errors import ConfigError

    index = open_index(Settings(index="memory"))
    assert isinstance(index, MemoryIndex) and not index.durable and not index.shared
    quiet = open_index(Settings(index="memory"), changelog=False)  # offline runs never drain
    quiet.insert(Entry("a", "a", np.zeros(128, np.uint32), 1, (0,), 1.0), [b"k"], {"a"})
    assert quiet.drain_changes() == [] and len(quiet) == 1
    with pytest.raises(ConfigError):
        open_index(Settings(index="memcached://h"))


def test_the_ranks_the_pipeline_makes_are_stored_inline():
    """Dated or not, a page's rank fits the float columns (no dict entry per document), and
    its changelog record takes the batch path of a restore."""
    from stream.dedup.canonical import rank

    index = MemoryIndex()
    sig = np.zeros(128, np.uint32)
    for i, published in enumerate([None, "2022-02-21T10:00:00Z", "2022-02-21"]):
        doc_id = "%020x" % (i + 1)
        index.insert(Entry(doc_id, doc_id, sig, 1, rank("https://a.example/x", published, seen=1.7e9, doc_id=doc_id),
                           1.7e9), [bytes([i])], set())
    assert index._odd_ranks == {}
    records = index.drain_changes()
    rows, ok = codec.entry_rows([v for _, v in records])
    restored = MemoryIndex()
    assert restored._put_entries(np.frombuffer(b"".join(k[1:] for k, _ in records), np.uint8).reshape(-1, 10),
                                 rows).all()
