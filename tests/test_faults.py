"""Faults on the real broker: kill -9, a broker restart, a Redis restart, an instance joining and leaving."""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import time
from collections import defaultdict
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from stream.decode import decode, doc_id
from stream.kafka.topics import produce
from tests import stories
from tests.conftest import ROOT, own_broker_env
from tests.service_support import compacted, outputs, spawn, stop, wait_for_log

pytestmark = pytest.mark.kafka


def story_of(values: list[bytes]) -> dict[str, int]:
    return {doc_id(decode(v, 1 << 20)): orjson.loads(v)["story"] for v in values}


async def produce_over(settings, values: list[bytes], chunks: int, pause: float) -> None:
    """Produce ``values`` in ``chunks`` pieces, ``pause`` seconds apart: a stream, not a burst."""
    step = -(-len(values) // chunks)
    for i in range(0, len(values), step):
        await produce(settings, settings.input_topic, values[i : i + step])
        await asyncio.sleep(pause)


def check(records, settings, stories_by_id: dict[str, int], exactly_once: bool) -> dict:
    """Every input accounted for; one canonical per story in the compacted articles topic;
    repeated outputs identical."""
    outcomes = defaultdict(list)
    for r in records:
        assert r.topic != settings.dlq_topic, r.headers
        if r.value is None:  # a tombstone: a retired cluster's key
            continue
        value = orjson.loads(r.value)
        outcomes[value["id"]].append((r.topic, r.key, r.value))
    assert set(outcomes) == set(stories_by_id)  # nothing lost
    repeated = {i: o for i, o in outcomes.items() if len(o) > 1}
    if exactly_once:
        assert not repeated
    else:
        assert all(len(set(o)) == 1 for o in repeated.values())  # byte-identical, same key and topic
    canonicals = defaultdict(set)
    for key, article in compacted(settings, records).items():
        canonicals[stories_by_id[article["id"]]].add(key)
    assert len(canonicals) == len(set(stories_by_id.values()))
    assert all(len(keys) == 1 for keys in canonicals.values()), {s: k for s, k in canonicals.items() if len(k) > 1}
    return {"inputs": len(stories_by_id), "repeated": len(repeated),
            "retired": sum(r.value is None for r in records if r.topic == settings.output_topic)}


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
async def test_kill_9_five_times_during_10000_records(settings, tmp_path, guarantee):
    settings = replace(settings, guarantee=guarantee, batch_size=128)
    values = stories.stream(2000, 5)
    ids = story_of(values)
    rng = random.Random(guarantee)
    logs = iter(tmp_path / f"run{i}.log" for i in range(100))
    proc = spawn(settings, log := next(logs))
    await wait_for_log(log, "consumer.partitions_assigned")
    producing = asyncio.create_task(produce_over(settings, values, chunks=20, pause=0.6))
    for _ in range(5):
        await asyncio.sleep(rng.uniform(1.0, 4.0))
        proc.kill()
        proc.wait()
        proc = spawn(settings, next(logs))
    await producing
    try:
        records = await outputs(settings, len(values), tombstones=True, timeout=420, settle=3.0)
    finally:
        assert stop(proc) == 0
    counts = check(records, settings, ids, exactly_once=guarantee == "exactly_once")
    print(f"\nkill -9 x5, {guarantee}: {counts}")


async def test_broker_restart_mid_stream(settings, tmp_path):
    broker = own_broker_env(tmp_path)
    port = broker["KAFKA_PORT"]
    script = str(ROOT / "deploy" / "kafka-local")
    subprocess.run([script, "start"], env=broker, check=True, stdout=subprocess.DEVNULL)
    try:
        settings = replace(settings, bootstrap_servers=f"127.0.0.1:{port}")
        values = stories.stream(300, 4)
        proc = spawn(settings, log := tmp_path / "service.log")
        await wait_for_log(log, "consumer.partitions_assigned")
        await produce(settings, settings.input_topic, values[:600])
        await asyncio.sleep(1.0)
        subprocess.run([script, "restart"], env=broker, check=True, stdout=subprocess.DEVNULL)
        await produce(settings, settings.input_topic, values[600:])
        try:
            records = await outputs(settings, len(values), tombstones=True, timeout=240, settle=3.0)
        finally:
            code = stop(proc)
        assert code == 0
        check(records, settings, story_of(values), exactly_once=True)
    finally:
        subprocess.run([script, "stop"], env=broker, stdout=subprocess.DEVNULL)


@pytest.mark.redis
async def test_an_instance_joins_and_leaves_mid_stream(settings, tmp_path):
    settings = replace(settings, index=f"redis://127.0.0.1:6379/0?namespace={settings.group_id}", batch_size=64)
    values = stories.stream(400, 5)
    first = spawn(settings, log := tmp_path / "first.log")
    await wait_for_log(log, "consumer.partitions_assigned")
    producing = asyncio.create_task(produce_over(settings, values, chunks=10, pause=0.5))
    await asyncio.sleep(2.0)
    second = spawn(replace(settings, instance_id=settings.instance_id + "-b"), log2 := tmp_path / "second.log")
    await wait_for_log(log2, "consumer.partitions_assigned")
    await asyncio.sleep(2.0)
    assert stop(second) == 0
    await producing
    try:
        records = await outputs(settings, len(values), tombstones=True, timeout=240, settle=3.0)
    finally:
        assert stop(first) == 0
    check(records, settings, story_of(values), exactly_once=True)
    assert len(compacted(settings, records)) == 400


def redis_server(port: int, where: Path, *options: str) -> subprocess.Popen:
    """A Redis of this test's own, which it can take down: every write goes to its AOF first.
    ``options`` are more redis-server flags."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(where), "--save", "",
                             "--appendonly", "yes", "--appendfsync", "always", *options], stdout=subprocess.DEVNULL)
    for _ in range(100):
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
            return proc
        time.sleep(0.05)
    raise TimeoutError(f"redis-server did not start on port {port}")


@pytest.mark.redis
async def test_a_redis_restart_holds_batches_back_and_loses_nothing(settings, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = redis_server(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0?socket_timeout=2&socket_connect_timeout=1"
    settings = replace(settings, index=url, batch_size=16)
    values = stories.stream(150, 4)
    proc = spawn(settings, log := tmp_path / "service.log")
    try:
        await wait_for_log(log, "consumer.partitions_assigned")
        await produce(settings, settings.input_topic, values[:300])
        await asyncio.sleep(1.0)
        server.kill()
        server.wait()
        await produce(settings, settings.input_topic, values[300:])
        await wait_for_log(log, "index.unavailable")
        await asyncio.sleep(3.0)  # several failed attempts
        assert proc.poll() is None  # still running, holding the batch back
        server = redis_server(port, tmp_path)  # back, with what it had written
        records = await outputs(settings, len(values), tombstones=True, timeout=120, settle=3.0)
    finally:
        code = stop(proc)
        server.kill()
    assert code == 0
    check(records, settings, story_of(values), exactly_once=True)


async def test_a_second_process_with_the_same_instance_id_fences_the_first(settings, tmp_path):
    values = stories.stream(100, 2)
    first = spawn(settings, log := tmp_path / "first.log")
    await wait_for_log(log, "consumer.partitions_assigned")
    await produce(settings, settings.input_topic, values[:100])
    await outputs(settings, 100, timeout=60)  # committed: the second process restores them from the changelog
    second = spawn(settings, log2 := tmp_path / "second.log")  # same STREAM_INSTANCE_ID: a zombie-maker
    await wait_for_log(log2, "service.started")
    await produce(settings, settings.input_topic, values[100:])
    try:
        records = await outputs(settings, len(values), tombstones=True, timeout=120, settle=2.0)
        assert first.wait(60) == 1 and "producer.fenced" in log.read_text()
    finally:
        first.kill()
        assert stop(second) == 0
    check(records, settings, story_of(values), exactly_once=True)


async def test_a_killed_service_leaves_no_worker_processes_behind(settings, tmp_path):
    import psutil

    proc = spawn(replace(settings, workers=2), log := tmp_path / "service.log")
    await wait_for_log(log, "consumer.partitions_assigned")
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 3  # the fork server and its two workers (and the resource tracker)
    proc.kill()
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [" ".join(p.cmdline())[:80] for p in alive]
