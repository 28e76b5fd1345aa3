"""The health server over real HTTP on a free port: /metrics, /readyz, /livez and the watchdog."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from stream.health import Health, serve
from stream.metrics import Metrics

NEVER = 3600.0  # watch interval of the background task where tests drive the watchdog themselves


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: test\r\nAccept: */*\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)  # the server closes the connection
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, status, _ = status_line.split(" ", 2)
    assert version == "HTTP/1.1"
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return int(status), headers, body


def samples(body: bytes) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


@pytest.fixture
async def running():
    servers = []

    async def start(health: Health, metrics: Metrics | None = None, **kw):
        server = await serve(health, metrics or Metrics(), "127.0.0.1", 0, **kw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def test_metrics_are_scraped_after_calls(running):
    metrics = Metrics()
    server = await running(Health(), metrics)
    _, _, before = await get(server.port, "/metrics")
    assert samples(before)[("stream_records_total", (("outcome", "article"),))] == 0.0
    for outcome in ("article", "article", "duplicate"):
        metrics.record(outcome)
    metrics.record("dead_letter", reason="too_large")
    metrics.commit(True)
    metrics.commit(False)
    metrics.commit(False)
    metrics.rebalance()
    metrics.lag("raw-pages", 0, 7)
    metrics.lag("raw-pages", 1, 3)
    metrics.forget_lag("raw-pages", 1)
    metrics.index_entries(42)
    metrics.batch(0.2, 3)

    status, headers, body = await get(server.port, "/metrics")

    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert int(headers["content-length"]) == len(body)
    got = samples(body)
    assert got[("stream_records_total", (("outcome", "article"),))] == 2
    assert got[("stream_records_total", (("outcome", "duplicate"),))] == 1
    assert got[("stream_records_total", (("outcome", "dead_letter"),))] == 1
    assert got[("stream_dead_letters_total", (("reason", "too_large"),))] == 1
    assert got[("stream_commits_total", (("status", "ok"),))] == 1
    assert got[("stream_commits_total", (("status", "failed"),))] == 2
    assert got[("stream_rebalances_total", ())] == 1
    assert got[("stream_consumer_lag", (("partition", "0"), ("topic", "raw-pages")))] == 7
    assert ("stream_consumer_lag", (("partition", "1"), ("topic", "raw-pages"))) not in got
    assert got[("stream_index_entries", ())] == 42
    assert got[("stream_processing_seconds_count", ())] == 3
    assert got[("stream_processing_seconds_sum", ())] == pytest.approx(0.6)
    assert got[("stream_processing_seconds_bucket", (("le", "0.25"),))] == 3
    assert got[("stream_processing_seconds_bucket", (("le", "0.1"),))] == 0
    assert got[("stream_last_progress_timestamp_seconds", ())] > 0


def test_metrics_registries_are_independent():
    a, b = Metrics(), Metrics()
    a.record("duplicate")
    assert a.registry.get_sample_value("stream_records_total", {"outcome": "duplicate"}) == 1
    assert b.registry.get_sample_value("stream_records_total", {"outcome": "duplicate"}) == 0
    with pytest.raises(ValueError):
        a.record("lost")


async def test_readyz_flips_with_ready_and_draining(running):
    health = Health()
    server = await running(health)
    assert (await get(server.port, "/readyz"))[0] == 503
    health.ready = True
    status, _, body = await get(server.port, "/readyz")
    assert (status, body) == (200, b"ready\n")
    health.drain()
    status, _, body = await get(server.port, "/readyz")
    assert (status, body) == (503, b"draining\n")
    assert (await get(server.port, "/livez"))[0] == 200  # draining is not dead


async def test_watchdog_trips_on_a_stuck_state_and_recovers(running):
    clock = Clock()
    metrics = Metrics(clock=lambda: 1234.0)
    health = Health(stall_seconds=10, clock=clock, metrics=metrics)
    server = await running(health, metrics, watch_interval=NEVER)
    assert (await get(server.port, "/livez"))[0] == 200
    health.waiting(True)
    clock.now += 9
    assert (await get(server.port, "/livez"))[0] == 200

    clock.now += 2
    with capture_logs() as events:
        first = await get(server.port, "/livez")
        second = await get(server.port, "/livez")
    assert first[0] == second[0] == 503
    assert b"no progress for 11s" in first[2]
    stalled = [e for e in events if e["event"] == "watchdog.stalled"]
    assert len(stalled) == 1  # logged once per stall, not per probe
    assert stalled[0]["log_level"] == "warning"
    assert stalled[0]["seconds_since_progress"] == 11.0

    with capture_logs() as events:
        health.progress()
    assert [e["event"] for e in events] == ["watchdog.recovered"]
    assert (await get(server.port, "/livez"))[0] == 200
    got = samples((await get(server.port, "/metrics"))[2])
    assert got[("stream_last_progress_timestamp_seconds", ())] == 1234.0


async def test_an_idle_spell_is_not_a_stall(running):
    clock = Clock()
    health = Health(stall_seconds=10, clock=clock)
    server = await running(health, watch_interval=NEVER)
    clock.now += 500  # nothing waiting, and no progress() calls meanwhile
    assert (await get(server.port, "/livez"))[0] == 200
    health.waiting(True)  # records arrive: the stall clock starts now
    assert (await get(server.port, "/livez"))[0] == 200
    clock.now += 11
    assert (await get(server.port, "/livez"))[0] == 503
    health.waiting(False)
    assert (await get(server.port, "/livez"))[0] == 200


async def test_background_watchdog_logs_without_probes(running):
    clock = Clock()
    health = Health(stall_seconds=10, clock=clock)
    with capture_logs() as events:
        await running(health, watch_interval=0.01)
        health.waiting(True)
        clock.now += 60
        for _ in range(500):  # until the task has run; the test fails if it never does
            if events:
                break
            await asyncio.sleep(0.01)
    assert [e["event"] for e in events] == ["watchdog.stalled"]


async def test_unknown_paths_methods_and_head(running):
    server = await running(Health())
    assert (await get(server.port, "/nope"))[0] == 404
    status, headers, _ = await get(server.port, "/metrics", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    status, headers, body = await get(server.port, "/livez", method="HEAD")
    assert (status, body) == (200, b"") and headers["content-length"] == "3"
    assert (await get(server.port, "/livez?verbose=1"))[0] == 200


async def test_a_garbage_request_line_gets_400(running):
    server = await running(Health())
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"hello\r\n\r\n")
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert raw.startswith(b"HTTP/1.1 400 ")


async def test_close_frees_the_port():
    server = await serve(Health(), Metrics(), "127.0.0.1", 0)
    port = server.port
    assert port > 0
    assert (await get(port, "/livez"))[0] == 200
    await server.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
