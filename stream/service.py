"""The async shell: consume batches, prepare them on workers, decide in order, publish, commit.

Batches form a short pipeline: while one batch is decided and published, the next
ones are already being prepared on the worker processes. Deciding, publishing and
committing happen one batch at a time, oldest first, under ``_lock``, so decisions
for a partition keep its order. A rebalance drains the pipeline in
``on_partitions_revoked``: offsets are never committed for records whose outputs the
broker has not acknowledged, and a partition is handed over only after its last
batch is committed. A batch fetched under an earlier assignment is dropped, not
published: its records come again from the committed offsets. SIGTERM/SIGINT finish
the batches in flight, then the consumer leaves the group and the process exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import deque
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import structlog
from aiokafka import ConsumerRebalanceListener
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.structs import TopicPartition

from stream.config import Settings
from stream.dedup import Deduper, Index
from stream.dedup.store import open_index
from stream.errors import IndexUnavailable
from stream.kafka import changelog, client
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
PIPELINE_DEPTH = 2  # batches in flight: one deciding and publishing, the next preparing


class _Listener(ConsumerRebalanceListener):
    def __init__(self, service: Service) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked):
        service = self.service
        await service._flush(keep=0)  # the batches in flight are published and committed first
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


def _names(tps) -> list[str]:
    return sorted(f"{tp.topic}-{tp.partition}" for tp in tps)


@asynccontextmanager
async def _polling(consumer, grace: float):
    """Keep polling, with every partition paused, when a batch takes longer than ``grace``.

    aiokafka counts the time spent outside ``getmany`` against
    ``max_poll_interval_ms``; a slow batch would otherwise make the consumer leave
    the group. Paused partitions return no records and keep their position, so
    nothing is skipped. Fast batches never pause, so prefetched records are kept."""
    paused: set = set()

    async def poll() -> None:
        await asyncio.sleep(grace)
        paused.update(set(consumer.assignment()) - set(consumer.paused()))
        consumer.pause(*paused)
        while True:
            await consumer.getmany(timeout_ms=1000)

    task = asyncio.create_task(poll())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError, KafkaError):
            await task
        consumer.resume(*(paused & set(consumer.assignment())))


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

    def stop(self) -> None:
        self.stopping.set()
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
        consumer = client.consumer(s)
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
                await self._flush(keep=0)
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
        while not self.stopping.is_set() and (self.bounds is None or remaining):
            records = await consumer.getmany(timeout_ms=20 if self._inflight else 500,
                                             max_records=self.settings.batch_size)
            epoch = self.epoch  # read before any await: the assignment these records came from
            if self.bounds is not None:
                records = await self._within_bounds(records, consumer, remaining)
            if records:
                ordered = [r for tp in sorted(records) for r in records[tp]]
                prepared = asyncio.ensure_future(workers.prepare([(r.value, r.timestamp / 1000.0) for r in ordered]))
                self._inflight.append(_Batch(ordered, epoch, prepared, time.monotonic()))
            self.health.waiting(bool(self._inflight))
            if not self._inflight:
                self.health.progress()
            await self._flush(keep=PIPELINE_DEPTH - 1)

    async def _flush(self, keep: int) -> None:
        """Decide and publish in-flight batches, oldest first: every batch whose preparation
        is done, and more (waiting for them) until at most ``keep`` remain."""
        while self._inflight and (len(self._inflight) > keep or self._inflight[0].prepared.done()):
            async with self._lock:
                if not self._inflight:  # a rebalance drained it meanwhile
                    return
                if self.failed:
                    self._discard()
                    return
                batch = self._inflight[0]
                if batch.epoch != self.epoch or not batch.partitions() <= self.assigned:
                    # fetched under an assignment that has ended: the new one starts again from
                    # the committed offsets. Batches fetched since are kept.
                    self._inflight.popleft().prepared.cancel()
                    log.info("consumer.stale_batch_dropped", epoch=batch.epoch, records=len(batch.records))
                    continue
                if not await self._handle(batch):
                    self._retry()
                    return
                self._inflight.popleft()

    def _discard(self) -> None:
        """Forget the batches in flight; their records are not committed, so they come again."""
        for batch in self._inflight:
            batch.prepared.cancel()
        self._inflight.clear()

    def _retry(self) -> None:
        """After a failed publish: drop the batches in flight and rewind to the first of
        their records, which are then processed again (decisions are idempotent)."""
        start: dict[TopicPartition, int] = {}
        for batch in self._inflight:
            for r in batch.records:
                start.setdefault(TopicPartition(r.topic, r.partition), r.offset)
        self._discard()
        for tp, offset in start.items():
            if tp in self._consumer.assignment():
                self._consumer.seek(tp, offset)

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

    async def _handle(self, batch: _Batch) -> bool:
        """Decide one prepared batch, then publish it and commit its offsets. False when the
        publish failed and the batch must be processed again."""
        consumer, publisher, records = self._consumer, self._publisher, batch.records
        try:
            async with _polling(consumer, self.settings.max_poll_interval / 4):
                prepared = await batch.prepared
                outcomes = await asyncio.to_thread(lambda: [self.processor.decide(p) for p in prepared])
            self._expire(prepared)
        except IndexUnavailable as exc:
            # Redis is down or slow: nothing is published or committed, and the batch comes
            # again after the back-off. The health watchdog reports the stall if it lasts.
            log.error("index.unavailable", error=str(exc), retry_in_s=RETRY_BACKOFF)
            self.metrics.index_unavailable()
            await asyncio.sleep(RETRY_BACKOFF)
            return False
        out = [messages(o, r.value, Origin(r.topic, r.partition, r.offset)) for o, r in zip(outcomes, records)]
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
        latency = time.monotonic() - batch.fetched
        self.metrics.commit(True)
        self.metrics.batch(latency, len(records))
        self.health.progress()
        if self.on_batch is not None:
            self.on_batch(len(records))
        for outcome, record in zip(outcomes, records):
            self.stats.count(outcome.kind, latency)
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
