"""Prometheus metrics of one service instance, in a registry of their own.

Each :class:`Metrics` owns a dedicated :class:`~prometheus_client.CollectorRegistry`
(never the global one), so tests can build as many as they like. The service calls
the small methods below; :mod:`stream.health` serves ``generate_latest(registry)``
on ``GET /metrics``.

Metric                                      Type       Labels
``stream_records_total``                    counter    outcome: article, duplicate, dead_letter
``stream_dead_letters_total``               counter    reason
``stream_processing_seconds``               histogram  (per record: poll to commit)
``stream_consumer_lag``                     gauge      topic, partition
``stream_commits_total``                    counter    status: ok, failed
``stream_rebalances_total``                 counter
``stream_index_entries``                    gauge
``stream_index_unavailable_total``          counter    (batches held back: Redis did not answer)
``stream_last_progress_timestamp_seconds``  gauge      (Unix time)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

OUTCOMES = ("article", "duplicate", "dead_letter")

# Seconds from poll to commit. A batch of 256 records on two cores takes from
# tens of milliseconds to a few seconds; a commit retry adds a second or more.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The instance's metrics. All methods are cheap and safe to call from the event loop."""

    def __init__(self, registry: CollectorRegistry | None = None, clock: Callable[[], float] = time.time) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.clock = clock
        r = self.registry
        self.records_total = Counter(
            "stream_records", "Input records decided, by outcome.", ["outcome"], registry=r)
        self.dead_letters_total = Counter(
            "stream_dead_letters", "Input records sent to the dead-letter topic, by reason.", ["reason"], registry=r)
        self.processing_seconds = Histogram(
            "stream_processing_seconds", "Seconds from poll to commit, observed once per record.",
            buckets=LATENCY_BUCKETS, registry=r)
        self.consumer_lag = Gauge(
            "stream_consumer_lag", "Records behind the high watermark, per assigned partition.",
            ["topic", "partition"], registry=r)
        self.commits_total = Counter(
            "stream_commits", "Batch publish-and-commit attempts, by status.", ["status"], registry=r)
        self.rebalances_total = Counter(
            "stream_rebalances", "Partition assignments received from the group coordinator.", registry=r)
        self.index_entries_gauge = Gauge(
            "stream_index_entries", "Documents in the dedup index.", registry=r)
        self.index_unavailable_total = Counter(
            "stream_index_unavailable", "Batches held back because the shared index did not answer.", registry=r)
        self.last_progress = Gauge(
            "stream_last_progress_timestamp_seconds",
            "Unix time of the last progress: a batch committed, or a poll that found nothing waiting.", registry=r)
        for outcome in OUTCOMES:  # present at zero from the start, so rate() works at once
            self.records_total.labels(outcome=outcome)
        for status in ("ok", "failed"):
            self.commits_total.labels(status=status)

    def index_unavailable(self) -> None:
        self.index_unavailable_total.inc()

    def record(self, outcome: str, reason: str | None = None) -> None:
        """One input record decided (after its batch is committed); ``reason`` for dead letters."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        self.records_total.labels(outcome=outcome).inc()
        if outcome == "dead_letter":
            self.dead_letters_total.labels(reason=reason or "unknown").inc()

    def batch(self, seconds: float, n: int) -> None:
        """A batch of ``n`` records committed ``seconds`` after it was polled. Every record of
        the batch waited that long, so the latency is observed ``n`` times; also progress."""
        for _ in range(n):
            self.processing_seconds.observe(seconds)
        self.progress()

    def lag(self, topic: str, partition: int, value: int) -> None:
        self.consumer_lag.labels(topic=topic, partition=str(partition)).set(value)

    def forget_lag(self, topic: str, partition: int) -> None:
        """Drop the lag series of a partition no longer assigned here (call on revoke)."""
        with suppress(KeyError):
            self.consumer_lag.remove(topic, str(partition))

    def commit(self, ok: bool) -> None:
        self.commits_total.labels(status="ok" if ok else "failed").inc()

    def rebalance(self) -> None:
        self.rebalances_total.inc()

    def index_entries(self, n: int) -> None:
        self.index_entries_gauge.set(n)

    def progress(self) -> None:
        self.last_progress.set(self.clock())
