"""An embedded index never shares a consumer group: the later instance leaves, the first keeps running."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stream.kafka.group import EMBEDDED, SHARED, Member, client_id, conflict, me, parse
from stream.kafka.topics import produce
from tests import stories
from tests.service_support import outputs, spawn, stop, wait_for_log
from tests.test_faults import check, story_of


def test_the_client_id_carries_the_index_kind_and_the_start():
    member = me("pod-7~x", True, 1_700_000_000.25)
    assert parse(client_id(member)) == member == Member("pod-7~x", SHARED, 1_700_000_000_250)
    assert parse("stream-pod-7") is None and parse("other-app~embedded~1") is None


@pytest.mark.parametrize("mine, theirs, later_leaves", [
    (EMBEDDED, EMBEDDED, True), (EMBEDDED, SHARED, True), (SHARED, EMBEDDED, True), (SHARED, SHARED, False)])
def test_the_later_of_two_instances_that_must_not_share_leaves(mine, theirs, later_leaves):
    first, later = Member("a", theirs, 100), Member("b", mine, 200)
    assert conflict(later, [first, later]) == (first if later_leaves else None)
    assert conflict(first, [first, later]) is None  # the first keeps running
    assert conflict(Member("a", mine, 300), [first]) is None  # its own earlier run (same instance id)
    tie = Member("c", mine, 100)
    assert conflict(tie, [first]) == (first if later_leaves else None)  # same start: by instance id


@pytest.mark.kafka
async def test_a_second_embedded_instance_in_the_group_exits_and_the_first_keeps_running(settings, tmp_path):
    values = stories.stream(60, 2)
    first = spawn(settings, log := tmp_path / "first.log")
    try:
        await wait_for_log(log, "consumer.partitions_assigned")
        await produce(settings, settings.input_topic, values[:60])
        second = spawn(replace(settings, instance_id=settings.instance_id + "-b"), log2 := tmp_path / "second.log")
        assert second.wait(90) != 0
        refused = [line for line in log2.read_text().splitlines() if line.startswith("stream: ")]
        assert len(refused) == 1 and "STREAM_INDEX" in refused[0] and settings.instance_id in refused[0]
        assert first.poll() is None
        await produce(settings, settings.input_topic, values[60:])
        records = await outputs(settings, len(values), timeout=120, settle=2.0, tombstones=True)
    finally:
        code = stop(first)
    assert code == 0
    check(records, settings, story_of(values), exactly_once=True)  # every input once, one canonical per story
