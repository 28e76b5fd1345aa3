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
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from stream.config import Settings
from stream.kafka.client import ensure_topics, message_limit

log = structlog.get_logger("stream")


def topic_for(group_id: str) -> str:
    return f"{group_id}.dedup-changelog"


async def ensure(settings: Settings, topic: str) -> None:
    await ensure_topics(settings, [topic], compacted=(topic,), partitions=1)


async def delete(settings: Settings, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        if topic in await admin.list_topics():
            await admin.delete_topics([topic])
    finally:
        await admin.close()


async def restore(settings: Settings, topic: str, index) -> int:
    """Apply every committed record of ``topic`` to ``index``; return how many."""
    started = time.monotonic()
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None,
                                enable_auto_commit=False, isolation_level="read_committed",
                                max_partition_fetch_bytes=message_limit(settings))
    await consumer.start()
    applied = 0
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        await consumer.seek_to_beginning(tp)
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=10_000)
            for record in batch.get(tp, ()):
                index.apply(record.key, record.value)
                applied += 1
    finally:
        await consumer.stop()
    log.info("index.restored", topic=topic, records=applied, entries=len(index),
             seconds=round(time.monotonic() - started, 3))
    return applied
