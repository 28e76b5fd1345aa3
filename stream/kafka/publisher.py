"""Publishing a batch's outputs and committing its input offsets, under one guarantee.

- :class:`AtLeastOnce`: send, wait for every acknowledgement, then commit offsets.
- :class:`ExactlyOnce`: send and commit offsets in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from stream.models import Message

Recheck = Callable[[], Awaitable[list[Message]]] | None  # more messages, once the first are appended


class AtLeastOnce:
    def __init__(self, producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topics: dict[str, str]) -> None:
        self.producer, self.consumer, self.topics = producer, consumer, topics

    async def _send(self, messages: list[Message]) -> None:
        futures = [
            await self.producer.send(self.topics[m.kind], m.value, key=m.key, headers=list(m.headers))
            for m in messages
        ]
        await asyncio.gather(*futures)

    async def publish(self, messages: list[Message], offsets: dict[TopicPartition, int],
                      recheck: Recheck = None) -> None:
        """Index changes first, then outputs (and what ``recheck`` adds once they are
        appended), then offsets, each step acknowledged before the next: a crash anywhere
        re-delivers records whose decisions are already durable, so they are decided, and
        published, the same way."""
        await self._send([m for m in messages if m.kind == "changelog"])
        await self._send([m for m in messages if m.kind != "changelog"])
        if recheck is not None:
            await self._send(await recheck())
        await self.consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})

    async def abort(self) -> None:
        """Nothing to undo: what was sent stays, and is sent again identically."""


class ExactlyOnce(AtLeastOnce):
    def __init__(self, producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topics: dict[str, str],
                 group_id: str) -> None:
        super().__init__(producer, consumer, topics)
        self.group_id = group_id

    async def publish(self, messages: list[Message], offsets: dict[TopicPartition, int],
                      recheck: Recheck = None) -> None:
        await self.producer.begin_transaction()
        await self._send(messages)  # every send acknowledged: the records are in the log
        if recheck is not None:
            await self._send(await recheck())
        await self.producer.send_offsets_to_transaction(offsets, self.group_id)
        await self.producer.commit_transaction()

    async def abort(self) -> None:
        if self.producer._txn_manager is not None and self.producer._txn_manager.is_in_transaction():
            await self.producer.abort_transaction()
