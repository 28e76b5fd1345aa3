"""The demo: its summary shows every record that landed, whatever order the copies came in,
and on a fresh broker nothing is printed before it."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

from stream.config import Settings
from stream.demo import summary
from stream.kafka.topics import Record
from tests.conftest import ROOT, own_broker_env


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
    story = lines.index("* Story")  # stories by title: the summary is the same whatever the partitions
    assert lines.index("* Other") < story
    assert lines[story + 1] == "    canonical  https://wire.example/a"
    assert lines[story + 2].startswith("    replaced   https://copy.example/a")
    assert lines[story + 3].startswith("    duplicate  https://short.example/a")


@pytest.fixture
def fresh_broker(tmp_path):
    """A broker of this test's own, started on empty storage: no internal topics yet."""
    env = own_broker_env(tmp_path)
    script = str(ROOT / "deploy" / "kafka-local")
    subprocess.run([script, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"127.0.0.1:{env['KAFKA_PORT']}"
    finally:
        subprocess.run([script, "stop"], env=env, stdout=subprocess.DEVNULL)


@pytest.mark.kafka
def test_on_a_fresh_broker_the_demo_prints_nothing_before_its_summary(fresh_broker):
    # what deploy/demo runs once the broker is up, at its log level
    env = {**os.environ, "STREAM_BOOTSTRAP_SERVERS": fresh_broker, "STREAM_LOG_LEVEL": "error",
           "STREAM_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-m", "stream", "demo"], env=env, capture_output=True, text=True,
                          timeout=180)
    out = done.stderr + done.stdout  # stderr first: anything there came before the summary
    assert done.returncode == 0, out
    before, found, _ = out.partition("10 pages in ->")
    assert found, out
    assert before.strip() == "", before


def test_setup_says_what_it_did_in_a_line_or_two():
    done = subprocess.run([str(ROOT / "deploy" / "setup")], capture_output=True, text=True, timeout=600)
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 0, lines
    assert 1 <= len(lines) <= 2 and all(line.startswith("setup: ") for line in lines), lines
