"""Three ``stream run`` processes sharing an index on the 3-master Redis Cluster, one killed with SIGKILL
mid-stream and restarted, on the real broker."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from stream.dedup.redis_index import RedisIndex
from tests import stories
from tests.redis_support import cluster_url, with_namespace  # noqa: F401 (fixture)
from tests.service_support import outputs, spawn, stop, wait_for_log
from tests.test_faults import check, produce_over, story_of

pytestmark = [pytest.mark.kafka, pytest.mark.redis]


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
        records = await outputs(settings, len(values), tombstones=True, timeout=240, settle=3.0)
    finally:
        codes = [stop(p) for p in procs]
    assert codes == [0, 0, 0]
    counts = check(records, settings, ids, exactly_once=True)  # judged on the compacted articles topic
    print(f"\ncluster, 3 instances, kill -9 of one: {counts}")
    RedisIndex.from_url(settings.index).clear()
