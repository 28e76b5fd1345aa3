"""``stream demo``: the sample pages through a real broker and the service, then a summary.

Uses fresh topics named ``demo-<run>-...`` so every run starts clean.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace

import orjson

from stream.config import Settings
from stream.kafka.topics import produce, read
from stream.samples import raw_values
from stream.service import Service


async def demo(settings: Settings) -> int:
    run = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:4]
    s = replace(settings, input_topic=f"demo-{run}-raw-pages", output_topic=f"demo-{run}-articles",
                duplicates_topic=f"demo-{run}-duplicates", dlq_topic=f"demo-{run}-dlq",
                group_id=f"demo-{run}", create_topics=True, partitions=3, stats_interval=5.0,
                metrics_port=0)
    values = raw_values()
    service = Service(s)
    task = asyncio.create_task(service.run())
    while not service.assigned and not task.done():
        await asyncio.sleep(0.2)
    now = int(time.time() * 1000)  # one millisecond apart: the pages' order is their timestamps' order
    await produce(s, s.input_topic, values, timestamps=[now + i for i in range(len(values))])
    records = await read(s, [s.output_topic, s.duplicates_topic, s.dlq_topic], len(values), timeout=120)
    service.stop()
    await task
    print(summary(s, records, len(values)))
    return 0 if sum(r.value is not None for r in records) == len(values) else 1  # tombstones carry no page


async def load_samples(settings: Settings) -> int:
    """Produce the sample pages to the configured input topic (the compose file's loader)."""
    from stream.kafka.client import ensure_topics

    if settings.create_topics:
        await ensure_topics(settings, [settings.input_topic])
    values = raw_values()
    await produce(settings, settings.input_topic, values)
    print(f"produced {len(values)} sample pages to {settings.input_topic}")
    return 0


def summary(s: Settings, records, sent: int) -> str:
    """What landed on each topic, story by story. A story can change keys on the way: when a
    better copy arrives after the first canonical (or a page joins two clusters), the new
    canonical's record lists the keys it retires (``replaces``) and those keys get a
    tombstone; a retired first canonical is shown under the story it went to."""
    articles: dict[str, dict] = {}  # key -> its last article (None: tombstoned)
    retired_by: dict[str, str] = {}  # a retired key -> the cluster it went into
    copies: list[dict] = []
    dead = [r for r in records if r.topic == s.dlq_topic]
    for r in records:
        if r.topic not in (s.output_topic, s.duplicates_topic):
            continue
        value = None if r.value is None else orjson.loads(r.value)
        if r.topic == s.output_topic:
            articles[r.key.decode()] = value
        else:
            copies.append(value)
        for old in (value or {}).get("replaces", ()):
            retired_by[old] = value["cluster_id"]

    def final(key: str) -> str:
        seen = {key}
        while key in retired_by and retired_by[key] not in seen:
            key = retired_by[key]
            seen.add(key)
        return key

    live = {k: a for k, a in articles.items() if a is not None}
    firsts = [r for r in records if r.topic == s.output_topic and r.value is not None and r.key.decode() in retired_by]
    lines = [f"\n{sent} pages in -> {len(live)} canonical articles, {len(copies)} duplicates, {len(dead)} dead letters"
             + (f", {len(firsts)} first canonicals replaced by a better copy" if firsts else "") + "\n"]
    for key, a in sorted(live.items(), key=lambda kv: (kv[1]['title'], kv[0])):
        lines.append(f"* {a['title'][:70]}\n    canonical  {a['url']}")
        for r in firsts:
            if final(r.key.decode()) == key:
                lines.append(f"    replaced   {orjson.loads(r.value)['url']}  (the first canonical, before a better copy came)")
        for d in copies:
            if final(d["cluster_id"]) == key:
                lines.append(f"    duplicate  {d['url']}  (similarity {d['similarity']:.2f})")
    for r in dead:
        lines.append(f"x dead letter: {r.headers['reason'].decode()}: {r.headers['detail'].decode()}  "
                     f"(offset {r.headers['source_partition'].decode()}:{r.headers['source_offset'].decode()})")
    lines.append(f"\ntopics: {s.input_topic} -> {s.output_topic}, {s.duplicates_topic}, {s.dlq_topic}")
    return "\n".join(lines)
