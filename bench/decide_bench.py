"""The dedup decision alone: CPU per page, and a digest of every decision.

    .venv/bin/python -m bench.decide_bench                 # the first 12,000 pages of the e2e set
    .venv/bin/python -m bench.decide_bench --pages 6000 --rounds 5

The pages (``bench/e2e.py --generate-only`` makes them) are prepared once on the workers and
cached under ``bench/out/``; each round then decides all of them, in order, against a fresh
:class:`~stream.dedup.memory_index.MemoryIndex`, timed with the process's CPU clock. Run it at
two commits to compare them: the table gives the median and each round, the SHA-1 of the
decisions as they were made, and the SHA-1 of the final clusters (each page's line as
``stream dedup`` writes it once every page is decided: id, cluster id, canonical). Both must
be the same when a change is meant to keep them; the second does not depend on the order
(``--shuffle SEED`` decides the pages in a seeded shuffle to show it).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import pickle
import random
import statistics
import time
from collections.abc import Iterable
from pathlib import Path

from stream.dedup import Deduper
from stream.dedup.decide import THRESHOLD
from stream.dedup.memory_index import MemoryIndex
from stream.pipeline import Processor, final_line
from stream.workers import Workers

OUT = Path(__file__).resolve().parent / "out"
PAGES = OUT / "e2e-pages-n20000-seed1-c6.jsonl"


def prepared(n: int) -> list:
    cache = OUT / f"decide-prepared-{n}.pkl"
    if cache.exists() and cache.stat().st_mtime >= PAGES.stat().st_mtime:
        return pickle.loads(cache.read_bytes())
    workers = Workers(2, 1 << 24)
    try:
        with PAGES.open("rb") as f:
            items = list(workers.stream((line, None) for line in itertools.islice(f, n)))
    finally:
        workers.close()
    cache.write_bytes(pickle.dumps(items))
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=12000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--shuffle", type=int, default=None, metavar="SEED", help="decide the pages in a seeded shuffle")
    args = ap.parse_args()
    if not PAGES.exists():
        raise SystemExit(f"{PAGES} is missing: run `.venv/bin/python bench/e2e.py --generate-only` first")
    items = prepared(args.pages)
    if args.shuffle is not None:
        random.Random(args.shuffle).shuffle(items)
    times, digest, final = [], None, None
    for _ in range(args.rounds):
        deduper = Deduper(MemoryIndex(), threshold=THRESHOLD)
        processor = Processor(deduper)
        start = time.process_time()
        outcomes = [processor.decide(p) for p in items]
        times.append((time.process_time() - start) / len(items) * 1000)
        digest = sha1(repr(o.decision) for o in outcomes)
        lines = (final_line(o, deduper.index) for o in outcomes)
        final = sha1(sorted(repr((line["url"], line.get("id"), line.get("cluster_id"), line.get("canonical")))
                            for line in lines))
    print(f"| pages | CPU ms per page, median | rounds | SHA-1 of the decisions | SHA-1 of the final clusters |\n"
          f"|---:|---:|---|---|---|\n| {len(items):,} | {statistics.median(times):.3f} | "
          f"{', '.join(f'{t:.3f}' for t in times)} | {digest} | {final} |")


def sha1(lines: Iterable[str]) -> str:
    return hashlib.sha1("\n".join(lines).encode()).hexdigest()


if __name__ == "__main__":
    main()
