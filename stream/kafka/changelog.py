"""The embedded index's changelog: a compacted, single-partition topic.

Every index mutation of a batch is written in the same publish as the batch's
outputs and input offsets (one transaction under exactly-once), so after any
crash the changelog and the committed offsets agree. On start the service reads
the changelog back into an empty index, as Kafka Streams restores a state store.
"""

from __future__ import annotations

import time

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from stream.config import Settings
from stream.kafka.client import connection, ensure_topics, message_limit
from stream.kafka.topics import produce

log = structlog.get_logger("stream")


def topic_for(group_id: str) -> str:
    return f"{group_id}.dedup-changelog"


async def ensure(settings: Settings, topic: str) -> None:
    await ensure_topics(settings, [topic], compacted=(topic,), partitions=1)


async def _batches(settings: Settings, topic: str):
    """Every committed record of ``topic``, batch by batch, from the start to the end at call time."""
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(**connection(settings), group_id=None,
                                enable_auto_commit=False, isolation_level="read_committed", auto_offset_reset="earliest",
                                max_partition_fetch_bytes=message_limit(settings))
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, (await consumer.beginning_offsets([tp]))[tp])
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=1000)
            if batch.get(tp):
                yield batch[tp]
    finally:
        await consumer.stop()


async def restore(settings: Settings, topic: str, index) -> int:
    """Apply every committed record of ``topic`` to ``index``; return how many."""
    started = time.monotonic()
    applied = 0
    async for records in _batches(settings, topic):
        index.apply_many([(r.key, r.value) for r in records])
        applied += len(records)
    log.info("index.restored", topic=topic, records=applied, entries=len(index),
             seconds=round(time.monotonic() - started, 3))
    return applied


async def reset(settings: Settings, topic: str) -> int:
    """Tombstone every key of ``topic``, so a restore from it starts empty; return how many."""
    await ensure(settings, topic)
    keys = {r.key async for records in _batches(settings, topic) for r in records if r.value is not None}
    if keys:
        await produce(settings, topic, [None] * len(keys), keys=list(keys))
    return len(keys)
