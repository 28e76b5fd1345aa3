"""``stream replay`` on the real broker."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace

import orjson
import pytest

from stream.kafka.topics import produce, read
from stream.samples import raw_values, records
from tests import stories
from tests.service_support import by_topic, compacted, env, outputs, running

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


async def test_fill_gaps_recognises_copies_of_stories_the_live_service_published(settings):
    values = raw_values()[:7]  # the original story first, its two copies at offsets 3 and 6
    async with running(settings):
        await produce(settings, settings.input_topic, values[:3], keys=[b"k"] * 3)
        live = by_topic(settings, await outputs(settings, 3))
    original = next(a for a in live["articles"] if "putin" in a["url"])
    await produce(settings, settings.input_topic, values[3:], keys=[b"k"] * 4)  # arrives while live is down
    partition = (await read(settings, [settings.input_topic], 7))[0].partition  # the one partition used
    out = replace(settings, output_topic=settings.output_topic + "-gap", duplicates_topic=settings.duplicates_topic
                  + "-gap", dlq_topic=settings.dlq_topic + "-gap")
    done = replay(out, "--from", f"{partition}:3", "--mode", "fill-gaps")
    assert done.returncode == 0, done.stderr
    got = by_topic(out, await outputs(out, 4))
    assert sorted(d["url"] for d in got["duplicates"]) == sorted([records()[3]["url"], records()[6]["url"]])
    assert {d["cluster_id"] for d in got["duplicates"]} == {original["id"]}
    fresh = replace(out, output_topic=out.output_topic + "2", duplicates_topic=out.duplicates_topic + "2",
                    dlq_topic=out.dlq_topic + "2")
    rebuilt = replay(fresh, "--from", f"{partition}:3", "--replay-group", f"{settings.group_id}-fresh")
    assert rebuilt.returncode == 0, rebuilt.stderr
    final = compacted(fresh, await outputs(fresh, 4, tombstones=True))
    copies = {key for key, a in final.items() if a["url"] in (records()[3]["url"], records()[6]["url"])}
    assert len(copies) == 1 and original["id"] not in copies  # one cluster, unknown to a fresh index


async def test_an_interrupted_replay_resumes(settings, tmp_path):
    settings = replace(settings, batch_size=4)  # many small transactions: slow enough to interrupt
    values = stories.stream(1000, 3)
    await produce(settings, settings.input_topic, values)
    proc = subprocess.Popen([sys.executable, "-m", "stream", "replay"], env=env(settings), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    await outputs(settings, 50, timeout=120)  # under way (start-up takes longer on a busy machine)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    first = await outputs(settings, len(values), timeout=5)
    assert 0 < len(first) < len(values), "interrupt it mid-way"
    assert proc.returncode == 130 and "resume" in err
    done = replay(settings)
    assert done.returncode == 0 and "(resumed)" in done.stdout, done.stdout + done.stderr
    got = await outputs(settings, len(values), settle=2.0)
    ids = [orjson.loads(r.value)["id"] for r in got]
    assert len(ids) == len(set(ids)) == len(values)  # each record once: exactly-once across the interruption
