"""Recovery time of the embedded index, end to end through Kafka.

    .venv/bin/python -m bench.recovery_bench --docs 1000000 [--port 9092]

Writes the changelog of an index of ``--docs`` documents (one entry record each, the
codec's real records) to a fresh changelog topic on the local broker,
then times :func:`stream.kafka.changelog.restore` into an empty ``MemoryIndex`` plus the
first query (which builds the band table): what a restarted service waits for. Start
the broker first: ``deploy/kafka-local start``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import replace

import numpy as np
import psutil

from stream.config import Settings
from stream.dedup import codec
from stream.dedup.decide import band_keys
from stream.dedup.index import MemoryIndex
from stream.kafka import changelog
from stream.kafka.topics import produce


def records(n: int, seed: int = 1):
    """Changelog records of ``n`` roots (one entry record each), in batches of 10,000."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, 10_000):
        sigs = rng.integers(0, 2**32, (min(10_000, n - start), 128), dtype=np.uint32)
        keys, values = [], []
        for i, sig in enumerate(sigs):
            doc = "%020x" % (start + i + 1)
            hashes = np.array([codec.key_hash(k) for k in band_keys(sig)], np.uint32)
            keys.append(codec.record_key(codec.ENTRY, doc))
            values.append(codec.encode_entry(doc, sig, 200, 1.7e9 + start + i, None, hashes, 7,
                                             (1, 2**52, 0, 1.7e9 + start + i, start + i)))
        yield keys, values


async def main(args) -> None:
    settings = replace(Settings(), bootstrap_servers=f"127.0.0.1:{args.port}")
    topic = f"bench-{uuid.uuid4().hex[:6]}.dedup-changelog"
    await changelog.ensure(settings, topic)
    started = time.perf_counter()
    total = 0
    for keys, values in records(args.docs):
        await produce(settings, topic, values, keys=keys)
        total += len(keys)
    write_s = time.perf_counter() - started
    proc = psutil.Process()
    base = proc.memory_info().rss
    index = MemoryIndex()
    started = time.perf_counter()
    applied = await changelog.restore(settings, topic, index)
    restore_s = time.perf_counter() - started
    index.candidates([b"warm"])
    ready_s = time.perf_counter() - started
    rss = proc.memory_info().rss - base
    print("| documents | changelog records | write (bench setup) | restore: read + apply | ready (+ first query) | RSS of the index |")
    print("|---|---|---|---|---|---|")
    print(f"| {len(index):,} | {applied:,} of {total:,} | {write_s:.1f} s | {restore_s:.1f} s | {ready_s:.1f} s | "
          f"{rss / 2**20:,.0f} MiB ({rss / max(len(index), 1):,.0f} B/doc) |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--port", type=int, default=9092)
    asyncio.run(main(ap.parse_args()))
