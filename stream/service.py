"""The async shell: consume batches, prepare them on workers, decide in order, publish, commit.

Two tasks share the records in flight (:mod:`stream.inflight`). The fetch loop polls the
consumer, hands each batch to the worker processes as soon as it arrives, and buffers its
records per partition in a :class:`~stream.merge.Merge`, up to ``AHEAD`` batches' worth
(divided over the assigned partitions; a partition that has its share is not taken from,
so the others are still fetched). The publisher takes records from the merge in its order (timestamp
first, across partitions: a backlog is decided in the same order whatever the fetch
timing), decides them and publishes them in one go (one transaction under
exactly-once): at low rates a publish covers what arrived during the one before, at high
rates it is full. Deciding, publishing and committing happen under ``_lock``, so
decisions for a partition keep its order. A rebalance drains the merge in
``on_partitions_revoked``: offsets are never committed for records whose outputs the
broker has not acknowledged, and a partition is handed over only after its last record
is committed. A record fetched under an earlier assignment is dropped, not published: it
comes again from the committed offsets. Only the fetch loop moves the consumer: after a
failed publish it rewinds to the first record in flight. SIGTERM/SIGINT finish the
records in flight, then the consumer leaves the group and the process exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from contextlib import suppress

import structlog
from aiokafka import ConsumerRebalanceListener
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.structs import TopicPartition

from stream.config import Settings, redact_url
from stream.dedup import Deduper, Index
from stream.dedup.store import open_index
from stream.errors import ConfigError, IndexUnavailable
from stream.health import Health, HealthServer, serve
from stream.inflight import InFlight, Item
from stream.kafka import changelog, client, group, security
from stream.kafka.publisher import AtLeastOnce, ExactlyOnce
from stream.metrics import Metrics
from stream.models import Message, Prepared
from stream.pipeline import Origin, Processor, messages, tombstone
from stream.stats import Stats
from stream.workers import Workers

log = structlog.get_logger("stream")

SHUTDOWN_TIMEOUT = 30.0
RETRY_BACKOFF = 1.0
LOOK_AGAIN = 0.5  # seconds: how often a publisher held back by a partition's lag looks at it again
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
        await service._flush(drain=True)  # the records in flight are published and committed first
        service.assigned = set()  # until the new assignment, nothing fetched is published
        log.info("consumer.partitions_revoked", partitions=_names(revoked))
        for tp in revoked:
            service.metrics.forget_lag(tp.topic, tp.partition)

    async def on_partitions_assigned(self, assigned):
        service = self.service
        service.epoch += 1  # records fetched under the previous assignment are stale
        service.assigned = set(assigned)
        dropped = service.inflight.merge.assign(assigned)
        if dropped:
            log.info("consumer.stale_batch_dropped", epoch=service.epoch - 1, records=len(dropped))
        service.metrics.rebalance()
        service.health.ready = bool(assigned) and not service.stopping.is_set()
        log.info("consumer.partitions_assigned", partitions=_names(assigned))
        reason = await group.check(service.settings, service.member)  # an embedded index must not share the group
        if reason is not None:
            service.failed = reason
            service.stop()


def _names(tps) -> list[str]:
    return sorted(f"{tp.topic}-{tp.partition}" for tp in tps)


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
        self.inflight = InFlight(settings.batch_size, settings.max_idle)
        self._consumer = self._publisher = None  # set by run()
        self.stopping = asyncio.Event()
        self.failed: str | None = None  # why the service stopped on its own, if it did
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()  # a preparation finished: the publisher has work
        self._room = asyncio.Event()  # a publish freed room, or the service is stopping

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
        server = await self._serve()  # first: a port in use fails before anything joins the group
        try:
            await security.check(s)  # a refused connection: one line naming the setting, not a retry loop
            await self._prepare_topics()
        except BaseException:
            if server is not None:
                await server.close()
            raise
        workers = Workers(s.workers, s.max_record_bytes, learn=s.learn_boilerplate)
        producer = client.producer(s, transactional_id=self._transactional_id())
        consumer = client.consumer(s, client_id=group.client_id(self.member))
        try:
            await workers.start()
            await producer.start()
            await consumer.start()
            remaining = self._assign(consumer)
            topics = {**s.topics, "changelog": self.changelog}
            publisher = (ExactlyOnce(producer, consumer, topics, s.group_id) if s.guarantee == "exactly_once"
                         else AtLeastOnce(producer, consumer, topics))
            log.info("service.started", input_topic=s.input_topic, group_id=s.group_id, guarantee=s.guarantee,
                     workers=s.workers, index=redact_url(s.index), metrics_port=server.port if server else None)
            stats_task = asyncio.create_task(self._report(consumer))
            self._consumer, self._publisher = consumer, publisher
            try:
                await self._loop(consumer, workers, remaining)
            finally:
                stats_task.cancel()
                self.inflight.merge.clear()
        finally:
            self.health.drain()
            log.info("service.stopping", **self.stats.total)
            if server is not None:
                await server.close()
            try:
                await asyncio.wait_for(self._close(consumer, producer), SHUTDOWN_TIMEOUT)
            finally:
                workers.close()

    async def _serve(self) -> HealthServer | None:
        """Serve /metrics, /livez and /readyz on the metrics port (none when it is negative)."""
        port = self.settings.metrics_port
        if port < 0:
            return None
        try:
            return await serve(self.health, self.metrics, port=port)
        except OSError as exc:
            why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise ConfigError(f"STREAM_METRICS_PORT: cannot serve metrics on port {port} ({why}); "
                              "set another port (0: any free port, -1: no metrics)") from exc

    async def _prepare_topics(self) -> None:
        """Create missing topics and wait until they and the group's coordinator are usable,
        then restore the embedded index from its changelog."""
        s = self.settings
        if s.create_topics:
            created = await client.ensure_topics(
                s, [s.input_topic, s.output_topic, s.duplicates_topic, s.dlq_topic], compacted=(s.output_topic,))
            if created:
                log.info("topics.created", topics=created)
        if self.changelog:
            await changelog.ensure(s, self.changelog)
        await client.wait_for_coordinator(s, s.group_id)
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
        self.inflight.merge.assign(self.bounds)
        for tp, (start, end) in self.bounds.items():
            consumer.seek(tp, start)
            if start >= end:
                self.inflight.merge.finish(tp)
        self.assigned = set(self.bounds)
        self.health.ready = True
        return {tp for tp, (start, end) in self.bounds.items() if start < end}

    async def _loop(self, consumer, workers: Workers, remaining: set[TopicPartition]) -> None:
        """Fetch batches and start preparing them while the publisher task publishes the
        prepared records; at the end, publish everything in flight."""
        publishing = asyncio.create_task(self._publishing())
        try:
            inflight = self.inflight
            while not self.stopping.is_set() and (self.bounds is None or remaining) and not publishing.done():
                if inflight.merge.buffered() and time.monotonic() - inflight.last_fetch < FETCH_INTERVAL:
                    await asyncio.sleep(inflight.last_fetch + FETCH_INTERVAL - time.monotonic())
                room = inflight.room(self.assigned)
                if room <= 0:
                    await self._wait_for_room(consumer, publishing)
                    continue
                inflight.seek_rewind(consumer, {}, self.bounds, remaining)
                records = await consumer.getmany(*inflight.open(self.assigned), timeout_ms=500,
                                                 max_records=min(room, self.settings.batch_size))
                epoch = self.epoch  # read before any await: the assignment these records came from
                if self.bounds is not None:
                    records = await self._within_bounds(records, consumer, remaining)
                # a publish failed meanwhile: these come again after the rewind
                records = inflight.seek_rewind(consumer, records, self.bounds, remaining)
                if records:
                    inflight.add(lambda values: self._prepare(workers, values), records, epoch)
                self.health.waiting(inflight.busy())
                if not inflight.busy():
                    self.health.progress()
            if publishing.done():
                publishing.result()  # re-raise what stopped it
            await self._flush(drain=True)
        finally:
            publishing.cancel()
            with suppress(asyncio.CancelledError):
                await publishing

    def _prepare(self, workers: Workers, values: list) -> asyncio.Future:
        """Prepare a batch on the workers; the publisher is woken when it is done."""
        prepared = asyncio.ensure_future(workers.prepare(values))
        prepared.add_done_callback(lambda _: self._ready.set())
        return prepared

    async def _publishing(self) -> None:
        """Publish records as their preparation finishes and the merge lets them go."""
        try:
            while True:
                started = time.monotonic()
                if await self._flush(drain=False):  # more may be ready: go again, a publish interval on
                    await asyncio.sleep(started + PUBLISH_INTERVAL - time.monotonic())
                    continue
                # nothing could go: wait for a preparation, or for the idle waits that hold the merge back
                wait = None
                if self.inflight.merge.buffered():
                    idle = self.inflight.merge.deadline(self.inflight.lag)
                    wait = LOOK_AGAIN if idle is None or idle <= 0 else min(idle, LOOK_AGAIN)
                with suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), wait)
                self._ready.clear()
        finally:
            self._room.set()  # the fetch loop must not wait for a publisher that has stopped

    async def _wait_for_room(self, consumer, publishing: asyncio.Task) -> None:
        """Wait until a publish frees room. Past a quarter of ``max_poll_interval``, keep
        polling with every partition paused: aiokafka counts the time spent outside
        ``getmany`` against it, and a slow publish would otherwise make the consumer leave
        the group. Paused partitions keep their position; a quick wait pauses nothing, so
        prefetched records are kept."""
        deadline = time.monotonic() + self.settings.max_poll_interval / 4
        paused: set = set()
        try:
            while self.inflight.merge.buffered() and not publishing.done() and not self.stopping.is_set():
                if self.inflight.room(self.assigned) > 0:
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
        """Decide and publish the records the merge lets go whose preparation is done, or
        (``drain``) every record in flight, waiting for its preparation. Returns how many
        were published."""
        inflight = self.inflight
        async with self._lock:
            if self.failed:
                inflight.merge.clear()
                return 0
            await inflight.lags(self._consumer)
            items = inflight.take(drain)
            stale = [item for item in items if not self._current(item)]
            if stale:
                # fetched under an assignment that has ended: the new one starts again from
                # the committed offsets
                log.info("consumer.stale_batch_dropped", epoch=stale[0].batch.epoch, records=len(stale))
                items = [item for item in items if self._current(item)]
            if not items:
                return 0
            inflight.deciding = len(items)
            try:
                if not await self._handle(items):
                    inflight.retry(items)
                    self._room.set()
                    return 0
            finally:
                inflight.deciding = 0
            self._room.set()
            return len(items)

    def _current(self, item: Item) -> bool:
        """Whether ``item`` was fetched under the assignment still in force."""
        return item.batch.epoch == self.epoch and item.tp in self.assigned

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
                self.inflight.merge.finish(tp)
        return kept

    async def _close(self, consumer, producer) -> None:
        with suppress(Exception):
            await producer.stop()
        await consumer.stop()  # leaves the group

    async def _handle(self, items: list[Item]) -> bool:
        """Decide records in order, then publish them and commit their offsets together.
        False when the publish failed and they must be processed again."""
        publisher = self._publisher
        records = [item.record for item in items]
        try:
            results = {}
            for item in items:
                if item.batch not in results:
                    results[item.batch] = await item.batch.prepared
            prepared = [results[item.batch][item.index] for item in items]
            outcomes = await asyncio.to_thread(lambda: [self.processor.decide(p) for p in prepared])
            self._expire(prepared)
        except IndexUnavailable as exc:
            await self._unavailable(exc)
            return False
        out = [m for o, r in zip(outcomes, records) for m in messages(o, r.value, Origin(r.topic, r.partition, r.offset))]
        if self.changelog:
            self._changes += [Message("changelog", k, v) for k, v in self.index.drain_changes()]
        offsets = {TopicPartition(r.topic, r.partition): r.offset + 1 for r in records}  # the last one wins
        recheck = (lambda: asyncio.to_thread(self._retired_meanwhile, outcomes)) if self.index.shared else None
        try:
            await publisher.publish(out + self._changes, offsets, recheck)
        except ProducerFenced:
            # Another process took over this transactional id (the same STREAM_INSTANCE_ID):
            # this one must not write again. Its open transaction is already aborted.
            self.metrics.commit(False)
            log.error("producer.fenced", instance=self.settings.instance_id,
                      hint="every process needs its own STREAM_INSTANCE_ID")
            self.failed = "fenced by another process with the same instance id"
            self.stop()
            return False
        except (KafkaError, IndexUnavailable) as exc:
            self.metrics.commit(False)
            with suppress(KafkaError):
                await publisher.abort()
            if isinstance(exc, IndexUnavailable):
                await self._unavailable(exc)
                return False
            log.error("commit.failed", error=f"{type(exc).__name__}: {exc}", partitions=_names(offsets))
            await asyncio.sleep(RETRY_BACKOFF)
            return False
        self._changes = []
        now = time.monotonic()
        self.metrics.commit(True)
        for batch in results:
            self.metrics.batch(now - batch.fetched, sum(item.batch is batch for item in items))
        self.health.progress()
        if self.on_batch is not None:
            self.on_batch(len(records))
        for outcome, item in zip(outcomes, items):
            record = item.record
            self.stats.count(outcome.kind, now - item.batch.fetched)
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

    async def _unavailable(self, exc: IndexUnavailable) -> None:
        """Redis is down or slow: nothing is published or committed, and the records come
        again after the back-off. The health watchdog reports the stall if it lasts."""
        log.error("index.unavailable", error=str(exc), retry_in_s=RETRY_BACKOFF)
        self.metrics.index_unavailable()
        await asyncio.sleep(RETRY_BACKOFF)

    def _retired_meanwhile(self, outcomes) -> list[Message]:
        """With an index other instances write too: tombstones for the articles of this
        publish whose cluster another instance retired between the decision and now. Run
        after the articles are appended, so a tombstone from the other instance that was
        appended before them is overridden here (``docs/state.md``)."""
        return [tombstone(o.decision.doc_id) for o in outcomes
                if o.decision is not None and o.decision.canonical
                and (root := self.index.root(o.decision.doc_id)) is not None and root.doc_id != o.decision.doc_id]

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
