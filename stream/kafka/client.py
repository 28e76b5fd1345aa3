"""Factories for consumers, producers and topics, configured from :class:`Settings`."""

from __future__ import annotations

from contextlib import suppress

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from stream.config import Settings

HEADROOM = 1024 * 1024  # for headers and envelope on top of the largest record


def message_limit(settings: Settings) -> int:
    """Largest message a topic of ours accepts. The dead-letter topic must take an
    oversized input back unchanged, so this is well above the processing limit."""
    return max(16 * 1024 * 1024, settings.max_record_bytes + HEADROOM)


def consumer(settings: Settings, group_id: str | None = None, client_id: str | None = None,
             **extra) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group_id or settings.group_id,
        client_id=client_id or f"stream-{settings.instance_id}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=settings.batch_size,
        max_poll_interval_ms=int(settings.max_poll_interval * 1000),
        rebalance_timeout_ms=int(settings.max_poll_interval * 1000),
        max_partition_fetch_bytes=message_limit(settings),
        fetch_max_bytes=2 * message_limit(settings),
        **extra,
    )


def producer(settings: Settings, transactional_id: str | None = None) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"stream-{settings.instance_id}",
        acks="all",
        enable_idempotence=True,
        transactional_id=transactional_id,
        transaction_timeout_ms=30000,
        linger_ms=5,
        max_batch_size=256 * 1024,
        compression_type=None if settings.compression == "none" else settings.compression,
        max_request_size=message_limit(settings),
        request_timeout_ms=30000,
    )


async def ensure_topics(settings: Settings, topics: list[str], compacted: tuple[str, ...] = (),
                        partitions: int | None = None) -> list[str]:
    """Create the missing ``topics``; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            new = [
                NewTopic(t, partitions or settings.partitions, 1, topic_configs={
                    "max.message.bytes": str(message_limit(settings)),
                    "cleanup.policy": "compact" if t in compacted else "delete",
                })
                for t in missing
            ]
            with suppress(TopicAlreadyExistsError):  # another instance created it meanwhile
                await admin.create_topics(new)
        return missing
    finally:
        await admin.close()
