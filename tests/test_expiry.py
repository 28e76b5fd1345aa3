"""Index expiry follows the stream's clock, without a broker."""

from __future__ import annotations

import time
from dataclasses import replace

from stream.config import Settings
from stream.pipeline import prepare
from stream.service import Service
from tests import stories

DAY = 86400.0


def feed(service: Service, values, timestamp: float) -> None:
    prepared = [prepare(v, 1 << 20, timestamp) for v in values]
    for p in prepared:
        service.processor.decide(p)
    service._expire(prepared)


def test_old_published_dates_do_not_expire_fresh_entries():
    service = Service(replace(Settings(), retention_days=30))
    now = time.time()
    feed(service, [stories.copy(n, 0) for n in range(5)], now)  # no dates in the records
    dated = [b'{"url": "https://a.example/x", "text": "%s", "published_at": "2019-01-01T00:00:00Z"}'
             % " ".join(f"w{i}" for i in range(200)).encode()]
    feed(service, dated, now + 60)  # the record timestamp is the event time, not 2019
    assert len(service.index) == 6


def test_a_future_timestamp_does_not_move_the_window():
    service = Service(replace(Settings(), retention_days=30))
    now = time.time()
    feed(service, [stories.copy(n, 0) for n in range(5)], now)
    feed(service, [stories.copy(99, 0)], now + 365 * DAY)  # a bad producer clock
    assert len(service.index) == 6


def test_entries_older_than_the_window_expire():
    service = Service(replace(Settings(), retention_days=30))
    start = time.time() - 60 * DAY
    feed(service, [stories.copy(n, 0) for n in range(5)], start)
    feed(service, [stories.copy(n, 0) for n in range(5, 8)], start + 31 * DAY)
    assert len(service.index) == 3
    feed(service, [stories.copy(n, 1) for n in range(5)], start + 32 * DAY)  # old stories are new again
    assert len(service.index) == 8
