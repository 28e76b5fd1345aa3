"""The demo's summary: every record that landed is shown, whatever order the copies came in."""

from __future__ import annotations

import orjson

from stream.config import Settings
from stream.demo import summary
from stream.kafka.topics import Record


def _record(topic: str, key: bytes, value: dict) -> Record:
    return Record(topic, 0, 0, key, orjson.dumps(value), {}, 0)


def test_a_replaced_first_canonical_is_shown_and_counted() -> None:
    s = Settings()
    records = [
        _record(s.output_topic, b"c1", {"title": "Story", "url": "https://copy.example/a"}),
        _record(s.output_topic, b"c1", {"title": "Story", "url": "https://wire.example/a", "replaces": True}),
        _record(s.duplicates_topic, b"c1", {"url": "https://short.example/a", "similarity": 0.7}),
    ]
    text = summary(s, records, sent=3)
    assert "3 pages in -> 1 canonical articles, 1 duplicates, 0 dead letters, 1 first canonicals replaced" in text
    lines = text.splitlines()
    assert lines.index("    canonical  https://wire.example/a") < next(
        i for i, line in enumerate(lines) if line.startswith("    replaced   https://copy.example/a"))
