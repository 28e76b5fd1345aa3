"""The demo's summary: every record that landed is shown, whatever order the copies came in."""

from __future__ import annotations

import orjson

from stream.config import Settings
from stream.demo import summary
from stream.kafka.topics import Record


def _record(topic: str, key: bytes, value: dict | None) -> Record:
    return Record(topic, 0, 0, key, None if value is None else orjson.dumps(value), {}, 0)


def test_a_replaced_first_canonical_is_shown_and_counted() -> None:
    s = Settings()
    records = [
        _record(s.output_topic, b"c1", {"title": "Story", "url": "https://copy.example/a", "cluster_id": "c1"}),
        _record(s.duplicates_topic, b"c1", {"url": "https://short.example/a", "cluster_id": "c1", "similarity": 0.7}),
        _record(s.output_topic, b"w1", {"title": "Story", "url": "https://wire.example/a", "cluster_id": "w1",
                                        "replaces": ["c1"]}),
        _record(s.output_topic, b"c1", None),  # the tombstone of the retired key
        _record(s.output_topic, b"o1", {"title": "Other", "url": "https://other.example/b", "cluster_id": "o1"}),
    ]
    text = summary(s, records, sent=4)
    assert "4 pages in -> 2 canonical articles, 1 duplicates, 0 dead letters, 1 first canonicals replaced" in text
    lines = text.splitlines()
    story = lines.index("    canonical  https://wire.example/a")
    assert lines[story + 1].startswith("    replaced   https://copy.example/a")
    assert lines[story + 2].startswith("    duplicate  https://short.example/a")
    assert lines[story + 3] == "* Other"
