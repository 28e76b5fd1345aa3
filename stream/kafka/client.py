"""Factories for consumers, producers and topics, configured from :class:`Settings`."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CoordinatorLoadInProgressError,
    CoordinatorNotAvailableError,
    KafkaTimeoutError,
    NotCoordinatorError,
    TopicAlreadyExistsError,
    for_code,
)

from stream.config import Settings
from stream.kafka import security

HEADROOM = 1024 * 1024  # for headers and envelope on top of the largest record
READY_TIMEOUT = 60.0  # seconds a new topic or a starting coordinator gets to become usable
READY_POLL = 0.1


def message_limit(settings: Settings) -> int:
    """Largest message a topic of ours accepts. The dead-letter topic must take an
    oversized input back unchanged, so this is well above the processing limit."""
    return max(16 * 1024 * 1024, settings.max_record_bytes + HEADROOM)


def connection(settings: Settings) -> dict:
    """What every client needs: the bootstrap servers and the security settings
    (``STREAM_SECURITY_PROTOCOL``, ``STREAM_SASL_*``, ``STREAM_SSL_*``)."""
    return {"bootstrap_servers": settings.bootstrap_servers, **security.kwargs(settings)}


def consumer(settings: Settings, group_id: str | None = None, client_id: str | None = None,
             **extra) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **connection(settings),
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
        **connection(settings),
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
    """Create the missing ``topics`` and wait until every one of ``topics`` is usable;
    return the names created."""
    admin = AIOKafkaAdminClient(**connection(settings))
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
            response = await admin.create_topics(new)
            for error in response.to_object()["topic_errors"]:
                # already there: another instance created it meanwhile
                if error["error_code"] not in (0, TopicAlreadyExistsError.errno):
                    raise for_code(error["error_code"])(f"creating topic {error['topic']}: {error['error_message']}")
        await _until_usable(admin, list(dict.fromkeys(topics)))
        return missing
    finally:
        await admin.close()


async def _until_usable(admin: AIOKafkaAdminClient, topics: list[str]) -> None:
    """Wait until the cluster's metadata lists every topic with a leader for each of its
    partitions: a topic just created is not in it yet, and a client that subscribes or
    produces to it meanwhile logs errors."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        described = await admin.describe_topics(topics)
        waiting = [t["topic"] for t in described
                   if t["error_code"] or not t["partitions"] or any(p["leader"] < 0 for p in t["partitions"])]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise KafkaTimeoutError(f"topics {', '.join(waiting)} have no leader after {READY_TIMEOUT:.0f}s")
        await asyncio.sleep(READY_POLL)


async def wait_for_coordinator(settings: Settings, group_id: str) -> None:
    """Wait until the broker names a coordinator for ``group_id``. On a new cluster the
    first request creates the offsets topic, and the coordinator is unavailable until it
    has loaded; a consumer that joins meanwhile logs errors."""
    admin = AIOKafkaAdminClient(**connection(settings))
    await admin.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                await admin.find_coordinator(group_id)
                return
            except (CoordinatorNotAvailableError, CoordinatorLoadInProgressError, NotCoordinatorError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(READY_POLL)
    finally:
        await admin.close()
