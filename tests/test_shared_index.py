"""Several service processes in one group sharing the Redis index, on the real broker."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import orjson
import pytest

from stream.kafka.topics import produce
from tests import stories
from tests.service_support import outputs, spawn, stop, wait_for_log
from tests.test_faults import check, story_of

pytestmark = [pytest.mark.kafka, pytest.mark.redis]


async def test_three_instances_one_canonical_per_story(settings, tmp_path):
    # a namespace of its own: the stories are the same on every run, and Redis outlives runs
    settings = replace(settings, index=f"redis://127.0.0.1:6379/0?namespace={settings.group_id}", partitions=6,
                       batch_size=16)
    values = stories.stream(300, 4)  # copies of one story are spread over all partitions
    procs = []
    for i in range(3):
        log = tmp_path / f"instance{i}.log"
        procs.append(spawn(replace(settings, instance_id=f"{settings.instance_id}-{i}"), log))
    for i in range(3):
        await wait_for_log(tmp_path / f"instance{i}.log", "consumer.partitions_assigned")
    await produce(settings, settings.input_topic, values)  # one burst
    try:
        records = await outputs(settings, len(values), tombstones=True, timeout=240, settle=3.0)
    finally:
        codes = [stop(p) for p in procs]
    assert codes == [0, 0, 0]
    check(records, settings, story_of(values), exactly_once=True)
    by_instance = defaultdict(int)  # every instance did part of the work
    for i in range(3):
        text = (tmp_path / f"instance{i}.log").read_text()
        by_instance[i] = sum(orjson.loads(line).get("records", 0) for line in text.splitlines()
                             if '"event":"service.stopping"' in line)
    assert all(n > 0 for n in by_instance.values()), dict(by_instance)
