"""The embedded index: the Index contract, expiry, the changelog round trip, growth.

A plain-dict reference model (the index as it was before it went numpy) is run side by
side with :class:`MemoryIndex` on random operations; every answer must agree.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from stream.dedup import codec
from stream.dedup.decide import Deduper, Doc, band_keys
from stream.dedup.fingerprint import Fingerprint
from stream.dedup.index import Canonical, Entry, MemoryIndex


class Reference:
    """The obviously right index: dicts and sets.

    A canonical lives as long as its cluster's founder; once the founder has expired, a new
    canonical lives as long as the document that was promoted (else the latest event time).
    """

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.keys: dict[str, tuple[bytes, ...]] = {}
        self.buckets: dict[bytes, set[str]] = {}
        self.canonicals: dict[str, Canonical] = {}
        self.orphans: dict[str, float] = {}  # cluster -> expiry time of a founder-less canonical
        self.latest = -math.inf

    def lookup(self, doc_id):
        return self.entries.get(doc_id)

    def candidates(self, keys):
        ids = set().union(*(self.buckets.get(k, ()) for k in keys))
        return [self.entries[i] for i in sorted(ids)]

    def claim(self, entry, keys, seen):
        unseen = [e for e in self.candidates(keys) if e.doc_id not in seen]
        if unseen:
            return unseen
        self.entries[entry.doc_id] = entry
        self.latest = max(self.latest, entry.event_time)
        self.keys[entry.doc_id] = tuple(keys)
        for k in keys:
            self.buckets.setdefault(k, set()).add(entry.doc_id)
        return []

    def promote(self, cluster_id, candidate):
        current = self.canonicals.get(cluster_id)
        if current is not None and not candidate.rank < current.rank:
            return False
        if cluster_id not in self.entries and current is None:
            doc = self.entries.get(candidate.doc_id)
            self.orphans[cluster_id] = doc.event_time if doc else self.latest
        self.canonicals[cluster_id] = candidate
        return True

    def canonical(self, cluster_id):
        return self.canonicals.get(cluster_id)

    def expire(self, older_than):
        old = [i for i, e in self.entries.items() if e.event_time < older_than]
        for doc_id in old:
            self.entries.pop(doc_id)
            for k in self.keys.pop(doc_id):
                self.buckets[k].discard(doc_id)
            self.canonicals.pop(doc_id, None)
        for cluster_id in [c for c, t in self.orphans.items() if t < older_than]:
            del self.orphans[cluster_id]
            self.canonicals.pop(cluster_id, None)
        return len(old)

    def __len__(self):
        return len(self.entries)


def hex_id(rng: random.Random) -> str:
    return "%020x" % rng.getrandbits(80)


def signature(rng: np.random.Generator, base: np.ndarray | None = None, keep: float = 1.0) -> np.ndarray:
    sig = rng.integers(0, 2**32, 128, dtype=np.uint32)
    if base is not None:
        same = rng.random(128) < keep
        sig[same] = base[same]
    return sig


def random_entry(rng: random.Random, nrng: np.random.Generator, docs: list[tuple[Entry, list[bytes]]], t: float,
                 odd_id: str, hex_share: float, sites: list[int]) -> tuple[Entry, list[bytes]]:
    """A random entry and its band keys: a cluster of its own, or joining an earlier doc's;
    a hex id (``hex_share`` of the time) or ``odd_id``."""
    doc_id = hex_id(rng) if rng.random() < hex_share else odd_id
    keys = [bytes([rng.randrange(40)]) + bytes([i]) for i in range(rng.randrange(1, 6))]
    cluster = rng.choice(docs)[0].doc_id if docs and rng.random() < 0.5 else doc_id
    entry = Entry(doc_id, cluster, signature(nrng), rng.randrange(500), t + rng.random() * 3600,
                  None if cluster == doc_id else rng.random(), rng.choice(sites))
    return entry, keys


def same_entry(a: Entry | None, b: Entry | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.doc_id, a.cluster_id, a.size, a.event_time, a.similarity, a.site) == (
        b.doc_id, b.cluster_id, b.size, b.event_time, b.similarity, b.site) and np.array_equal(a.signature, b.signature)


def test_claim_inserts_when_every_key_holder_was_seen():
    index = MemoryIndex()
    sig = np.arange(128, dtype=np.uint32)
    a = Entry("a", "a", sig, 50, 100.0)
    assert index.claim(a, [b"k1", b"k2"], {"a"}) == []
    b = Entry("b", "a", sig, 60, 101.0, 0.9)
    unseen = index.claim(b, [b"k2", b"k3"], {"b"})
    assert [e.doc_id for e in unseen] == ["a"] and index.lookup("b") is None  # nothing inserted
    assert index.claim(b, [b"k2", b"k3"], {"a", "b"}) == []
    assert same_entry(index.lookup("b"), b) and len(index) == 2
    assert [e.doc_id for e in index.candidates([b"k3"])] == ["b"]
    assert [e.doc_id for e in index.candidates([b"k1", b"k2", b"nope"])] == ["a", "b"]
    assert index.candidates([b"nope"]) == []


def test_promote_only_on_a_strictly_better_rank():
    index = MemoryIndex()
    index.claim(Entry("a", "a", np.zeros(128, np.uint32), 1, 5.0), [b"k"], {"a"})
    assert index.canonical("a") is None
    assert index.promote("a", Canonical("a", (0, 738000, 0, 5.0)))
    assert not index.promote("a", Canonical("b", (0, 738000, 0, 5.0)))  # equal: first stays
    assert index.promote("a", Canonical("c", (0, 737999, 1, math.inf)))
    got = index.canonical("a")
    assert got == Canonical("c", (0, 737999, 1, math.inf))
    assert [type(x) for x in got.rank] == [int, int, int, float]


def test_odd_ranks_and_ids_round_trip():
    index = MemoryIndex()
    rank = (1, 2, 3, 4, 5, 6, 7.5, True)  # longer than the inline columns, and a bool
    index.claim(Entry("x y", "ünïcode", np.ones(128, np.uint32), 3, 1.0), [b"k"], {"x y"})
    assert index.promote("ünïcode", Canonical("x y", rank))
    assert index.canonical("ünïcode").rank == rank
    assert index.lookup("x y").cluster_id == "ünïcode"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agrees_with_the_reference_on_random_operations(seed):
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    index, ref = MemoryIndex(capacity=16), Reference()
    docs: list[tuple[Entry, list[bytes]]] = []
    t = 0.0
    for step in range(3000):
        op = rng.random()
        if op < 0.55 or not docs:
            t += rng.random() * 600
            entry, keys = random_entry(rng, nrng, docs, t, f"doc-{step}", 0.9, [0, 1, 2**63 - 1])
            seen = {entry.doc_id} | {e.doc_id for e in rng.sample([d for d, _ in docs], min(3, len(docs)))}
            got, want = index.claim(entry, keys, seen), ref.claim(entry, keys, seen)
            assert [e.doc_id for e in got] == [e.doc_id for e in want]
            assert all(same_entry(a, b) for a, b in zip(got, want))
            docs.append((entry, keys))
        elif op < 0.75:
            entry, keys = rng.choice(docs)
            cand = Canonical(entry.doc_id, (rng.randrange(3), rng.random()))
            assert index.promote(entry.cluster_id, cand) == ref.promote(entry.cluster_id, cand)
            assert index.canonical(entry.cluster_id) == ref.canonical(entry.cluster_id)
        elif op < 0.9:
            entry, keys = rng.choice(docs)
            assert same_entry(index.lookup(entry.doc_id), ref.lookup(entry.doc_id))
            assert [e.doc_id for e in index.candidates(keys)] == [e.doc_id for e in ref.candidates(keys)]
        elif op < 0.97:
            cut = t - rng.random() * 20000
            assert index.expire(cut) == ref.expire(cut)
        else:
            assert len(index) == len(ref)
            entry, _ = rng.choice(docs)
            assert index.canonical(entry.doc_id) == ref.canonical(entry.doc_id)
    assert len(index) == len(ref) > 0


def test_expire_drops_old_entries_their_keys_and_their_canonical():
    index = MemoryIndex()
    sig = np.zeros(128, np.uint32)
    for i, t in enumerate([10.0, 5000.0, 7199.0, 7300.0, 99999.0]):
        seen = {f"d{j}" for j in range(i + 1)}
        index.claim(Entry(f"d{i}", f"d{i}", sig, 1, t), [b"shared", f"own{i}".encode()], seen)
        index.promote(f"d{i}", Canonical(f"d{i}", (t,)))
    assert index.expire(0.0) == 0
    assert index.expire(7200.0) == 3  # cut inside a bucket: 7300 stays
    assert [e.doc_id for e in index.candidates([b"shared"])] == ["d3", "d4"]
    assert index.lookup("d0") is None and index.canonical("d0") is None and index.canonical("d3") is not None
    assert index.candidates([b"own1"]) == [] and len(index) == 2
    assert index.expire(7200.0) == 0
    assert index.expire(math.inf) == 2 and len(index) == 0


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
    random.Random(1).shuffle(records)  # any order: partitions of the changelog interleave
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


def v1_entry(cluster_id: str, sig: np.ndarray, size: int, event_time: float, similarity: float | None,
             hashes: np.ndarray) -> bytes:
    """An entry value as version 1 wrote it (no site)."""
    head = codec.ENTRY_HEAD_V1.pack(1, similarity is not None, event_time, size,
                                    math.nan if similarity is None else similarity, len(sig), len(hashes))
    return head + codec.pack_id(cluster_id) + sig.astype("<u4").tobytes() + hashes.astype("<u4").tobytes()


def test_version_1_entries_still_restore_with_an_unknown_site():
    sig = np.arange(128, dtype=np.uint32)
    hashes = np.array([codec.key_hash(b"k")], np.uint32)
    old = v1_entry("ab" * 10, sig, 7, 50.0, 0.8, hashes)
    rec = codec.decode_entry(old)
    assert (rec.cluster_id, rec.size, rec.event_time, rec.similarity, rec.site) == ("ab" * 10, 7, 50.0, 0.8, 0)
    assert np.array_equal(rec.signature, sig) and np.array_equal(rec.key_hashes, hashes)
    index = MemoryIndex()
    index.apply(codec.record_key(codec.ENTRY, "cd" * 10), old)
    index.apply(codec.record_key(codec.ENTRY, "odd id"), v1_entry("odd id", sig, 3, 60.0, None, hashes))
    got = index.lookup("cd" * 10)
    assert (got.cluster_id, got.size, got.similarity, got.site) == ("ab" * 10, 7, 0.8, 0)
    assert [e.doc_id for e in index.candidates([b"k"])] == ["cd" * 10, "odd id"]
    bulk = MemoryIndex()
    new = codec.encode_entry("12" * 10, sig, 1, 2.0, None, hashes, 9)
    bulk.apply_many([(codec.record_key(codec.ENTRY, "cd" * 10), old), (codec.record_key(codec.ENTRY, "12" * 10), new)])
    assert same_entry(bulk.lookup("cd" * 10), got) and bulk.lookup("12" * 10).site == 9
    # written back in the current version, with the site
    index.claim(Entry("ef" * 10, "ef" * 10, sig, 1, 70.0, None, 12345), [b"x"], {"ef" * 10, "cd" * 10, "odd id"})
    (key, value), = [c for c in index.drain_changes() if c[0] == codec.record_key(codec.ENTRY, "ef" * 10)]
    assert value[0] == codec.ENTRY_VERSION and codec.decode_entry(value).site == 12345


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
    """Random operations (odd ids, long ranks, sites, expiry) into a log; both restores agree."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    live = MemoryIndex()
    log: list[tuple[bytes, bytes | None]] = []
    docs: list[tuple[Entry, list[bytes]]] = []
    t = 0.0
    for step in range(2500):
        op = rng.random()
        if op < 0.6 or not docs:
            t += rng.random() * 600
            entry, keys = random_entry(rng, nrng, docs, t, f"doc-{step}", 0.9, [0, 5, 2**63 - 1])
            seen = {entry.doc_id} | {e.doc_id for e in live.candidates(keys)}
            live.claim(entry, keys, seen)
            docs.append((entry, keys))
        elif op < 0.85:
            entry, _ = rng.choice(docs)
            rank = rng.choice([(rng.randrange(3), rng.random()), (1, 2, 3, 4, 5.5), (2**60, 1.0), (0, -math.inf)])
            live.promote(entry.cluster_id, Canonical(entry.doc_id, rank))
        elif op < 0.95:
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
            assert many.canonical(entry.cluster_id) == one.canonical(entry.cluster_id) == live.canonical(
                entry.cluster_id)
            assert [e.doc_id for e in many.candidates(keys)] == [e.doc_id for e in one.candidates(keys)]
        for cut in (t - 30000, t - 10000, t - 3000, math.inf):
            assert many.expire(cut) == one.expire(cut)
        assert len(many) == 0


