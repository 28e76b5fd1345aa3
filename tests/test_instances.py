"""Several instances on one host with the defaults: each claims a slot of its own (instance
id and metrics port), a process restarted after ``kill -9`` takes its slot back, and a
metrics port in use is one clear line."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import orjson
import pytest

from stream.config import Settings
from stream.instance import with_slot
from stream.kafka.topics import produce
from tests import stories
from tests.service_support import outputs, stop
from tests.test_faults import check, story_of

HOST = socket.gethostname()


def test_a_slot_names_the_instance_and_its_port_unless_they_are_given():
    s = Settings()
    assert (with_slot(s, set(), 0, "h").instance_id, with_slot(s, set(), 0, "h").metrics_port) == ("h", 9108)
    assert (with_slot(s, set(), 2, "h").instance_id, with_slot(s, set(), 2, "h").metrics_port) == ("h-2", 9110)
    given = with_slot(Settings(instance_id="mine", metrics_port=0), {"instance_id", "metrics_port"}, 2, "h")
    assert (given.instance_id, given.metrics_port) == ("mine", 0)


def defaults_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an instance given only its index, its broker and the test's own
    topics and group: no instance id, no metrics port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_")}
    env.update(STREAM_BOOTSTRAP_SERVERS=settings.bootstrap_servers, STREAM_INPUT_TOPIC=settings.input_topic,
               STREAM_OUTPUT_TOPIC=settings.output_topic, STREAM_DUPLICATES_TOPIC=settings.duplicates_topic,
               STREAM_DLQ_TOPIC=settings.dlq_topic, STREAM_GROUP_ID=settings.group_id, STREAM_WORKERS="1",
               STREAM_PARTITIONS="3", STREAM_LOG_FORMAT="json")
    return {**env, **extra}


def start(env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stream", "run"], env=env, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT)


async def started(proc: subprocess.Popen, log, timeout: float = 90) -> dict:
    """The ``service.started`` event of ``proc``; fails if the process exits first."""
    for _ in range(int(timeout * 10)):
        for line in log.read_text(errors="replace").splitlines():
            if '"service.started"' in line:
                return orjson.loads(line)
        assert proc.poll() is None, log.read_text(errors="replace")
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{log} has no service.started")


@pytest.mark.kafka
@pytest.mark.redis
async def test_three_instances_side_by_side_with_the_defaults(settings, tmp_path):
    env = defaults_env(settings, STREAM_INDEX=f"redis://127.0.0.1:6379/0?namespace={settings.group_id}")
    logs = [tmp_path / f"instance{i}.log" for i in range(4)]
    procs = [start(env, log) for log in logs[:3]]
    try:
        events = [await started(p, log) for p, log in zip(procs, logs)]
        slots = {e["instance"]: e["metrics_port"] for e in events}
        assert len(slots) == 3 and len(set(slots.values())) == 3, events  # three ids, three ports
        assert all(i == HOST or i.startswith(HOST + "-") for i in slots)
        values = stories.stream(100, 3)
        await produce(settings, settings.input_topic, values[:150])
        # kill -9 one of them: restarted, it takes its slot back, so its transactional id too
        victim = max(range(3), key=lambda i: events[i]["metrics_port"])
        procs[victim].kill()
        procs[victim].wait()
        procs[victim] = start(env, logs[3])
        again = await started(procs[victim], logs[3])
        assert (again["instance"], again["metrics_port"]) == (events[victim]["instance"], events[victim]["metrics_port"])
        await produce(settings, settings.input_topic, values[150:])
        records = await outputs(settings, len(values), timeout=180, settle=2.0, tombstones=True)
    finally:
        codes = [stop(p) for p in procs]
    assert codes == [0, 0, 0]
    check(records, settings, story_of(values), exactly_once=True)
    for log in logs:
        assert "Traceback" not in log.read_text(errors="replace")


def test_a_metrics_port_in_use_is_one_clear_line(settings):
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # the port is checked before anything connects: no broker is needed to see it
        env = defaults_env(settings, STREAM_METRICS_PORT=str(port), STREAM_BOOTSTRAP_SERVERS="127.0.0.1:1")
        done = subprocess.run([sys.executable, "-m", "stream", "run"], env=env, capture_output=True, text=True,
                              timeout=60)
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 2
    assert len(lines) == 1 and "STREAM_METRICS_PORT" in lines[0] and str(port) in lines[0], lines
