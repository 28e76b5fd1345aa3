"""A replay gives the same decisions as the live run did (README, "Replay and backfill").

Pages with copies spread over 4 partitions go through a real ``stream run``: in the first
round as a backlog produced before it starts, in the others while they are produced, in
bursts with pauses that differ from round to round. Then ``stream replay
--from earliest`` runs the same topic into fresh topics. Every URL must get the same id,
cluster id and decision, and the compacted articles topics must hold the same keys. Some
copies carry an earlier publication date than the page decided before them, so clusters
are re-keyed on the way (tombstones), and some pages are halves of a story that a later
page joins (merges).
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from dataclasses import replace

import orjson
import pytest

from stream.kafka.client import ensure_topics
from stream.kafka.topics import produce, read
from stream.samples import raw_values
from tests import stories
from tests.service_support import (
    by_topic,
    compacted,
    env,
    outputs,
    spawn,
    stop,
    wait_for_log,
)

pytestmark = pytest.mark.kafka


def pages(rng: random.Random, n: int) -> list[bytes]:
    """``n`` stories in 3 copies (dated at random), a story in two halves joined later by
    the whole, and the sample pages (three copies of a wire story, bad records)."""
    out = []
    for copy in range(3):
        for story in range(n):
            value = orjson.loads(stories.copy(story, copy))
            if rng.random() < 0.5:
                value["published_at"] = f"2026-11-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:00:00Z"
            out.append(orjson.dumps(value))
    paragraphs = stories.story(10_000)
    for name, part in (("first-half", paragraphs[:2]), ("second-half", paragraphs[3:]), ("whole", paragraphs)):
        out.append(orjson.dumps({"url": f"https://halves.example/{name}", "text": "\n\n".join(part)}))
    return out + raw_values()


def decisions(settings, records) -> dict[str, tuple]:
    """url -> (id, cluster id, decision) from the three output topics."""
    got = by_topic(settings, records)
    out = {a["url"]: (a["id"], a["cluster_id"], "canonical") for a in got["articles"]}
    out.update({d["url"]: (d["id"], d["cluster_id"], "duplicate") for d in got["duplicates"]})
    out.update({r.headers["source_offset"].decode() + "@" + r.headers["source_partition"].decode():
                (None, None, r.headers["reason"].decode()) for r in got["dead"]})
    return out


@pytest.mark.parametrize("round_", range(5))
async def test_a_replay_gives_every_url_the_live_runs_id_cluster_and_decision(settings, tmp_path, round_):
    settings = replace(settings, partitions=4, batch_size=32)
    rng = random.Random(round_)
    values = pages(rng, 60)
    at = 0
    if round_ == 0:  # a backlog
        await ensure_topics(settings, [settings.input_topic])
        await produce(settings, settings.input_topic, values)
        at = len(values)
    live = spawn(settings, log := tmp_path / "live.log")
    try:
        await wait_for_log(log, "consumer.partitions_assigned")
        while at < len(values):  # bursts of random size with random pauses: other fetch timings each round
            n = rng.randrange(1, 60)
            await produce(settings, settings.input_topic, values[at:at + n])
            at += n
            await asyncio.sleep(rng.choice([0.0, 0.05, 0.3]))
        first = await outputs(settings, len(values), timeout=180, settle=2.0, tombstones=True)
    finally:
        assert stop(live) == 0
    fresh = replace(settings, output_topic=settings.output_topic + "-re", duplicates_topic=settings.duplicates_topic
                    + "-re", dlq_topic=settings.dlq_topic + "-re")
    done = subprocess.run([sys.executable, "-m", "stream", "replay", "--from", "earliest"], env=env(fresh),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    again = await outputs(fresh, len(values), timeout=120, settle=2.0, tombstones=True)
    want, got = decisions(settings, first), decisions(fresh, again)
    assert len(want) == len(values)
    assert got == want, {u: (want.get(u), got.get(u)) for u in set(want) | set(got) if want.get(u) != got.get(u)}
    assert set(compacted(fresh, again)) == set(compacted(settings, first))
    assert sum(r.value is None for r in first) > 0  # clusters were re-keyed on the way
    inputs = await read(settings, [settings.input_topic], len(values))
    assert len({r.partition for r in inputs}) == 4  # the copies of a story are spread over the partitions
