"""The dedup index survives restarts: a copy that arrives after a graceful stop or a
``kill -9`` is still recognised, with the embedded index (changelog) and with Redis."""

from __future__ import annotations

import signal
from dataclasses import replace

import orjson
import pytest

from stream.decode import decode, doc_id
from stream.kafka.topics import produce
from tests import stories
from tests.service_support import by_topic, outputs, spawn, stop, wait_for_log

pytestmark = pytest.mark.kafka


@pytest.mark.parametrize("index", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "kill-9"])
async def test_a_copy_after_a_restart_joins_its_story(settings, tmp_path, index, how):
    if index == "redis":
        settings = replace(settings, index=f"redis://127.0.0.1:6379/0?namespace={settings.group_id}")
    originals = [stories.copy(n, 0) for n in range(30)]
    copies = [stories.copy(n, 1) for n in range(30)]
    first = spawn(settings, log := tmp_path / "first.log")
    await wait_for_log(log, "consumer.partitions_assigned")
    await produce(settings, settings.input_topic, originals)
    assert len(await outputs(settings, 30)) == 30
    first.send_signal(how)
    first.wait(60)
    second = spawn(settings, log2 := tmp_path / "second.log")
    await wait_for_log(log2, "consumer.partitions_assigned", timeout=90)
    await produce(settings, settings.input_topic, copies)
    try:
        got = by_topic(settings, await outputs(settings, 60, timeout=120, settle=2.0))
    finally:
        assert stop(second) == 0
    founders = {doc_id(decode(v, 1 << 20)): orjson.loads(v)["story"] for v in originals}
    assert {a["id"] for a in got["articles"]} == set(founders)  # no copy became a second canonical
    story_of_copy = {doc_id(decode(v, 1 << 20)): orjson.loads(v)["story"] for v in copies}
    assert len(got["duplicates"]) == 30
    for d in got["duplicates"]:
        assert founders[d["cluster_id"]] == story_of_copy[d["id"]]
