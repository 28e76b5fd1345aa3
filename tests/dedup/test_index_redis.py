"""The Redis index against a real local Redis (``deploy/redis-local``, 127.0.0.1:6379).

Each test gets its own namespace and deletes it afterwards. The race test runs several
OS processes that claim copies of the same stories at the same moment.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import random
import subprocess
import uuid

import numpy as np
import pytest

from stream.config import Settings
from stream.dedup.decide import Deduper, Doc
from stream.dedup.fingerprint import Fingerprint
from stream.dedup.index import Canonical, Entry, MemoryIndex
from stream.dedup.store import open_index
from tests.dedup.test_index import Reference, docs_stream, random_entry, same_entry, signature

pytestmark = pytest.mark.redis
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
URL = f"redis://127.0.0.1:{os.environ.get('REDIS_PORT', '6379')}/0"


@pytest.fixture(scope="session")
def redis_url() -> str:
    subprocess.run([os.path.join(ROOT, "deploy", "redis-local"), "start"], check=True, stdout=subprocess.DEVNULL)
    return URL


@pytest.fixture
def index(redis_url):
    from stream.dedup.redis_index import RedisIndex

    idx = RedisIndex.from_url(f"{redis_url}?namespace=t{uuid.uuid4().hex[:10]}")
    yield idx
    idx.clear()


def test_open_index_picks_redis_with_a_namespace(redis_url):
    idx = open_index(Settings(index=f"{redis_url}?namespace=abc"))
    assert idx.prefix == "{stream:abc}:" and idx.durable and idx.drain_changes() == []


def test_claim_promote_expire_contract(index):
    sig = np.arange(128, dtype=np.uint32)
    a, b = Entry("a", "a", sig, 50, 100.0), Entry("b", "a", sig, 60, 5000.0, 0.9)
    assert index.claim(a, [b"k1", b"k2"], {"a"}) == []
    assert [e.doc_id for e in index.claim(b, [b"k2", b"k3"], {"b"})] == ["a"]
    assert index.lookup("b") is None
    assert index.claim(b, [b"k2", b"k3"], {"a", "b"}) == []
    assert same_entry(index.lookup("b"), b) and same_entry(index.lookup("a"), a)
    assert [e.doc_id for e in index.candidates([b"k1", b"k3"])] == ["a", "b"]
    assert index.promote("a", Canonical("a", (0, 738000, 0, math.inf)))
    assert not index.promote("a", Canonical("b", (0, 738000, 0, math.inf)))
    assert index.promote("a", Canonical("b", (0, 738000, 0, 1e300)))
    assert index.canonical("a") == Canonical("b", (0, 738000, 0, 1e300))
    assert index.expire(100.0) == 0 and index.expire(101.0) == 1
    assert index.lookup("a") is None and index.canonical("a") is None  # dropped with its founder
    assert [e.doc_id for e in index.candidates([b"k1", b"k2"])] == ["b"] and len(index) == 1


def test_entries_keep_their_site(index):
    sig = np.arange(128, dtype=np.uint32)
    a, b = Entry("a", "a", sig, 5, 1.0, None, 2**63 - 1), Entry("b", "a", sig, 5, 2.0, 0.9)
    assert index.claim(a, [b"k"], {"a"}) == [] and index.claim(b, [b"k"], {"a", "b"}) == []
    assert index.lookup("a").site == 2**63 - 1 and index.lookup("b").site == 0
    assert [(e.doc_id, e.site) for e in index.candidates([b"k"])] == [("a", 2**63 - 1), ("b", 0)]
    assert [e.site for e in index.claim(Entry("c", "c", sig, 5, 3.0), [b"k"], {"c"})] == [2**63 - 1, 0]


def test_same_site_rule_holds_across_instances(index):
    """The site travels with the entry through Redis: a second instance applies the rule."""
    from stream.dedup.redis_index import RedisIndex
    from tests.dedup.conftest import make_doc
    from tests.dedup.test_decide import NEW, STORY, furnished

    Deduper(index).decide(make_doc("a", furnished(STORY[0]), url="https://site.example/a", site="site.example"))
    other = Deduper(RedisIndex(index.r, index.prefix[len("{stream:"):-2]))
    b = make_doc("b", furnished(NEW[0]), url="https://site.example/b", site="site.example")
    assert other.decide(b).cluster_id == "b"


@pytest.mark.parametrize("seed", [4, 5])
def test_agrees_with_the_reference_on_random_operations(index, seed):
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    ref = Reference()
    docs = []
    t = 0.0
    for step in range(600):
        op = rng.random()
        if op < 0.55 or not docs:
            t += rng.random() * 600
            entry, keys = random_entry(rng, nrng, docs, t, f"doc {step}", 0.8, [0, 7])
            seen = {entry.doc_id} | {e.doc_id for e in rng.sample([d for d, _ in docs], min(3, len(docs)))}
            got, want = index.claim(entry, keys, seen), ref.claim(entry, keys, seen)
            assert [e.doc_id for e in got] == [e.doc_id for e in want]
            assert all(same_entry(a, b) for a, b in zip(got, want))
            docs.append((entry, keys))
        elif op < 0.75:
            entry, _ = rng.choice(docs)
            cand = Canonical(entry.doc_id, (rng.randrange(3), rng.random()))
            assert index.promote(entry.cluster_id, cand) == ref.promote(entry.cluster_id, cand)
            assert index.canonical(entry.cluster_id) == ref.canonical(entry.cluster_id)
        elif op < 0.9:
            entry, keys = rng.choice(docs)
            assert same_entry(index.lookup(entry.doc_id), ref.lookup(entry.doc_id))
            assert [e.doc_id for e in index.candidates(keys)] == [e.doc_id for e in ref.candidates(keys)]
        else:
            cut = t - rng.random() * 20000
            assert index.expire(cut) == ref.expire(cut)
            assert len(index) == len(ref)
    assert len(index) == len(ref) > 0


def test_same_decisions_as_the_memory_index(index):
    docs = docs_stream(60, seed=11)
    mem, red = Deduper(MemoryIndex()), Deduper(index)
    for doc in docs:
        assert red.decide(doc) == mem.decide(doc)
    for doc in docs[:20]:  # re-delivered: the same decision, never a duplicate of itself
        assert red.decide(doc) == mem.decide(doc)


STORIES, COPIES = 60, 4


def _copies(worker: int, seed: int) -> list[Doc]:
    """This worker's copy of every story: near-identical signatures, random ranks."""
    rng = np.random.default_rng([seed, worker])
    out = []
    for story in range(STORIES):
        base = np.random.default_rng([seed, story]).integers(0, 2**32, 128, dtype=np.uint32)
        sig = signature(rng, base, 0.95)
        out.append(Doc(f"s{story:03d}-w{worker}", Fingerprint(sig, 200), 1000.0 + story,
                       (0, int(rng.integers(0, 3)), 0, float(worker))))
    return out


def _race(url: str, worker: int, barrier, seed: int) -> None:
    """One instance deciding its copies; every story starts at the same moment everywhere."""
    from stream.dedup.redis_index import RedisIndex

    deduper = Deduper(RedisIndex.from_url(url))
    for doc in _copies(worker, seed):
        barrier.wait()
        deduper.decide(doc)


def test_racing_instances_make_one_cluster_and_one_canonical_per_story(index):
    url = f"{URL}?namespace={index.prefix[len('{stream:'):-2]}"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(COPIES)
    procs = [ctx.Process(target=_race, args=(url, w, barrier, 99)) for w in range(COPIES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
        assert p.exitcode == 0
    assert len(index) == STORIES * COPIES
    copies = [_copies(w, 99) for w in range(COPIES)]
    for story in range(STORIES):
        docs = [c[story] for c in copies]
        clusters = {index.lookup(d.doc_id).cluster_id for d in docs}
        assert len(clusters) == 1, f"story {story}: {clusters}"  # one cluster: never two founders
        best = min(docs, key=lambda d: d.rank)  # promote is compare-and-set: the best rank wins
        assert index.canonical(clusters.pop()) == Canonical(best.doc_id, best.rank)
