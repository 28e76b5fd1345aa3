"""Known consumer pitfalls, on the real broker: slow batches and commits around rebalances."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import orjson
import pytest
import structlog
from aiokafka import AIOKafkaProducer

from stream.dedup import MemoryIndex
from stream.kafka.client import ensure_topics
from stream.kafka.topics import produce
from tests.service_support import by_topic, outputs, running

pytestmark = pytest.mark.kafka


class SlowIndex(MemoryIndex):
    """An index whose every insert takes ``delay`` seconds: a stand-in for slow processing."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def insert(self, *args, **kwargs):
        time.sleep(self.delay)
        return super().insert(*args, **kwargs)


def pages(n: int, tag: str) -> list[bytes]:
    return [orjson.dumps({"url": f"https://{tag}{i}.example/story",
                          "text": f"Story {tag} {i}\n\n" + " ".join(f"{tag}{i}w{j}" for j in range(80))})
            for i in range(n)]


def assert_each_input_once(settings, records, n: int) -> None:
    got = by_topic(settings, records)
    ids = [a["id"] for a in got["articles"]] + [d["id"] for d in got["duplicates"]]
    assert len(ids) == len(set(ids)) == n and not got["dead"]


async def test_slow_batches_do_not_exceed_max_poll_interval(settings):
    settings = replace(settings, max_poll_interval=2.0, batch_size=40)
    values = pages(80, "slow")
    with structlog.testing.capture_logs() as logs:
        async with running(settings, index=SlowIndex(0.1)):  # 4 s a batch, twice the poll interval
            await produce(settings, settings.input_topic, values)
            got = await outputs(settings, len(values), timeout=120, settle=2.0)
    events = [e["event"] for e in logs]
    assert events.count("consumer.partitions_revoked") <= 1  # the empty revoke at first join only
    assert "commit.failed" not in events
    assert_each_input_once(settings, got, len(values))


async def test_a_rebalance_mid_batch_commits_only_acknowledged_outputs(settings):
    settings = replace(settings, batch_size=20)
    values = pages(120, "rb")
    async with running(settings, index=SlowIndex(0.05)):
        await produce(settings, settings.input_topic, values)
        await asyncio.sleep(1.5)  # the first instance is in the middle of a batch
        second = replace(settings, instance_id=settings.instance_id + "-b")
        async with running(second, index=SlowIndex(0.05)):
            got = await outputs(settings, len(values), timeout=180, settle=3.0)
    assert_each_input_once(settings, got, len(values))


async def test_memory_stays_bounded_under_backpressure(settings):
    """600 MB of input behind a slow decision: the service holds a bounded window of it
    (the fetch buffer and one batch), not the backlog."""
    import gc

    import psutil

    settings = replace(settings, batch_size=8)
    script = "<script>" + "x" * (1024 * 1024) + "</script>"
    values = [orjson.dumps({"url": f"https://big{i}.example/a", "html": f"<html><head>{script}</head><body>"
                            f"<article><p>{' '.join(f'big{i}w{j}' for j in range(60))}.</p></article></body></html>"})
              for i in range(600)]
    await ensure_topics(settings, [settings.input_topic])  # with our message size limit
    await produce(settings, settings.input_topic, values)
    total = sum(map(len, values))
    del values
    gc.collect()
    me = psutil.Process()
    base = peak = me.memory_info().rss

    async def sample():
        nonlocal peak
        while True:
            peak = max(peak, me.memory_info().rss)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        async with running(settings, index=SlowIndex(0.01)):
            got = await outputs(settings, 600, timeout=240, settle=1.0)
    finally:
        sampler.cancel()
    assert_each_input_once(settings, got, 600)
    assert peak - base < total / 3, f"grew {(peak - base) >> 20} MiB for {total >> 20} MiB of input"


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_compressed_input_is_read(settings, codec):
    values = pages(12, codec)
    async with running(settings):
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, compression_type=codec)
        await producer.start()
        try:
            await asyncio.gather(*[await producer.send(settings.input_topic, v) for v in values])
        finally:
            await producer.stop()
        got = await outputs(settings, len(values), timeout=60, settle=1.0)
    assert_each_input_once(settings, got, len(values))
