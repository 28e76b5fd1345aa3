"""The Redis index against a real local Redis and a real 3-master Redis Cluster (``deploy/redis-local``).

Each test gets its own namespace and deletes it afterwards. The contract is checked against
the reference model of ``test_index.py``; the race runs several OS processes that decide
copies of the same stories at the same moment, and a variant of the protocol that is known
to be wrong must fail the race's check.
"""

from __future__ import annotations

import math
import multiprocessing as mp

import numpy as np
import pytest
import redis

from stream.config import Settings
from stream.dedup import codec
from stream.dedup import redis_layout as layout
from stream.dedup.decide import Deduper, Doc
from stream.dedup.fingerprint import Fingerprint
from stream.dedup.index import Entry, MemoryIndex
from stream.dedup.redis_index import RedisIndex, _raws
from stream.dedup.store import open_index
from stream.errors import ConfigError, IndexUnavailable
from tests.dedup.test_index import agree_with_the_reference, docs_stream, signature
from tests.redis_support import cluster_url, own_cluster, redis_url, with_namespace  # noqa: F401

pytestmark = pytest.mark.redis


@pytest.fixture(params=["single", "cluster"])
def url(request) -> str:
    """A fresh namespace on one Redis, then on the cluster."""
    return with_namespace(request.getfixturevalue(f"{'redis' if request.param == 'single' else 'cluster'}_url"))


@pytest.fixture
def index(url):
    idx = RedisIndex.from_url(url)
    yield idx
    idx.clear()


def test_open_index_names_the_server_or_the_cluster(redis_url, cluster_url):
    for url in (redis_url, cluster_url):
        idx = open_index(Settings(index=f"{url}?namespace=a:b{{c}}"))
        assert isinstance(idx, RedisIndex) and idx.durable and idx.shared and idx.drain_changes() == []
        assert idx.keys.entry(bytes(10)).startswith(b"{a%3Ab%7Bc%7D:g")  # one namespace never reads another's keys
    with pytest.raises(ConfigError):
        open_index(Settings(index="redis+cluster://?namespace=x"))


def test_agrees_with_the_reference_on_random_operations(index):
    ref = agree_with_the_reference(index, 4, 500, "doc ", [0, 7, 2**63 - 1])
    keys = list(ref.buckets)
    assert index.expire(math.inf) == ref.expire(math.inf) and len(index) == 0
    assert index.candidates(keys) == []  # the band keys went too


def test_same_decisions_as_the_memory_index(index):
    docs = docs_stream(60, seed=11)
    mem, red = Deduper(MemoryIndex()), Deduper(index)
    for doc in docs:
        assert red.decide(doc) == mem.decide(doc)
    for doc in docs[:20]:  # re-delivered: the same decision, never a duplicate of itself
        assert red.decide(doc) == mem.decide(doc)


def test_same_site_rule_holds_across_instances(redis_url):
    """The site travels with the entry through Redis: a second instance applies the rule."""
    from tests.dedup.conftest import make_doc
    from tests.dedup.test_decide import NEW, STORY, furnished

    url = with_namespace(redis_url)
    first = RedisIndex.from_url(url)
    try:
        Deduper(first).decide(make_doc("a", furnished(STORY[0]), url="https://site.example/a", site="site.example"))
        b = make_doc("b", furnished(NEW[0]), url="https://site.example/b", site="site.example")
        assert Deduper(RedisIndex.from_url(url)).decide(b).cluster_id == "b"
    finally:
        first.clear()


def test_a_parent_gone_before_its_child_leaves_a_root_that_can_be_linked(index):
    """Expiry runs in batches and races with links: a node whose parent is gone ends its
    walk, and a link may still move it (compare-and-set on the parent it points to)."""
    sig = np.zeros(128, np.uint32)
    for name, t in (("p", 10.0), ("c", 20.0), ("q", 30.0)):
        index.insert(Entry(name, name, sig, 1, (ord(name),), t), [name.encode()], set())
    assert index.link("c", "p", "c") is None and index.lookup("p").latest == 20.0
    names = index.keys
    index._run([(names.entry(layout.raw_id("p")), ("DEL", names.entry(layout.raw_id("p"))))])  # gone first
    assert index.root("c").doc_id == "c"
    assert index.link("c", "q", "q") is None and index.root("c").doc_id == "q"
    assert index.lookup("q").latest == 30.0 and index.lookup("c").linked_by == "q"