def test_changelog_coalesces_and_replays_tombstones():
    index = MemoryIndex()
    sig = np.ones(128, np.uint32)
    index.claim(Entry("a", "a", sig, 1, 10.0), [b"k"], {"a"})
    index.promote("a", Canonical("a", (2,)))
    index.promote("a", Canonical("a", (1,)))
    changes = index.drain_changes()
    assert [k for k, _ in changes] == [codec.record_key(b"E", "a"), codec.record_key(b"C", "a")]
    assert index.drain_changes() == []
    index.expire(11.0)
    tomb = index.drain_changes()
    assert sorted(tomb) == sorted((k, None) for k, _ in changes)
    restored = MemoryIndex()
    for k, v in changes + tomb:
        restored.apply(k, v)
    assert len(restored) == 0 and restored.canonical("a") is None and restored.candidates([b"k"]) == []


def test_structures_grow_and_every_document_stays_findable():
    rng = np.random.default_rng(3)
    index = MemoryIndex(capacity=8)
    before = index.memory_bytes()
    sigs = rng.integers(0, 2**32, (20000, 128), dtype=np.uint32)
    ids = ["%020x" % (i + 1) for i in range(len(sigs))]
    for doc_id, sig in zip(ids, sigs):
        keys = band_keys(sig)
        seen = {doc_id} | {e.doc_id for e in index.candidates(keys)}
        assert index.claim(Entry(doc_id, doc_id, sig, 10, 0.0), keys, seen) == []
    assert index.memory_bytes() > 50 * before and index._cap >= len(sigs)
    spurious = 0
    for i in rng.integers(0, len(sigs), 300):
        found = [e.doc_id for e in index.candidates(band_keys(sigs[i]))]
        assert ids[i] in found
        spurious += len(found) - 1  # a 32-bit key-hash collision: rare, and verified by the Deduper
        assert np.array_equal(index.lookup(ids[i]).signature, sigs[i])
    assert spurious <= 3


