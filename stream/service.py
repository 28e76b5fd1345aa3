"""The async shell: consume batches, prepare them on workers, decide in order, publish, commit.

Two tasks share the batches in flight. The fetch loop polls the consumer and hands each
batch to the worker processes as soon as it arrives, up to ``AHEAD`` batches' worth of
records ahead of publishing. The publisher takes every prepared batch at the head of
the line, decides them in order and publishes them in one go (one transaction under
exactly-once): at low rates a publish covers what arrived during the one before, at
high rates batches are full. Deciding, publishing and committing happen under
``_lock``, oldest first, so decisions for a partition keep its order. A rebalance
drains the pipeline in ``on_partitions_revoked``: offsets are never committed for
records whose outputs the broker has not acknowledged, and a partition is handed over
only after its last batch is committed. A batch fetched under an earlier assignment is
dropped, not published: its records come again from the committed offsets. Only the
fetch loop moves the consumer: after a failed publish it rewinds to the first record
in flight. SIGTERM/SIGINT finish the batches in flight, then the consumer leaves the
group and the process exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass

import structlog
from aiokafka import ConsumerRebalanceListener
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.structs import TopicPartition

from stream.config import Settings
from stream.dedup import Deduper, Index
from stream.dedup.store import open_index
from stream.errors import IndexUnavailable
from stream.kafka import changelog, client, group
from stream.health import Health, serve
from stream.kafka.publisher import AtLeastOnce, ExactlyOnce
from stream.metrics import Metrics
from stream.models import Message, Prepared
from stream.pipeline import Origin, Processor, messages
from stream.stats import Stats
from stream.workers import Workers

log = structlog.get_logger("stream")

SHUTDOWN_TIMEOUT = 30.0
RETRY_BACKOFF = 1.0
AHEAD = 2  # records fetched and not yet published, in batches: what the workers have to do meanwhile
# Like Kafka Streams' commit.interval.ms under exactly-once: every publish is a transaction
# with a fixed cost (the broker writes a marker to each partition it touched), so at low
# rates publishes are spaced out and cover what arrived meanwhile.
PUBLISH_INTERVAL = 0.1
FETCH_INTERVAL = 0.05  # the same for handing small batches to the workers


class _Listener(ConsumerRebalanceListener):
    def __init__(self, service: Service) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked):
        service = self.service
        await service._flush(drain=True)  # the batches in flight are published and committed first
        service.assigned = set()  # until the new assignment, nothing fetched is published
        log.info("consumer.partitions_revoked", partitions=_names(revoked))
        for tp in revoked:
            service.metrics.forget_lag(tp.topic, tp.partition)

    async def on_partitions_assigned(self, assigned):
        service = self.service
        service.epoch += 1  # batches fetched under the previous assignment are stale
        service.assigned = set(assigned)
        service.metrics.rebalance()
        service.health.ready = bool(assigned) and not service.stopping.is_set()
        log.info("consumer.partitions_assigned", partitions=_names(assigned))
        reason = await group.check(service.settings, service.member)  # an embedded index must not share the group
        if reason is not None:
            service.failed = reason
            service.stop()


def _names(tps) -> list[str]:
    return sorted(f"{tp.topic}-{tp.partition}" for tp in tps)


@dataclass(eq=False)
class _Batch:
    """Records from one poll, and their preparation running on the workers."""

    records: list  # partition by partition, each in offset order
    epoch: int  # the assignment it was fetched under
    prepared: asyncio.Future
    fetched: float  # monotonic clock

    def partitions(self) -> set[TopicPartition]:
        return {TopicPartition(r.topic, r.partition) for r in self.records}


class Service:
    """The live service, or a bounded run over fixed offset ranges (``bounds``, for replay)."""

    def __init__(self, settings: Settings, index: Index | None = None,
                 bounds: dict[TopicPartition, tuple[int, int]] | None = None, on_batch=None,
                 restore_from: tuple[str, ...] | None = None) -> None:
        self.settings = settings
        self.bounds = bounds
        self.on_batch = on_batch  # called with the number of records after every committed batch
        self.index = index if index is not None else open_index(settings)
        # An embedded index persists through a changelog topic; a shared one (Redis) is its own store.
        self.changelog = None if self.index.durable else changelog.topic_for(settings.group_id)
        self.restore_from = (self.changelog,) if restore_from is None and self.changelog else (restore_from or ())
        self._changes: list = []  # index mutations not yet acknowledged by the broker
        self._watermark = 0.0  # the newest event time seen: expiry follows event time
        self.processor = Processor(Deduper(self.index, threshold=settings.threshold))
        self.member = group.me(settings.instance_id, self.index.shared, time.time())
        self.stats = Stats()
        self.metrics = Metrics()
        self.health = Health(stall_seconds=settings.stall_seconds, metrics=self.metrics)
        self.assigned: set[TopicPartition] = set()
        self.epoch = 0  # counts assignments
        self._inflight: deque[_Batch] = deque()
        self._consumer = self._publisher = None  # set by run()
        self.stopping = asyncio.Event()
        self.failed: str | None = None  # why the service stopped on its own, if it did
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()  # a preparation finished: the publisher has work
        self._room = asyncio.Event()  # a publish freed room, or the service is stopping
        self._rewind: dict[TopicPartition, int] = {}  # after a failed publish: where the fetch loop seeks

    def stop(self) -> None:
        self.stopping.set()
        self._room.set()
        self.health.drain()

    async def run(self) -> None:
        """Run until :meth:`stop` (or a signal), or until every bound is reached."""
        s = self.settings
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        await self._prepare_topics()
        workers = Workers(s.workers, s.max_record_bytes, learn=s.learn_boilerplate)
        producer = client.producer(s, transactional_id=self._transactional_id())
        consumer = client.consumer(s, client_id=group.client_id(self.member))
        server = None
        try:
            await workers.start()
            await producer.start()
            await consumer.start()
            remaining = self._assign(consumer)
            topics = {**s.topics, "changelog": self.changelog}
            publisher = (ExactlyOnce(producer, consumer, topics, s.group_id) if s.guarantee == "exactly_once"
                         else AtLeastOnce(producer, consumer, topics))
            server = await serve(self.health, self.metrics, port=s.metrics_port) if s.metrics_port >= 0 else None
            log.info("service.started", input_topic=s.input_topic, group_id=s.group_id, guarantee=s.guarantee,
                     workers=s.workers, index=s.index, metrics_port=server.port if server else None)
            stats_task = asyncio.create_task(self._report(consumer))
            self._consumer, self._publisher = consumer, publisher
            try:
                await self._loop(consumer, workers, remaining)
            finally:
                stats_task.cancel()
                self._discard()
        finally:
            self.health.drain()
            log.info("service.stopping", **self.stats.total)
            if server is not None:
                await server.close()
            try:
                await asyncio.wait_for(self._close(consumer, producer), SHUTDOWN_TIMEOUT)
            finally:
                workers.close()

    async def _prepare_topics(self) -> None:
        """Create missing topics, then restore the embedded index from its changelog."""
        s = self.settings
        if s.create_topics:
            created = await client.ensure_topics(
                s, [s.input_topic, s.output_topic, s.duplicates_topic, s.dlq_topic], compacted=(s.output_topic,))
            if created:
                log.info("topics.created", topics=created)
        if self.changelog:
            await changelog.ensure(s, self.changelog)
        for topic in self.restore_from:
            await changelog.restore(s, topic, self.index)

    def _transactional_id(self) -> str | None:
        s = self.settings
        return f"stream-{s.group_id}-{s.instance_id}" if s.guarantee == "exactly_once" else None

    def _assign(self, consumer) -> set[TopicPartition]:
        """Join the group, or (bounded run) assign the bounded partitions; return the
        partitions still short of their end bound."""
        if self.bounds is None:
            consumer.subscribe([self.settings.input_topic], listener=_Listener(self))
            return set()
        consumer.assign(list(self.bounds))
        for tp, (start, _) in self.bounds.items():
            consumer.seek(tp, start)
        self.assigned = set(self.bounds)
        self.health.ready = True
        return {tp for tp, (start, end) in self.bounds.items() if start < end}

    async def _loop(self, consumer, workers: Workers, remaining: set[TopicPartition]) -> None:
        """Fetch batches and start preparing them while the publisher task publishes the
        prepared ones; at the end, publish everything in flight."""
        publishing = asyncio.create_task(self._publishing())
        try:
            while not self.stopping.is_set() and (self.bounds is None or remaining) and not publishing.done():
                if self._inflight and time.monotonic() - self._inflight[-1].fetched < FETCH_INTERVAL:
                    await asyncio.sleep(self._inflight[-1].fetched + FETCH_INTERVAL - time.monotonic())
                room = self._room_left()
                if room <= 0:
                    await self._wait_for_room(consumer, publishing)
                    continue
                self._seek_rewind(consumer, {}, remaining)
                records = await consumer.getmany(timeout_ms=500, max_records=min(room, self.settings.batch_size))
                epoch = self.epoch  # read before any await: the assignment these records came from
                if self.bounds is not None:
                    records = await self._within_bounds(records, consumer, remaining)
                # a publish failed meanwhile: these come again after the rewind
                records = self._seek_rewind(consumer, records, remaining)
                if records:
                    ordered = [r for tp in sorted(records) for r in records[tp]]
                    prepared = asyncio.ensure_future(workers.prepare([(r.value, r.timestamp / 1000.0) for r in ordered]))
                    prepared.add_done_callback(lambda _: self._ready.set())
                    self._inflight.append(_Batch(ordered, epoch, prepared, time.monotonic()))
                self.health.waiting(bool(self._inflight))
                if not self._inflight:
                    self.health.progress()
            if publishing.done():
                publishing.result()  # re-raise what stopped it
            await self._flush(drain=True)
        finally:
            publishing.cancel()
            with suppress(asyncio.CancelledError):
                await publishing

    async def _publishing(self) -> None:
        """Publish batches as their preparation finishes."""
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                started = time.monotonic()
                if await self._flush(drain=False):
                    await asyncio.sleep(started + PUBLISH_INTERVAL - time.monotonic())
        finally:
            self._room.set()  # the fetch loop must not wait for a publisher that has stopped

    def _room_left(self) -> int:
        """How many more records the fetch loop may take before the publisher catches up."""
        return AHEAD * self.settings.batch_size - sum(len(b.records) for b in self._inflight)

    async def _wait_for_room(self, consumer, publishing: asyncio.Task) -> None:
        """Wait until a publish frees room. Past a quarter of ``max_poll_interval``, keep
        polling with every partition paused: aiokafka counts the time spent outside
        ``getmany`` against it, and a slow publish would otherwise make the consumer leave
        the group. Paused partitions keep their position; a quick wait pauses nothing, so
        prefetched records are kept."""
        deadline = time.monotonic() + self.settings.max_poll_interval / 4
        paused: set = set()
        try:
            while self._inflight and not publishing.done() and not self.stopping.is_set():
                if self._room_left() > 0:
                    return
                self._room.clear()
                left = deadline - time.monotonic()
                if left > 0:
                    with suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._room.wait(), left)
                    continue
                paused |= set(consumer.assignment()) - set(consumer.paused())
                consumer.pause(*paused)
                # a rebalance meanwhile may assign unpaused partitions: their records come again
                for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                    consumer.seek(tp, records[0].offset)
        finally:
            consumer.resume(*(paused & set(consumer.assignment())))

    async def _flush(self, drain: bool) -> int:
        """Decide and publish in-flight batches, oldest first: those whose preparation is
        done, or (``drain``) all of them, waiting for their preparation. Consecutive
        prepared batches are published together. Returns how many were published."""
        published = 0
        while self._inflight and (drain or self._inflight[0].prepared.done()):
            async with self._lock:
                if not self._inflight:  # a rebalance drained it meanwhile
                    return published
                if self.failed:
                    self._discard()
                    return published
                batch = self._inflight[0]
                if not self._current(batch):
                    # fetched under an assignment that has ended: the new one starts again from
                    # the committed offsets. Batches fetched since are kept.
                    self._inflight.popleft().prepared.cancel()
                    log.info("consumer.stale_batch_dropped", epoch=batch.epoch, records=len(batch.records))
                    continue
                await asyncio.wait([batch.prepared])
                group = [batch]
                for later in list(self._inflight)[1:]:
                    if not (later.prepared.done() and self._current(later)):
                        break
                    group.append(later)
                if not await self._handle(group):
                    self._retry()
                    return published
                for _ in group:
                    self._inflight.popleft()
                published += len(group)
                self._room.set()
        return published

    def _current(self, batch: _Batch) -> bool:
        """Whether ``batch`` was fetched under the assignment still in force."""
        return batch.epoch == self.epoch and batch.partitions() <= self.assigned

    def _discard(self) -> None:
        """Forget the batches in flight; their records are not committed, so they come again."""
        for batch in self._inflight:
            batch.prepared.cancel()
        self._inflight.clear()

    def _retry(self) -> None:
        """After a failed publish: drop the batches in flight, and have the fetch loop rewind
        to the first of their records, which are then processed again (decisions are idempotent)."""
        for batch in self._inflight:
            for r in batch.records:
                self._rewind.setdefault(TopicPartition(r.topic, r.partition), r.offset)
        self._discard()
        self._room.set()

    def _seek_rewind(self, consumer, records: dict, remaining: set[TopicPartition]) -> dict:
        """Apply a pending rewind, together with ``records`` fetched meanwhile, which are
        dropped: they come again from the rewound positions. A bounded partition that
        was finished is taken up again."""
        if not self._rewind:
            return records
        for tp, fetched in records.items():
            self._rewind.setdefault(tp, fetched[0].offset)
        for tp, offset in self._rewind.items():
            if tp in consumer.assignment():
                consumer.seek(tp, offset)
                if self.bounds is not None and offset < self.bounds[tp][1]:
                    remaining.add(tp)
                    consumer.resume(tp)
        self._rewind = {}
        return {}

    async def _within_bounds(self, batch, consumer, remaining: set[TopicPartition]):
        """Drop records at or past each partition's end bound; pause finished partitions.
        A partition is finished when its position reaches the bound, which also covers
        bounds that fall on transaction markers rather than records."""
        kept = {}
        for tp, records in batch.items():
            records = [r for r in records if r.offset < self.bounds[tp][1]]
            if records:
                kept[tp] = records
        for tp in list(remaining):
            position = kept[tp][-1].offset + 1 if tp in kept else await consumer.position(tp)
            if position >= self.bounds[tp][1]:
                remaining.discard(tp)
                consumer.pause(tp)
        return kept

    async def _close(self, consumer, producer) -> None:
        with suppress(Exception):
            await producer.stop()
        await consumer.stop()  # leaves the group

    async def _handle(self, batches: list[_Batch]) -> bool:
        """Decide prepared batches in order, then publish them and commit their offsets
        together. False when the publish failed and they must be processed again."""
        publisher = self._publisher
        records = [r for batch in batches for r in batch.records]
        try:
            prepared = [p for batch in batches for p in await batch.prepared]
            outcomes = await asyncio.to_thread(lambda: [self.processor.decide(p) for p in prepared])
            self._expire(prepared)
        except IndexUnavailable as exc:
            # Redis is down or slow: nothing is published or committed, and the batch comes
            # again after the back-off. The health watchdog reports the stall if it lasts.
            log.error("index.unavailable", error=str(exc), retry_in_s=RETRY_BACKOFF)
            self.metrics.index_unavailable()
            await asyncio.sleep(RETRY_BACKOFF)
            return False
        out = [m for o, r in zip(outcomes, records) for m in messages(o, r.value, Origin(r.topic, r.partition, r.offset))]
        if self.changelog:
            self._changes += [Message("changelog", k, v) for k, v in self.index.drain_changes()]
        offsets = {TopicPartition(r.topic, r.partition): r.offset + 1 for r in records}  # the last one wins
        try:
            await publisher.publish(out + self._changes, offsets)
        except ProducerFenced:
            # Another process took over this transactional id (the same STREAM_INSTANCE_ID):
            # this one must not write again. Its open transaction is already aborted.
            self.metrics.commit(False)
            log.error("producer.fenced", instance=self.settings.instance_id,
                      hint="every process needs its own STREAM_INSTANCE_ID")
            self.failed = "fenced by another process with the same instance id"
            self.stop()
            return False
        except KafkaError as exc:
            self.metrics.commit(False)
            log.error("commit.failed", error=f"{type(exc).__name__}: {exc}", partitions=_names(offsets))
            with suppress(KafkaError):
                await publisher.abort()
            await asyncio.sleep(RETRY_BACKOFF)
            return False
        self._changes = []
        now = time.monotonic()
        self.metrics.commit(True)
        for batch in batches:
            self.metrics.batch(now - batch.fetched, len(batch.records))
        self.health.progress()
        if self.on_batch is not None:
            self.on_batch(len(records))
        fetched = [batch.fetched for batch in batches for _ in batch.records]
        for outcome, record, since in zip(outcomes, records, fetched):
            self.stats.count(outcome.kind, now - since)
            self.metrics.record(outcome.kind, outcome.item.reason if outcome.decision is None else None)
            if outcome.kind == "article":
                continue
            with structlog.contextvars.bound_contextvars(
                topic=record.topic, partition=record.partition, offset=record.offset, url=outcome.item.url
                if outcome.decision is None else outcome.item.page.url,
            ):
                if outcome.decision is None:
                    log.warning("dlq.sent", reason=outcome.item.reason, detail=outcome.item.detail)
                else:
                    d = outcome.decision
                    log.debug("dedup.duplicate", id=d.doc_id, cluster_id=d.cluster_id, similarity=d.similarity)
        return True

    def _expire(self, prepared) -> None:
        """Drop index entries older than the retention window, in event time. A time more
        than a day ahead of the wall clock is a bad timestamp and does not move the window."""
        horizon = time.time() + 86400
        times = [p.event_time for p in prepared if isinstance(p, Prepared) and p.event_time <= horizon]
        if times and max(times) > self._watermark:
            self._watermark = max(times)
            self.index.expire(self._watermark - self.settings.retention_days * 86400)

    async def _report(self, consumer) -> None:
        while True:
            await asyncio.sleep(self.settings.stats_interval)
            lag = {}
            for tp in consumer.assignment():
                with suppress(Exception):
                    high = consumer.highwater(tp)
                    if high is not None:
                        lag[f"{tp.topic}-{tp.partition}"] = behind = max(0, high - await consumer.position(tp))
                        self.metrics.lag(tp.topic, tp.partition, behind)
            try:
                entries = len(self.index)
                self.metrics.index_entries(entries)
            except IndexUnavailable:
                entries = None
            log.info("stats", **self.stats.snapshot(), lag=lag, index_entries=entries)
