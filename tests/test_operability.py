"""Logs, metrics, readiness and the watchdog of a running service, on the real broker."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import structlog
from structlog.testing import capture_logs

from stream.kafka.topics import produce
from stream.samples import raw_values
from tests.service_support import outputs, running
from tests.test_health import get, samples
from tests.test_pitfalls import SlowIndex

pytestmark = pytest.mark.kafka


async def wait_until(predicate, timeout: float = 60) -> None:
    for _ in range(int(timeout * 10)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError


async def test_events_metrics_and_readiness(settings):
    values = raw_values()
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with running(settings) as service:
            port = next(e["metrics_port"] for e in logs if e["event"] == "service.started")
            assert (await get(port, "/readyz"))[0] == 200  # partitions assigned, producer connected
            assert (await get(port, "/livez"))[0] == 200
            await produce(settings, settings.input_topic, values, keys=[b"k"] * len(values))
            assert len(await outputs(settings, len(values))) == len(values)
            await asyncio.sleep(settings.stats_interval * 2)  # at least one stats event after the work
            scraped = samples((await get(port, "/metrics"))[2])
            service.stop()
            assert (await get(port, "/readyz"))[0] == 503  # no longer ready while shutting down
    assert scraped[("stream_records_total", (("outcome", "article"),))] == 5
    assert scraped[("stream_records_total", (("outcome", "duplicate"),))] == 2
    assert scraped[("stream_records_total", (("outcome", "dead_letter"),))] == 3
    assert scraped[("stream_dead_letters_total", (("reason", "invalid_json"),))] == 1
    assert scraped[("stream_commits_total", (("status", "ok"),))] >= 1
    assert scraped[("stream_rebalances_total", ())] >= 1
    events = [e["event"] for e in logs]
    for name in ("service.started", "consumer.partitions_assigned", "stats", "dlq.sent", "service.stopping"):
        assert name in events
    dlq = [e for e in logs if e["event"] == "dlq.sent"]
    assert {e["reason"] for e in dlq} == {"invalid_json", "missing_url", "no_content"}
    assert all(e["topic"] == settings.input_topic and "offset" in e and "partition" in e for e in dlq)
    stats = [e for e in logs if e["event"] == "stats"][-1]
    assert (stats["records"], stats["article"], stats["duplicate"], stats["dead_letter"]) == (10, 5, 2, 3)
    assert stats["dedup_ratio"] == pytest.approx(2 / 7, abs=1e-3) and "lag" in stats and "index_entries" in stats


async def test_watchdog_reports_a_stuck_loop(settings):
    settings = replace(settings, stall_seconds=1.0)
    with capture_logs() as logs:
        async with running(settings, index=SlowIndex(4.0)):
            port = next(e["metrics_port"] for e in logs if e["event"] == "service.started")
            await produce(settings, settings.input_topic, raw_values()[:1])

            async def not_live():
                return (await get(port, "/livez"))[0] == 503

            await wait_until(not_live)
    assert "watchdog.stalled" in [e["event"] for e in logs]
