"""The service users write by hand today: one process, one aiokafka consumer loop,
trafilatura + datasketch, at-least-once. The baseline of ``bench/e2e.py``.

    python bench/naive_service.py --bootstrap 127.0.0.1:9092 --input-topic raw-pages \
        --articles-topic articles --duplicates-topic duplicates --group naive --max-records 2000

Per polled batch: for every record, ``trafilatura.extract(html)`` with default settings (a
flattened ``text`` record is used as is), word 5-shingles, ``datasketch.MinHash(num_perm=128)``
updated once per shingle (default SHA-1 hash), ``MinHashLSH`` with its defaults (threshold
0.9, 128 permutations): query, first hit wins, else insert; ``send`` the canonical article or
the duplicate decision; then wait for every ack and commit the batch's offsets. Records that
fail to parse or extract are skipped (committed, nothing published), as such loops usually do.

Instrumentation only (not something a user would write, negligible cost): every output
carries ``source_partition``/``source_offset`` headers so the benchmark can match it to its
input, and the process exits after ``--max-records`` inputs, printing a JSON summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import trafilatura
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata
from datasketch import MinHash, MinHashLSH

SHINGLE = 5


def minhash(text: str) -> MinHash:
    words = text.lower().split()
    m = MinHash(num_perm=128)
    for i in range(max(1, len(words) - SHINGLE + 1)):
        m.update(" ".join(words[i : i + SHINGLE]).encode("utf8"))
    return m


async def main(args: argparse.Namespace) -> dict:
    consumer = AIOKafkaConsumer(
        args.input_topic, bootstrap_servers=args.bootstrap, group_id=args.group, enable_auto_commit=False,
        auto_offset_reset="earliest", max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024)
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    lsh = MinHashLSH(num_perm=128)  # datasketch defaults: threshold 0.9
    cluster: dict[str, str] = {}
    counts = {"records": 0, "article": 0, "duplicate": 0, "skipped": 0}
    started = time.time()
    first = last = None
    try:
        while counts["records"] < args.max_records:
            batch = await consumer.getmany(timeout_ms=1000, max_records=args.batch)
            if not batch:
                if args.idle_exit and first is not None and time.time() - last > args.idle_exit:
                    break
                continue
            pending, offsets = [], {}
            for tp, records in batch.items():
                for r in records:
                    if counts["records"] >= args.max_records:
                        break
                    counts["records"] += 1
                    offsets[tp] = OffsetAndMetadata(r.offset + 1, "")
                    headers = [("source_partition", str(r.partition).encode()),
                               ("source_offset", str(r.offset).encode())]
                    try:
                        page = json.loads(r.value)
                        text = page.get("text") or trafilatura.extract(page["html"])
                    except Exception:
                        text = None
                    if not text:
                        counts["skipped"] += 1
                        continue
                    key = f"{r.partition}:{r.offset}"
                    m = minhash(text)
                    hits = lsh.query(m)
                    if hits:
                        cid = cluster[hits[0]]
                        value = {"url": page["url"], "cluster_id": cid, "duplicate_of": hits[0]}
                        topic = args.duplicates_topic
                        counts["duplicate"] += 1
                    else:
                        lsh.insert(key, m)
                        cluster[key] = cid = key
                        value = {"url": page["url"], "cluster_id": cid, "text": text}
                        topic = args.articles_topic
                        counts["article"] += 1
                    pending.append(await producer.send(topic, json.dumps(value).encode(), key=cid.encode(),
                                                       headers=headers))
            await asyncio.gather(*pending)  # every ack, then the commit
            if offsets:
                await consumer.commit(offsets)
            now = time.time()
            first = first or now
            last = now
    finally:
        await producer.stop()
        await consumer.stop()
    return {**counts, "seconds": round(time.time() - started, 2)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--input-topic", default="raw-pages")
    ap.add_argument("--articles-topic", default="articles")
    ap.add_argument("--duplicates-topic", default="duplicates")
    ap.add_argument("--group", default="naive")
    ap.add_argument("--batch", type=int, default=100, help="max records per getmany")
    ap.add_argument("--max-records", type=int, default=sys.maxsize)
    ap.add_argument("--idle-exit", type=float, default=0.0, help="exit after this many idle seconds (0: never)")
    summary = asyncio.run(main(ap.parse_args()))
    print(json.dumps({"event": "naive.done", **summary}), flush=True)
