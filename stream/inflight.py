"""The records an instance has fetched and not yet published.

Each poll's records go to the worker processes as one batch, and wait per partition in a
:class:`~stream.merge.Merge`, which lets them go in timestamp order across partitions.
:class:`InFlight` holds them, says how much more the fetch loop may take (and from which
partitions), what the merge waits for (the lag of the partitions it has nothing of), and
where to rewind after a failed publish. Kafka is reached only through the consumer passed
in; nothing here publishes or commits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from stream.merge import Merge

AHEAD = 4  # records fetched and not yet published, in batches: what the workers (and the merge) have ahead
POSITION_TIMEOUT = 1.0  # seconds to wait for a partition's position when computing its lag


@dataclass(eq=False)
class Batch:
    """The preparation of the records of one poll, running on the workers (the records
    themselves are held by their :class:`Item`, so a decided one can be let go)."""

    epoch: int  # the assignment it was fetched under
    prepared: asyncio.Future
    fetched: float  # monotonic clock


@dataclass(eq=False, slots=True)
class Item:
    """One fetched record waiting in the merge for its decision."""

    record: object  # aiokafka ConsumerRecord
    batch: Batch
    index: int  # its place in the batch and in the batch's preparation
    tp: TopicPartition = field(init=False)

    def __post_init__(self) -> None:
        self.tp = TopicPartition(self.record.topic, self.record.partition)

    def key(self) -> tuple:
        """Its place in the merge: timestamp, then partition."""
        return self.record.timestamp, self.record.partition


class InFlight:
    """Fetched records, per partition, until they are published."""

    def __init__(self, batch_size: int, max_idle: float) -> None:
        self.batch_size = batch_size
        self.merge: Merge[Item] = Merge(Item.key, idle=max_idle)
        self.lag: dict[TopicPartition, int | None] = {}  # of the partitions the merge has nothing of
        self.deciding = 0  # records taken from the merge and not published yet
        self.last_fetch = 0.0  # monotonic clock of the last batch fetched
        self.rewind: dict[TopicPartition, int] = {}  # after a failed publish: where the fetch loop seeks

    def add(self, prepare: Callable[[list], asyncio.Future], records: dict, epoch: int) -> None:
        """Start preparing a fetched batch (``prepare`` gets ``(value, timestamp)`` pairs)
        and put its records in the merge."""
        tps = sorted(records)
        ordered = [r for tp in tps for r in records[tp]]
        self.last_fetch = time.monotonic()
        batch = Batch(epoch, prepare([(r.value, r.timestamp / 1000.0) for r in ordered]), self.last_fetch)
        at = 0
        for tp in tps:
            self.merge.add(tp, [Item(r, batch, at + i) for i, r in enumerate(records[tp])])
            at += len(records[tp])

    def busy(self) -> bool:
        return self.merge.buffered() + self.deciding > 0

    def cap(self, assigned: set) -> int:
        """Records one partition may have in flight: its share of ``AHEAD`` batches, and at
        least half a batch (the merge needs every partition's next records to go on)."""
        return max(1, self.batch_size // 2, AHEAD * self.batch_size // max(1, len(assigned)))

    def room(self, assigned: set) -> int:
        """How many more records the fetch loop may take before the publisher catches up
        (before an assignment: a batch, so that polling joins the group)."""
        if not assigned:
            return self.batch_size
        cap = self.cap(assigned)
        room = sum(max(0, cap - self.merge.buffered(tp)) for tp in assigned)
        # small fetches make small batches for the workers; wait for more room, unless a
        # partition has nothing buffered (the merge may be waiting for it)
        return room if room >= self.batch_size // 4 or self.merge.dry() else 0

    def open(self, assigned: set) -> list[TopicPartition]:
        """The partitions to take records of: those below their share of the room, so that
        one partition's backlog cannot keep the others, which the merge may wait for, from
        being fetched (what aiokafka prefetched for the others stays in its buffer). None
        before an assignment: every partition."""
        cap = self.cap(assigned)
        return sorted(tp for tp in assigned if self.merge.buffered(tp) < cap)

    async def lags(self, consumer) -> dict[TopicPartition, int | None]:
        """Records not fetched yet, of each partition the merge has nothing of (None: not
        known yet): the end of what a read-committed consumer may read, less its position."""
        out = {}
        assignment = consumer.assignment() if consumer is not None else set()
        for tp in self.merge.dry():
            if tp not in assignment:
                continue
            lso = consumer.last_stable_offset(tp)
            end = lso if lso is not None and lso >= 0 else consumer.highwater(tp)
            try:
                position = await asyncio.wait_for(consumer.position(tp), POSITION_TIMEOUT)
            except (asyncio.TimeoutError, KafkaError):
                position = None
            out[tp] = None if end is None or position is None else max(0, end - position)
        self.lag = out
        return out

    def take(self, drain: bool) -> list[Item]:
        """What the merge lets go whose preparation is done (up to ``AHEAD`` batches), or
        (``drain``) every record in flight."""
        if drain:
            return self.merge.take(self.lag, limit=self.merge.buffered(), force=True)
        return self.merge.take(self.lag, limit=AHEAD * self.batch_size, ready=lambda item: item.batch.prepared.done())

    def retry(self, items: list[Item]) -> None:
        """After a failed publish: drop the records in flight, and have the fetch loop rewind
        to the first of them, which are then processed again (decisions are idempotent)."""
        for item in [*items, *self.merge.clear()]:
            self.rewind[item.tp] = min(self.rewind.get(item.tp, item.record.offset), item.record.offset)

    def seek_rewind(self, consumer, records: dict, bounds: dict | None, remaining: set[TopicPartition]) -> dict:
        """Apply a pending rewind, together with ``records`` fetched meanwhile, which are
        dropped: they come again from the rewound positions. A bounded partition that
        was finished is taken up again."""
        if not self.rewind:
            return records
        for tp, fetched in records.items():
            self.rewind.setdefault(tp, fetched[0].offset)
        for tp, offset in self.rewind.items():
            if tp in consumer.assignment():
                consumer.seek(tp, offset)
                if bounds is not None and offset < bounds[tp][1]:
                    remaining.add(tp)
                    consumer.resume(tp)
                    self.merge.finish(tp, False)
        self.rewind = {}
        return {}
