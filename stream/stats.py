"""Counters and latency samples behind the periodic ``stats`` event."""

from __future__ import annotations

import time
from collections import deque

OUTCOMES = ("article", "duplicate", "dead_letter")


class Stats:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.total = dict.fromkeys(("records",) + OUTCOMES, 0)
        self._last = dict(self.total)
        self._since = clock()
        self._latency: deque[float] = deque(maxlen=4096)  # seconds from poll to commit, per record

    def count(self, kind: str, latency: float | None = None) -> None:
        self.total["records"] += 1
        self.total[kind] += 1
        if latency is not None:
            self._latency.append(latency)

    def snapshot(self) -> dict:
        """Totals, rates since the previous snapshot, dedup ratio and latency percentiles."""
        now = self.clock()
        elapsed = max(now - self._since, 1e-9)
        rates = {f"{k}_per_s": round((self.total[k] - self._last[k]) / elapsed, 2) for k in self.total}
        decided = self.total["article"] + self.total["duplicate"]
        lat = sorted(self._latency)
        pct = {f"latency_p{p}_ms": round(lat[min(len(lat) - 1, int(len(lat) * p / 100))] * 1000, 1)
               for p in (50, 99)} if lat else {}
        self._last, self._since = dict(self.total), now
        self._latency.clear()
        return {**self.total, **rates, "dedup_ratio": round(self.total["duplicate"] / decided, 4) if decided else 0.0,
                **pct}
