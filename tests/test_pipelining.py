"""The service's batch pipeline, without Kafka: order, grouping, stale batches after a
rebalance, and rewinding after a failed publish. (The real-broker tests cover the same
paths end to end.)"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import ConsumerRecord, TopicPartition

from stream.config import Settings
from stream.dedup.memory_index import MemoryIndex
from stream.pipeline import prepare
from stream.service import Service, _Batch

TP0, TP1 = TopicPartition("in", 0), TopicPartition("in", 1)


class FakeConsumer:
    def __init__(self, assignment) -> None:
        self._assignment = set(assignment)
        self.seeks: dict[TopicPartition, int] = {}

    def assignment(self):
        return self._assignment

    def paused(self):
        return set()

    def resume(self, *tps) -> None:
        """Nothing is ever paused here."""

    def seek(self, tp, offset) -> None:
        self.seeks[tp] = offset


class FakePublisher:
    def __init__(self, fail: int = 0) -> None:
        self.fail = fail  # fail this many publishes first
        self.published: list[tuple[list[str], dict]] = []

    async def publish(self, messages, offsets) -> None:
        if self.fail:
            self.fail -= 1
            raise KafkaTimeoutError("broker gone")
        self.published.append(([m.kind for m in messages], dict(offsets)))

    async def abort(self) -> None:
        """A failed publish sent nothing: nothing to undo."""


def record(tp: TopicPartition, offset: int) -> ConsumerRecord:
    value = orjson.dumps({"url": f"https://site{offset}.example/{tp.partition}/{offset}",
                          "text": f"Story {tp.partition}-{offset}. " + "Some words of the story here. " * 20})
    return ConsumerRecord(tp.topic, tp.partition, offset, 1_700_000_000_000, 0, None, value, None,
                          len(value), -1, [])


def batch(service: Service, records: list[ConsumerRecord], epoch: int | None = None) -> _Batch:
    future = asyncio.get_running_loop().create_future()
    future.set_result([prepare(r.value, 10**6, r.timestamp / 1000) for r in records])
    return _Batch(records, service.epoch if epoch is None else epoch, future, 0.0)


@pytest.fixture
def service(monkeypatch) -> Service:
    monkeypatch.setattr("stream.service.RETRY_BACKOFF", 0)
    service = Service(Settings(metrics_port=-1), index=MemoryIndex())
    service.changelog = None
    service._consumer, service._publisher = FakeConsumer({TP0, TP1}), FakePublisher()
    service.assigned, service.epoch = {TP0, TP1}, 1
    return service


async def test_prepared_batches_are_published_together_oldest_first(service):
    service._inflight.extend([batch(service, [record(TP0, 0), record(TP1, 0)]),
                              batch(service, [record(TP0, 1), record(TP0, 2)])])
    await service._flush(drain=True)
    [(kinds, offsets)] = service._publisher.published
    assert offsets == {TP0: 3, TP1: 1} and len(kinds) == 4
    assert not service._inflight


async def test_a_batch_fetched_under_an_earlier_assignment_is_dropped(service):
    service._inflight.extend([batch(service, [record(TP0, 0)], epoch=0), batch(service, [record(TP0, 1)])])
    await service._flush(drain=True)
    # the stale one comes again from the committed offsets; the one fetched since is published
    assert [offsets for _, offsets in service._publisher.published] == [{TP0: 2}]
    assert not service._inflight


async def test_a_stale_batch_is_not_grouped_with_the_one_before(service):
    service._inflight.extend([batch(service, [record(TP0, 0)]), batch(service, [record(TP0, 1)], epoch=0)])
    await service._flush(drain=True)
    assert [offsets for _, offsets in service._publisher.published] == [{TP0: 1}]
    assert not service._inflight


async def test_between_revoke_and_assign_nothing_is_published(service):
    service._inflight.append(batch(service, [record(TP1, 5)]))
    service.assigned = set()  # on_partitions_revoked has run; on_partitions_assigned has not
    await service._flush(drain=True)
    assert service._publisher.published == []


async def test_a_failed_publish_rewinds_to_the_first_record_in_flight(service):
    service._publisher.fail = 1
    service._inflight.extend([batch(service, [record(TP0, 7), record(TP0, 8)]),
                              batch(service, [record(TP0, 9), record(TP1, 3)])])
    await service._flush(drain=True)
    assert service._publisher.published == []
    assert not service._inflight
    # the fetch loop seeks, and drops what it fetched meanwhile (which comes again too)
    fetched = {TP0: [record(TP0, 10)], TopicPartition("in", 2): [record(TopicPartition("in", 2), 4)]}
    service._consumer._assignment.add(TopicPartition("in", 2))
    assert service._seek_rewind(service._consumer, fetched, set()) == {}
    assert service._consumer.seeks == {TP0: 7, TP1: 3, TopicPartition("in", 2): 4}
    assert service._seek_rewind(service._consumer, fetched, set()) == fetched  # nothing pending now


async def test_only_prepared_batches_are_published_without_drain(service):
    pending = asyncio.get_running_loop().create_future()
    service._inflight.extend([batch(service, [record(TP0, 0)]), _Batch([record(TP0, 1)], 1, pending, 0.0),
                              batch(service, [record(TP0, 2)])])
    await service._flush(drain=False)
    # the third is prepared, but waits for the one before it: a partition's order holds
    assert [offsets for _, offsets in service._publisher.published] == [{TP0: 1}]
    assert len(service._inflight) == 2
    pending.cancel()
