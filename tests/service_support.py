"""Helpers for service tests: run the service in-process or as a real process, read outputs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from contextlib import asynccontextmanager
from dataclasses import fields

import orjson

from stream.config import Settings, env_name
from stream.kafka.topics import Record, read
from stream.service import Service


@asynccontextmanager
async def running(settings: Settings, **kwargs):
    """The service as a task of this event loop, stopped (gracefully) on exit."""
    service = Service(settings, **kwargs)
    task = asyncio.create_task(service.run())
    for _ in range(300):
        if service.assigned or task.done():
            break
        await asyncio.sleep(0.1)
    try:
        yield service
    finally:
        service.stop()
        await asyncio.wait_for(task, 60)


def env(settings: Settings, **extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out.update({env_name(f.name): str(getattr(settings, f.name)) for f in fields(Settings)})
    out.update(STREAM_LOG_FORMAT="json", **extra)
    return out


def spawn(settings: Settings, log_path=None, **extra: str) -> subprocess.Popen:
    """``stream run`` as a separate process, configured only through STREAM_* variables."""
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "stream", "run"], env=env(settings, **extra),
                            stdout=out, stderr=subprocess.STDOUT)


async def wait_for_log(path, text: str, timeout: float = 60) -> None:
    """Wait until a spawned service's log holds ``text``."""
    for _ in range(int(timeout * 10)):
        if path.exists() and text in path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{text!r} not in {path}")


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 60) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout)


async def outputs(settings: Settings, count: int, timeout: float = 90, settle: float = 1.0,
                  tombstones: bool = False) -> list[Record]:
    """The records of the three output topics, once ``count`` have arrived; the articles
    topic's tombstones only when asked for."""
    got = await read(settings, [settings.output_topic, settings.duplicates_topic, settings.dlq_topic],
                     count, timeout=timeout, settle=settle)
    return got if tombstones else [r for r in got if r.value is not None]


def by_topic(settings: Settings, records: list[Record]) -> dict[str, list]:
    """Decoded outputs: articles and duplicates as dicts, dead letters as records, and the
    keys tombstoned on the articles topic (clusters a later decision retired)."""
    return {
        "articles": [orjson.loads(r.value) for r in records if r.topic == settings.output_topic and r.value is not None],
        "duplicates": [orjson.loads(r.value) for r in records if r.topic == settings.duplicates_topic],
        "dead": [r for r in records if r.topic == settings.dlq_topic],
        "retired": [r.key.decode() for r in records if r.topic == settings.output_topic and r.value is None],
    }


def compacted(settings: Settings, records: list[Record]) -> dict[str, dict]:
    """The articles topic as compaction leaves it: the last value per key, tombstones deleted."""
    last: dict[str, bytes | None] = {}
    for r in sorted((r for r in records if r.topic == settings.output_topic), key=lambda r: (r.partition, r.offset)):
        last[r.key.decode()] = r.value
    return {k: orjson.loads(v) for k, v in last.items() if v is not None}
