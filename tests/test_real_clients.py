"""Clients and tools we did not write read what the service leaves behind.

One service run serves every check: ``stream run`` under exactly-once, killed with SIGKILL
twice while records stream in and restarted each time, until it has drained. Then Kafka's
own console consumer (``read_committed``) and ``kafka-consumer-groups`` read the topics and
the group, ``promtool`` checks ``/metrics``, and the Grafana dashboard's queries are checked
against the metrics ``/metrics`` exports.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, replace

import orjson
import pytest

from stream.config import Settings
from tests import stories
from tests.conftest import ROOT, fresh_settings
from tests.service_support import outputs, spawn, stop, wait_for_log
from tests.test_faults import produce_over
from tests.test_health import get

pytestmark = pytest.mark.kafka
KAFKA_LOCAL = str(ROOT / "deploy" / "kafka-local")
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"


@dataclass(frozen=True)
class Run:
    settings: Settings
    urls: list[str]  # of every input record
    metrics: str  # what /metrics served once the service had drained


def inputs() -> list[bytes]:
    """Stories in three copies each, and records with a URL that go to the dead-letter topic."""
    bad = [orjson.dumps({"url": f"https://bad.example/{i}", "html": i}) for i in range(6)]
    values = stories.stream(120, 3)
    return [v for i, v in enumerate(values) for v in ([v, bad[i // 60]] if i % 60 == 0 else [v])]


@pytest.fixture(scope="module")
async def run(broker, tmp_path_factory) -> Run:
    settings = replace(fresh_settings(broker), batch_size=16)  # many transactions: kills land mid-stream
    values = inputs()
    logs = iter(tmp_path_factory.mktemp("service") / f"run{i}.log" for i in range(10))
    proc = spawn(settings, log := next(logs))
    await wait_for_log(log, "consumer.partitions_assigned")
    producing = asyncio.create_task(produce_over(settings, values, chunks=12, pause=0.5))
    rng = random.Random(21)
    for _ in range(2):
        await asyncio.sleep(rng.uniform(1.0, 2.0))
        assert not producing.done(), "the kills must land while records stream in"
        proc.kill()
        proc.wait()
        proc = spawn(settings, log := next(logs))
    await producing
    try:
        await outputs(settings, len(values), timeout=180, settle=1.0)  # drained
        started = next(orjson.loads(line) for line in log.read_text().splitlines() if "service.started" in line)
        await asyncio.sleep(2 * settings.stats_interval)  # a stats round after the work: the lag gauges
        status, _, body = await get(started["metrics_port"], "/metrics")
        assert status == 200
        yield Run(settings, [orjson.loads(v)["url"] for v in values], body.decode())
    finally:
        assert stop(proc) == 0


def tool(*args: str, timeout: float = 120) -> str:
    """Run one of Kafka's command-line tools through deploy/kafka-local; its stdout."""
    done = subprocess.run([KAFKA_LOCAL, "tool", *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_kafkas_console_consumer_reads_each_input_url_once_across_the_outputs(run):
    s = run.settings
    topics = "|".join(re.escape(t) for t in (s.output_topic, s.duplicates_topic, s.dlq_topic))
    out = tool("console-consumer", "--bootstrap-server", s.bootstrap_servers, "--include", f"^({topics})$",
               "--from-beginning", "--isolation-level", "read_committed", "--timeout-ms", "3000")
    # a tombstone (null value) on the compacted articles topic carries no URL
    urls = Counter(json.loads(line)["url"] for line in out.splitlines() if line != "null")
    assert urls == Counter(run.urls)


def test_kafka_consumer_groups_shows_no_lag_once_drained(run):
    s = run.settings
    out = tool("consumer-groups", "--bootstrap-server", s.bootstrap_servers, "--describe", "--group", s.group_id)
    rows = [line.split() for line in out.splitlines()]
    header = next(row for row in rows if row[:2] == ["GROUP", "TOPIC"])
    lag = {int(row[header.index("PARTITION")]): row[header.index("LAG")]
           for row in rows if row[:2] == [s.group_id, s.input_topic]}
    assert lag == {p: "0" for p in range(s.partitions)}, out


def test_promtool_passes_the_metrics(run):
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: install Debian's prometheus package (.ci/run does)"
    done = subprocess.run([promtool, "check", "metrics"], input=run.metrics, capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr


def exported(metrics: str) -> set[str]:
    """Names of the series a Prometheus scrape of ``metrics`` stores."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", metrics, re.M):
        suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}
        names |= {name + suffix for suffix in suffixes.get(kind, ("",))}
    return names | set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", metrics, re.M))


def queried(expr: str) -> set[str]:
    """Metric names a PromQL expression selects."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)  # label matchers, ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    keywords = {"bool", "offset", "and", "or", "unless", "inf", "nan"}
    return {m[1] for m in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", expr)
            if not m[2] and m[1].lower() not in keywords}


def exprs(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "expr"] + [e for v in node.values() for e in exprs(v)]
    return [e for v in node for e in exprs(v)] if isinstance(node, list) else []


def test_the_dashboard_queries_only_metrics_that_are_exported(run):
    queries = exprs(json.loads(DASHBOARD.read_text()))
    names = set().union(*map(queried, queries))
    assert len(queries) >= 10 and len(names) >= 8  # the dashboard's panels, and what they chart
    assert names <= exported(run.metrics), sorted(names - exported(run.metrics))


def test_the_promql_reader_finds_the_metric_names():
    expr = 'histogram_quantile(0.99, sum by (le) (rate(stream_processing_seconds_bucket{job="x"}[5m]))) ' \
           '/ ignoring(outcome) sum(rate(stream_records_total{outcome="article"}[1m])) > bool 0'
    assert queried(expr) == {"stream_processing_seconds_bucket", "stream_records_total"}
    assert queried("time() - stream_last_progress_timestamp_seconds") == {"stream_last_progress_timestamp_seconds"}
