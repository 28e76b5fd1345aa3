"""``stream clean`` and ``stream dedup``: JSONL files through the same core, no broker.

One output line per input line, in input order. ``stream dedup`` writes its lines once
the whole input is decided, each with the page's *final* cluster: clusters, their ids and
their canonicals do not depend on the order of the input lines (only ``similarity``, the
best match a page had when it was decided, may).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import orjson

from stream.config import Settings
from stream.dedup import Deduper
from stream.dedup.store import open_index
from stream.pipeline import Outcome, Processor, clean_line, final_line
from stream.workers import Workers


def _lines(inp: BinaryIO) -> Iterator[tuple[bytes, None]]:
    for line in inp:
        yield line.rstrip(b"\r\n"), None


def _steady(items: Iterable, counts: dict) -> Iterator:
    """``items``, timed: sets ``counts["steady_per_s"]``, the items per second after the first
    one, which leaves out the start-up (imports, worker warm-up, the first chunk)."""
    first = None
    n = 0
    for n, item in enumerate(items):
        if first is None:
            first = time.monotonic()
        yield item
    if first is not None and n:
        counts["steady_per_s"] = round(n / (time.monotonic() - first), 1)


def run_clean(inp: BinaryIO, out: BinaryIO, settings: Settings) -> dict[str, float]:
    counts = {"records": 0, "errors": 0}
    workers = Workers(settings.workers, settings.max_record_bytes, fingerprinted=False,
                      learn=settings.learn_boilerplate)
    try:
        for item in _steady(workers.stream(_lines(inp)), counts):
            line = clean_line(item)
            counts["records"] += 1
            counts["errors"] += "error" in line
            out.write(orjson.dumps(line) + b"\n")
    finally:
        workers.close()
    return counts


def run_dedup(inp: BinaryIO, out: BinaryIO, settings: Settings) -> dict[str, float]:
    counts = {"records": 0, "article": 0, "duplicate": 0, "dead_letter": 0}
    # nothing drains the changelog here: do not record it (memory would grow without bound)
    index = open_index(settings, changelog=False)
    processor = Processor(Deduper(index, threshold=settings.threshold))
    workers = Workers(settings.workers, settings.max_record_bytes, learn=settings.learn_boilerplate)
    decided: list[Outcome] = []
    try:
        for item in _steady(workers.stream(_lines(inp)), counts):
            decided.append(processor.decide(item))
    finally:
        workers.close()
    for outcome in decided:
        line = final_line(outcome, index)
        counts["records"] += 1
        counts["dead_letter" if "error" in line else "article" if line["canonical"] else "duplicate"] += 1
        out.write(orjson.dumps(line) + b"\n")
    return counts