def test_a_walk_finishes_a_raise_that_a_dead_process_left_half_done(index):
    sig = np.zeros(128, np.uint32)
    for name, t in (("a", 10.0), ("b", 20.0), ("c", 50.0)):
        index.insert(Entry(name, name, sig, 1, (ord(name),), t), [name.encode()], set())
    assert index.link("b", "a", "b") is None and index.link("c", "b", "c") is None
    assert index.lookup("a").latest == 50.0
    names = index.keys
    key = names.entry(layout.raw_id("a"))
    index._run([(key, ("SETRANGE", key, 1, layout.LATEST.pack(20.0)))])  # as if killed before raising a
    assert index.root("c").doc_id == "a" and index.lookup("a").latest == 50.0
    assert index.expire(30.0) == 0 and len(index) == 3  # so the root is not dropped before its members


def test_redirects_are_followed(cluster_url):
    """A stale slot map (a slot moved to another master) costs a MOVED and a resend, not an error."""
    index = RedisIndex.from_url(with_namespace(cluster_url))
    try:
        sig = np.zeros(128, np.uint32)
        index.insert(Entry("a", "a", sig, 1, (0,), 1.0), [b"k"], set())
        shards = index.shards
        slot = redis.cluster.key_slot(index.keys.entry(layout.raw_id("a")))
        right = shards._slots[slot]
        shards._slots[slot] = next(n for n in shards.nodes() if n is not right)  # as after a resharding
        assert index.lookup("a").doc_id == "a"
        assert shards._slots[slot] is right  # MOVED: the slot map was read again
    finally:
        index.clear()


def test_an_entry_on_a_slot_being_moved_is_found_with_asking(cluster_url):
    """Resharding while the service runs: a key already moved to the new master answers ASK
    on the old one; the index asks the new one. The slot then moves for good (MOVED)."""
    index = RedisIndex.from_url(with_namespace(cluster_url))
    cluster = index.shards.client
    sig = np.zeros(128, np.uint32)
    index.insert(Entry("a", "a", sig, 1, (0,), 1.0), [b"k"], set())
    key = index.keys.entry(layout.raw_id("a"))
    slot = redis.cluster.key_slot(key)
    source = cluster.nodes_manager.slots_cache[slot][0]
    target = next(n for n in cluster.get_primaries() if n.name != source.name)
    src, dst = cluster.get_redis_connection(source), cluster.get_redis_connection(target)
    dst_id = dst.execute_command("CLUSTER", "MYID").decode()
    dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.execute_command("CLUSTER", "MYID").decode())
    src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
    try:
        src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", key)
        assert index.lookup("a").doc_id == "a"  # ASK, then ASKING on the new master
    finally:  # finish the move, as redis-cli --cluster reshard does: the slot's other keys, then the owner
        while found := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *found)
        for node in cluster.get_primaries():
            cluster.get_redis_connection(node).execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    try:
        assert index.lookup("a").doc_id == "a"  # MOVED: the slot map is read again
        assert index.shards._slots[slot] is dst
    finally:
        index.clear()


