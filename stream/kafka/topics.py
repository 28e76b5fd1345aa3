"""Small whole-topic operations used by the demo, replay and tests: produce a list of
values, read topics back to a count."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from stream.config import Settings
from stream.kafka.client import message_limit


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    timestamp: int


async def produce(settings: Settings, topic: str, values: list[bytes], keys: list[bytes | None] | None = None,
                  timestamps: list[int | None] | None = None) -> None:
    """Produce ``values`` to ``topic``, spread over its partitions, and wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=5,
                                max_request_size=message_limit(settings))
    await producer.start()
    try:
        futures = [
            await producer.send(topic, v, key=keys[i] if keys else None,
                                timestamp_ms=timestamps[i] if timestamps else None)
            for i, v in enumerate(values)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read(settings: Settings, topics: list[str], count: int, timeout: float = 60.0,
               settle: float = 0.0) -> list[Record]:
    """Read committed records of ``topics`` from the start until ``count`` records with a
    value have arrived (or ``timeout``), then keep reading for ``settle`` seconds to catch
    any extra ones. Tombstones (no value) are returned too, but not counted."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=settings.bootstrap_servers, group_id=None, auto_offset_reset="earliest",
        enable_auto_commit=False, isolation_level="read_committed", client_id=f"reader-{uuid.uuid4().hex[:6]}",
        max_partition_fetch_bytes=message_limit(settings), fetch_max_bytes=4 * message_limit(settings),
    )
    await consumer.start()
    out: list[Record] = []
    try:
        deadline = time.monotonic() + timeout
        settle_until = None
        while time.monotonic() < deadline:
            if sum(r.value is not None for r in out) >= count and settle_until is None:
                settle_until = time.monotonic() + settle
            if settle_until is not None and time.monotonic() >= settle_until:
                break
            batch = await consumer.getmany(timeout_ms=200)
            for rs in batch.values():
                out.extend(Record(r.topic, r.partition, r.offset, r.key, r.value, dict(r.headers), r.timestamp)
                           for r in rs)
    finally:
        await consumer.stop()
    return out
