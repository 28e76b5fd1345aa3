"""The service's pipeline without Kafka: the merge order across partitions, stale records
after a rebalance, and rewinding after a failed publish. (The real-broker tests cover the
same paths end to end.)"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import ConsumerRecord, TopicPartition

from stream.config import Settings
from stream.dedup.memory_index import MemoryIndex
from stream.inflight import Batch, Item
from stream.pipeline import prepare
from stream.service import Service

TP0, TP1 = TopicPartition("in", 0), TopicPartition("in", 1)


class FakeConsumer:
    def __init__(self, assignment) -> None:
        self._assignment = set(assignment)
        self.seeks: dict[TopicPartition, int] = {}
        self.ends: dict[TopicPartition, int] = {}  # the end offset a fetch reported, per partition
        self.positions: dict[TopicPartition, int] = {}

    def assignment(self):
        return self._assignment

    def paused(self):
        return set()

    def pause(self, *tps) -> None:
        """Pausing changes nothing here: nothing is fetched."""

    resume = pause

    def seek(self, tp, offset) -> None:
        self.seeks[tp] = offset

    def last_stable_offset(self, tp):
        return self.ends.get(tp)

    highwater = last_stable_offset

    async def position(self, tp):
        return self.positions.get(tp, 0)


class FakePublisher:
    def __init__(self, fail: int = 0) -> None:
        self.fail = fail  # fail this many publishes first
        self.published: list[tuple[list[str], dict]] = []

    async def publish(self, messages, offsets, recheck=None) -> None:
        if self.fail:
            self.fail -= 1
            raise KafkaTimeoutError("broker gone")
        self.published.append(([orjson.loads(m.value)["url"] for m in messages], dict(offsets)))

    async def abort(self) -> None:
        """A failed publish sent nothing: nothing to undo."""


def record(tp: TopicPartition, offset: int, ts: int = 0) -> ConsumerRecord:
    value = orjson.dumps({"url": f"https://site{offset}.example/{tp.partition}/{offset}",
                          "text": f"Story {tp.partition}-{offset}. " + "Some words of the story here. " * 20})
    return ConsumerRecord(tp.topic, tp.partition, offset, 1_700_000_000_000 + ts, 0, None, value, None,
                          len(value), -1, [])


def url(r: ConsumerRecord) -> str:
    return f"https://site{r.offset}.example/{r.partition}/{r.offset}"


def buffer(service: Service, records: list[ConsumerRecord], epoch: int | None = None,
           prepared: asyncio.Future | None = None) -> None:
    """Put one fetched batch into the service's merge, as the fetch loop does."""
    if prepared is None:
        prepared = asyncio.get_running_loop().create_future()
        prepared.set_result([prepare(r.value, 10**6, r.timestamp / 1000) for r in records])
    batch = Batch(service.epoch if epoch is None else epoch, prepared, 0.0)
    for i, r in enumerate(records):
        item = Item(r, batch, i)
        service.inflight.merge.add(item.tp, [item])


@pytest.fixture
def service(monkeypatch) -> Service:
    monkeypatch.setattr("stream.service.RETRY_BACKOFF", 0)
    service = Service(Settings(metrics_port=-1, max_idle=0.0), index=MemoryIndex())
    service.changelog = None
    service._consumer, service._publisher = FakeConsumer({TP0, TP1}), FakePublisher()
    service.assigned, service.epoch = {TP0, TP1}, 1
    service.inflight.merge.assign(service.assigned)
    return service


async def test_records_are_published_together_in_timestamp_order_across_partitions(service):
    a, b, c, d = record(TP0, 0, ts=5), record(TP1, 0, ts=3), record(TP0, 1, ts=9), record(TP1, 1, ts=9)
    buffer(service, [a, c])
    buffer(service, [b, d])
    await service._flush(drain=True)
    [(urls, offsets)] = service._publisher.published
    assert urls == [url(b), url(a), url(c), url(d)]  # ts 3, 5, then 9 twice: partition 0 first
    assert offsets == {TP0: 2, TP1: 2}
    assert not service.inflight.merge.buffered()


async def test_a_partition_with_records_still_to_fetch_holds_the_others_back(service):
    buffer(service, [record(TP0, 0, ts=5)])
    service._consumer.ends, service._consumer.positions = {TP1: 4}, {TP1: 1}  # 3 records of TP1 to come
    await service._flush(drain=False)
    assert service._publisher.published == []
    service._consumer.positions = {TP1: 4}  # fetched, and caught up: nothing holds any more (max_idle 0)
    await service._flush(drain=False)
    assert [offsets for _, offsets in service._publisher.published] == [{TP0: 1}]


async def test_records_fetched_under_an_earlier_assignment_are_dropped(service):
    buffer(service, [record(TP0, 0)], epoch=0)
    buffer(service, [record(TP0, 1, ts=1)])
    await service._flush(drain=True)
    # the stale one comes again from the committed offsets; the one fetched since is published
    assert [offsets for _, offsets in service._publisher.published] == [{TP0: 2}]
    assert not service.inflight.merge.buffered()


async def test_between_revoke_and_assign_nothing_is_published(service):
    buffer(service, [record(TP1, 5)])
    service.assigned = set()  # on_partitions_revoked has run; on_partitions_assigned has not
    await service._flush(drain=True)
    assert service._publisher.published == []


async def test_a_failed_publish_rewinds_to_the_first_record_in_flight(service):
    service._publisher.fail = 1
    buffer(service, [record(TP0, 7), record(TP0, 8)])
    buffer(service, [record(TP0, 9, ts=1), record(TP1, 3, ts=1)])
    await service._flush(drain=True)
    assert service._publisher.published == []
    assert not service.inflight.merge.buffered()
    # the fetch loop seeks, and drops what it fetched meanwhile (which comes again too)
    fetched = {TP0: [record(TP0, 10)], TopicPartition("in", 2): [record(TopicPartition("in", 2), 4)]}
    service._consumer._assignment.add(TopicPartition("in", 2))
    assert service.inflight.seek_rewind(service._consumer, fetched, None, set()) == {}
    assert service._consumer.seeks == {TP0: 7, TP1: 3, TopicPartition("in", 2): 4}
    assert service.inflight.seek_rewind(service._consumer, fetched, None, set()) == fetched  # nothing pending now


async def test_only_prepared_records_are_published_without_drain(service):
    pending = asyncio.get_running_loop().create_future()
    buffer(service, [record(TP0, 0)])
    buffer(service, [record(TP0, 1, ts=1)], prepared=pending)
    buffer(service, [record(TP0, 2, ts=2)])
    service._consumer.ends = {TP1: 0}
    await service._flush(drain=False)
    # the third is prepared, but waits for the one before it: a partition's order holds
    assert [offsets for _, offsets in service._publisher.published] == [{TP0: 1}]
    assert service.inflight.merge.buffered() == 2
    pending.cancel()