def test_codec_round_trips():
    sig = np.arange(128, dtype=np.uint32) * 7
    hashes = np.array([1, 2, 2**32 - 1], np.uint32)
    rec = codec.decode_entry(codec.encode_entry("ab" * 10, sig, 77, 1.5e9, 0.75, hashes, 2**63 - 1))
    assert (rec.cluster_id, rec.size, rec.event_time, rec.similarity, rec.site) == ("ab" * 10, 77, 1.5e9, 0.75,
                                                                                   2**63 - 1)
    assert np.array_equal(rec.signature, sig) and np.array_equal(rec.key_hashes, hashes)
    assert codec.decode_entry(codec.encode_entry("odd id", sig, 0, 0.0, None, hashes[:0])).similarity is None
    rank = (0, 10**7, 1, math.inf, -2.5)
    assert codec.decode_canonical(codec.encode_canonical("x", rank)) == ("x", rank)
    assert codec.parse_key(codec.record_key(b"E", "0123456789abcdef0123")) == (b"E", "0123456789abcdef0123")
    assert len(codec.record_key(b"C", "0123456789abcdef0123")) == 11
    assert codec.parse_key(codec.record_key(b"C", "Doc 1")) == (b"C", "Doc 1")
    with pytest.raises(codec.CodecError):
        codec.decode_entry(b"\x09" + bytes(40))


def test_open_index_names_the_backend():
    from stream.config import Settings
    from stream.dedup.redis_index import parse_url
    from stream.dedup.store import open_index
    from stream.errors import ConfigError

    index = open_index(Settings(index="memory"))
    assert isinstance(index, MemoryIndex) and not index.durable
    quiet = open_index(Settings(index="memory"), changelog=False)  # offline runs never drain
    quiet.claim(Entry("a", "a", np.zeros(128, np.uint32), 1, 1.0), [b"k"], {"a"})
    assert quiet.drain_changes() == [] and len(quiet) == 1
    url = "redis://h:6380/2?namespace=prod&socket_timeout=5"
    assert parse_url(url) == ("redis://h:6380/2?socket_timeout=5", "prod")
    assert parse_url("redis://h/0") == ("redis://h/0", "default")
    with pytest.raises(ConfigError):
        open_index(Settings(index="memcached://h"))