def test_a_cluster_that_cannot_answer_is_index_unavailable(tmp_path):
    """A slot no master serves (CLUSTERDOWN), then the node down: the service's retry path;
    then a node back on the same port (the index picks up without a restart)."""
    port = own_cluster("start", tmp_path)
    try:
        index = RedisIndex.from_url(f"redis+cluster://127.0.0.1:{port}?namespace=x&socket_timeout=1")
        sig = np.zeros(128, np.uint32)
        index.insert(Entry("a", "a", sig, 1, (0,), 1.0), [b"k"], set())
        slot = redis.cluster.key_slot(index.keys.entry(layout.raw_id("a")))
        redis.Redis(port=port).execute_command("CLUSTER", "DELSLOTS", slot)
        with pytest.raises(IndexUnavailable, match="ClusterDown|SlotNotCovered|Cluster"):
            index.lookup("a")
    finally:
        own_cluster("stop", tmp_path, port)
    with pytest.raises(IndexUnavailable):
        index.lookup("a")
    with pytest.raises(IndexUnavailable):  # down from the start: no crash when it is made, only on use
        RedisIndex.from_url(f"redis+cluster://127.0.0.1:{port}?namespace=x").lookup("a")
    own_cluster("start", tmp_path, port)  # back on its port, empty
    try:
        assert index.lookup("a") is None  # the slot map is read again
        index.insert(Entry("a", "a", sig, 1, (0,), 1.0), [b"k"], set())  # and the functions loaded again
        assert index.root("a").doc_id == "a"
    finally:
        own_cluster("stop", tmp_path, port)


# --- several processes racing over copies of the same stories ----------------------------
STORIES, COPIES = 40, 4


def _copies(worker: int, seed: int) -> list[Doc]:
    """This worker's copy of every story: near-identical signatures, random ranks."""
    rng = np.random.default_rng([seed, worker])
    out = []
    for story in range(STORIES):
        base = np.random.default_rng([seed, story]).integers(0, 2**32, 128, dtype=np.uint32)
        out.append(Doc("%020x" % (story * 16 + worker + 1), Fingerprint(signature(rng, base, 0.95), 200),
                       1000.0 + story, (0, int(rng.integers(0, 3)), 0, float(rng.integers(0, 5)))))
    return out


class ReadThenAdd(RedisIndex):
    """Known to be wrong: insert reads each band key's holders, and adds itself in a second
    step. Two copies can both read before either adds, and never see each other."""

    def insert(self, entry, keys, seen):
        names = self.keys
        bands = [names.band(codec.key_hash(k)) for k in keys]
        held = self._run([(bucket, ("HGET", bucket, field)) for bucket, field in bands])  # read
        super().insert(entry, keys, seen)  # then add (what it saw meanwhile is not used)
        return self._entries(_raws(held) - {layout.raw_id(s) for s in seen} - {layout.raw_id(entry.doc_id)})


VARIANTS = {"right": RedisIndex, "read-then-add": ReadThenAdd}


def _race(url: str, worker: int, barrier, seed: int, variant: str) -> None:
    """One instance deciding its copies; every story starts at the same moment everywhere."""
    deduper = Deduper(VARIANTS[variant].from_url(url))
    for doc in _copies(worker, seed):
        barrier.wait()
        deduper.decide(doc)


def split_stories(index: RedisIndex, seed: int) -> list[int]:
    """The stories that are not one tree rooted at their best-ranked copy."""
    copies = [_copies(w, seed) for w in range(COPIES)]
    bad = []
    for story in range(STORIES):
        docs = [c[story] for c in copies]
        best = min(docs, key=lambda d: (tuple(d.rank), d.doc_id))
        roots = {index.root(d.doc_id).doc_id for d in docs}
        if roots != {best.doc_id}:
            bad.append(story)
    return bad


def race(url: str, seed: int, variant: str = "right") -> list[int]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(COPIES)
    procs = [ctx.Process(target=_race, args=(url, w, barrier, seed, variant)) for w in range(COPIES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
        assert p.exitcode == 0
    index = RedisIndex.from_url(url)
    try:
        assert len(index) == STORIES * COPIES
        return split_stories(index, seed)
    finally:
        index.clear()


def test_racing_processes_make_one_tree_per_story_rooted_at_its_best_copy(url):
    assert race(url, seed=99) == []


def test_the_race_check_finds_split_stories_when_insert_reads_then_adds(cluster_url):
    split = race(with_namespace(cluster_url), seed=99, variant="read-then-add")
    assert len(split) > 0
