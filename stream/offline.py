"""``stream clean`` and ``stream dedup``: JSONL files through the same core, no broker.

One output line per input line, in input order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import orjson

from stream.config import Settings
from stream.dedup import Deduper
from stream.dedup.store import open_index
from stream.pipeline import Outcome, Processor, clean_line, dedup_line
from stream.workers import Workers


def _lines(inp: BinaryIO) -> Iterator[tuple[bytes, None]]:
    for line in inp:
        yield line.rstrip(b"\r\n"), None


def run_clean(inp: BinaryIO, out: BinaryIO, settings: Settings) -> dict[str, int]:
    counts = {"records": 0, "errors": 0}
    workers = Workers(settings.workers, settings.max_record_bytes, fingerprinted=False,
                      learn=settings.learn_boilerplate)
    try:
        for item in workers.stream(_lines(inp)):
            line = clean_line(item)
            counts["records"] += 1
            counts["errors"] += "error" in line
            out.write(orjson.dumps(line) + b"\n")
    finally:
        workers.close()
    return counts


def run_dedup(inp: BinaryIO, out: BinaryIO, settings: Settings) -> dict[str, int]:
    counts = {"records": 0, "article": 0, "duplicate": 0, "dead_letter": 0}
    # nothing drains the changelog here: do not record it (memory would grow without bound)
    processor = Processor(Deduper(open_index(settings, changelog=False), threshold=settings.threshold))
    workers = Workers(settings.workers, settings.max_record_bytes, learn=settings.learn_boilerplate)
    try:
        for item in workers.stream(_lines(inp)):
            outcome: Outcome = processor.decide(item)
            counts["records"] += 1
            counts[outcome.kind] += 1
            out.write(orjson.dumps(dedup_line(outcome)) + b"\n")
    finally:
        workers.close()
    return counts
