"""The dedup decision alone: CPU per page, and a digest of every decision.

    .venv/bin/python -m bench.decide_bench                 # the first 12,000 pages of the e2e set
    .venv/bin/python -m bench.decide_bench --pages 6000 --rounds 5

The pages (``bench/e2e.py --generate-only`` makes them) are prepared once on the workers and
cached under ``bench/out/``; each round then decides all of them, in order, against a fresh
:class:`~stream.dedup.memory_index.MemoryIndex`, timed with the process's CPU clock. Run it at
two commits to compare them: the table gives the median and each round, and the SHA-1 of
the decisions, which must be the same when a change is meant to keep them.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import pickle
import statistics
import time
from pathlib import Path

from stream.dedup import Deduper
from stream.dedup.memory_index import MemoryIndex
from stream.pipeline import Processor
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
    args = ap.parse_args()
    if not PAGES.exists():
        raise SystemExit(f"{PAGES} is missing: run `.venv/bin/python bench/e2e.py --generate-only` first")
    items = prepared(args.pages)
    times, digest = [], None
    for _ in range(args.rounds):
        processor = Processor(Deduper(MemoryIndex(), threshold=0.6))
        start = time.process_time()
        decisions = [processor.decide(p).decision for p in items]
        times.append((time.process_time() - start) / len(items) * 1000)
        digest = hashlib.sha1("\n".join(map(repr, decisions)).encode()).hexdigest()
    print(f"| pages | CPU ms per page, median | rounds | SHA-1 of the decisions |\n|---:|---:|---|---|\n"
          f"| {len(items):,} | {statistics.median(times):.3f} | {', '.join(f'{t:.3f}' for t in times)} | {digest} |")


if __name__ == "__main__":
    main()
