"""The service end to end on the real broker: samples in, exactly what lands where."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from stream.kafka.topics import produce, read
from stream.pipeline import prepare
from stream.samples import raw_values, records
from tests.service_support import by_topic, outputs, running, spawn, stop, wait_for_log

pytestmark = pytest.mark.kafka

ORIGINAL, FLAT, RETITLED = (records()[i]["url"] for i in (0, 3, 6))


def expected_ids(settings) -> dict[str, str]:
    """url -> id, from the pure core alone."""
    out = {}
    for value in raw_values():
        item = prepare(value, settings.max_record_bytes)
        if hasattr(item, "doc_id"):
            out[item.page.url] = item.doc_id
    return out


def check_sample_outputs(settings, got: dict[str, list]) -> None:
    ids = expected_ids(settings)
    articles = {a["url"]: a for a in got["articles"]}
    dups = {d["url"]: d for d in got["duplicates"]}
    # The three copies of the wire story: one canonical, two duplicates pointing at it.
    assert set(dups) == {FLAT, RETITLED}
    original = articles[ORIGINAL]
    assert original["id"] == original["cluster_id"] == ids[ORIGINAL]
    for url in (FLAT, RETITLED):
        assert dups[url]["id"] == ids[url]
        assert dups[url]["cluster_id"] == dups[url]["duplicate_of"] == original["id"]
        assert 0.0 < dups[url]["similarity"] <= 1.0
    # Everything else is its own story, the same-template different story included.
    assert set(articles) == set(ids) - {FLAT, RETITLED}
    assert all(a["id"] == a["cluster_id"] == ids[a["url"]] for a in articles.values())
    assert original["title"].startswith("Putin set to address security officials")
    assert "Dmitry Peskov" in original["text"] and "All rights reserved" not in original["text"]
    assert (original["published_at"], original["fetched_at"], original["source"], original["feed"]) == (
        "2022-02-21T10:05:00Z", "2022-02-21T10:10:00Z", "wire.example", "wire")
    # Bad records: original bytes and a reason.
    assert sorted(r.headers["reason"].decode() for r in got["dead"]) == ["invalid_json", "missing_url", "no_content"]


async def test_every_record_lands_on_exactly_one_topic(settings):
    values = raw_values()
    async with running(settings):
        await produce(settings, settings.input_topic, values, keys=[b"one-partition"] * len(values))
        got = await outputs(settings, len(values), settle=2.0)
    assert len(got) == len(values)
    decoded = by_topic(settings, got)
    check_sample_outputs(settings, decoded)
    # Keys are cluster ids; dead letters keep the input's bytes and say where it came from.
    for r in got:
        if r.topic != settings.dlq_topic:
            assert r.key.decode() in {a["cluster_id"] for a in decoded["articles"]}
    inputs = await read(settings, [settings.input_topic], len(values))
    by_offset = {(r.partition, r.offset): r.value for r in inputs}
    for r in decoded["dead"]:
        assert r.headers["source_topic"].decode() == settings.input_topic
        origin = (int(r.headers["source_partition"]), int(r.headers["source_offset"]))
        assert by_offset[origin] == r.value


async def test_at_least_once_gives_the_same_outputs(settings):
    settings = replace(settings, guarantee="at_least_once")
    values = raw_values()
    async with running(settings):
        await produce(settings, settings.input_topic, values, keys=[b"k"] * len(values))
        got = await outputs(settings, len(values), settle=2.0)
    assert len(got) == len(values)
    check_sample_outputs(settings, by_topic(settings, got))


async def committed(settings) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=settings.group_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.input_topic, p) for p in range(settings.partitions)]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: (await consumer.committed(tp), ends[tp]) for tp in tps}
    finally:
        await consumer.stop()


async def test_sigterm_commits_and_a_restart_reprocesses_nothing(settings, tmp_path):
    values = raw_values()
    proc = spawn(settings, tmp_path / "first.log")
    try:
        await wait_for_log(tmp_path / "first.log", "consumer.partitions_assigned")
        await produce(settings, settings.input_topic, values)
        got = await outputs(settings, len(values), timeout=120)
        assert len(got) == len(values)
    finally:
        started = time.monotonic()
        code = stop(proc)
    assert code == 0 and time.monotonic() - started < 30
    log = (tmp_path / "first.log").read_text()
    assert '"event":"service.stopping"' in log
    offsets = await committed(settings)
    # every record committed; a partition the producer sent nothing to has no commit at all
    assert all((c or 0) == end for c, end in offsets.values()), offsets

    proc = spawn(settings, tmp_path / "second.log")
    try:
        await wait_for_log(tmp_path / "second.log", "consumer.partitions_assigned")
        await asyncio.sleep(3)
    finally:
        assert stop(proc) == 0
    again = await outputs(settings, len(values), timeout=20, settle=1.0)
    assert len(again) == len(values)  # nothing new after the restart
