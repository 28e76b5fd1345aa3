"""``stream replay`` on the real broker."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import orjson
import pytest

from stream.kafka.topics import produce
from stream.samples import raw_values
from tests.service_support import by_topic, env, outputs, running

pytestmark = pytest.mark.kafka


def replay(settings, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stream", "replay", *args], env=env(settings, **extra),
                          capture_output=True, text=True, timeout=180)


def decisions(settings, records) -> dict[str, tuple]:
    got = by_topic(settings, records)
    out = {a["id"]: (a["cluster_id"], True) for a in got["articles"]}
    out.update({d["id"]: (d["cluster_id"], False) for d in got["duplicates"]})
    return out


async def test_replay_into_a_fresh_index_matches_the_live_run(settings):
    values = raw_values()
    async with running(settings):
        await produce(settings, settings.input_topic, values, keys=[b"k"] * len(values))
        live = await outputs(settings, len(values))
    assert len(live) == len(values)
    out = replace(settings, output_topic=settings.output_topic + "-re", duplicates_topic=settings.duplicates_topic + "-re",
                  dlq_topic=settings.dlq_topic + "-re")
    done = replay(out)
    assert done.returncode == 0, done.stderr
    assert f"replayed {len(values)} records" in done.stdout
    replayed = await outputs(out, len(values))
    assert len(replayed) == len(values)
    assert decisions(out, replayed) == decisions(settings, live)
    # The live group's offsets were not touched: the replay used its own group.
    again = replay(out)
    assert again.returncode == 1 and "empty" in again.stderr  # fully replayed: resumes at the end


async def test_time_window_replays_exactly_the_records_inside(settings):
    values = [orjson.dumps({"url": f"https://site{i}.example/a", "text": f"story number {i} " * 40}) for i in range(9)]
    stamps = [1_700_000_000_000 + i * 60_000 for i in range(9)]  # one a minute
    await produce(settings, settings.input_topic, values, keys=[b"k"] * 9, timestamps=stamps)
    start, end = "2023-11-14T22:16:20Z", "2023-11-14T22:19:20Z"  # covers records 3, 4, 5 (end exclusive)
    plan = replay(settings, "--from", start, "--to", end, "--dry-run")
    assert plan.returncode == 0 and "3 records" in plan.stdout, plan.stdout + plan.stderr
    done = replay(settings, "--from", start, "--to", end)
    assert done.returncode == 0, done.stderr
    got = by_topic(settings, await outputs(settings, 3, settle=2.0))
    assert sorted(a["url"] for a in got["articles"]) == [f"https://site{i}.example/a" for i in (3, 4, 5)]


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "yesterday"], "RFC 3339"),
    (["--from", "0:x"], "partition offsets"),
    (["--from", "7:0"], "no partition"),
    (["--mode", "sideways"], "invalid choice"),
])
async def test_bad_flags_fail_clearly_and_write_nothing(settings, args, message):
    await produce(settings, settings.input_topic, [raw_values()[0]])
    done = replay(settings, *args)
    assert done.returncode != 0 and message in done.stderr
    assert await outputs(settings, 1, timeout=3) == []


async def test_unknown_topic(settings):
    done = replay(replace(settings, create_topics=False), "--dry-run", STREAM_CREATE_TOPICS="false")
    assert done.returncode == 2 and "unknown topic" in done.stderr
