"""Three ``stream run`` processes sharing an index on the 3-master Redis Cluster, one killed with SIGKILL
mid-stream and restarted, on the real broker."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import replace

import orjson
import pytest

from stream.dedup.redis_index import RedisIndex
from stream.kafka.topics import read
from tests import stories
from tests.redis_support import cluster_url, with_namespace  # noqa: F401 (fixture)
from tests.service_support import spawn, stop, wait_for_log
from tests.test_faults import produce_over, story_of

pytestmark = [pytest.mark.kafka, pytest.mark.redis]


def judge(records, settings, stories_by_id: dict[str, int]) -> dict:
    """Every input on exactly one output topic, once; in the compacted articles topic (the last
    value of each key, a tombstone deleting it) exactly one article per story."""
    topics = defaultdict(list)
    last: dict[bytes, bytes | None] = {}
    for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):  # a key lives in one partition
        if r.topic == settings.output_topic:
            last[r.key] = r.value
        if r.value is not None:
            assert r.topic != settings.dlq_topic, r.headers
            topics[orjson.loads(r.value)["id"]].append(r.topic)
    assert set(topics) == set(stories_by_id)  # nothing lost
    assert all(len(t) == 1 for t in topics.values()), {i: t for i, t in topics.items() if len(t) > 1}
    alive = Counter(stories_by_id[orjson.loads(v)["id"]] for v in last.values() if v is not None)
    assert set(alive) == set(stories_by_id.values())  # every story has its article
    assert all(n == 1 for n in alive.values()), {s: n for s, n in alive.items() if n > 1}  # and only one
    return {"inputs": len(topics), "articles": len(alive), "tombstones": sum(v is None for v in last.values())}


async def everything(settings, ids: set[str], timeout: float) -> list:
    """The output topics, read again until every input id is on one of them (tombstones
    come on top of the inputs, so a count alone does not say when to stop)."""
    deadline = time.monotonic() + timeout
    while True:
        records = await read(settings, [settings.output_topic, settings.duplicates_topic, settings.dlq_topic],
                             len(ids), timeout=max(1.0, deadline - time.monotonic()), settle=3.0)
        got = {orjson.loads(r.value)["id"] for r in records if r.value is not None and r.topic != settings.dlq_topic}
        if ids <= got or time.monotonic() > deadline:
            return records
        await asyncio.sleep(2.0)


async def test_three_instances_on_the_cluster_survive_a_kill_9(settings, tmp_path, cluster_url):
    settings = replace(settings, index=with_namespace(cluster_url, settings.group_id), partitions=6, batch_size=32)
    values = stories.stream(200, 5)  # 1,000 pages; a story's copies are spread through the stream
    ids = story_of(values)
    instances = [replace(settings, instance_id=f"{settings.instance_id}-{i}") for i in range(3)]
    procs = [spawn(s, tmp_path / f"instance{i}.log") for i, s in enumerate(instances)]
    try:
        for i in range(3):
            await wait_for_log(tmp_path / f"instance{i}.log", "consumer.partitions_assigned")
        producing = asyncio.create_task(produce_over(settings, values, chunks=10, pause=0.5))
        await asyncio.sleep(2.0)
        procs[1].kill()  # SIGKILL: no flush, an open transaction, decisions cut short in Redis
        procs[1].wait()
        procs[1] = spawn(instances[1], tmp_path / "instance1-again.log")  # same id: fences the dead one
        await producing
        records = await everything(settings, set(ids), timeout=240)
    finally:
        codes = [stop(p) for p in procs]
    assert codes == [0, 0, 0]
    counts = judge(records, settings, ids)
    print(f"\ncluster, 3 instances, kill -9 of one: {counts}")
    RedisIndex.from_url(settings.index).clear()
