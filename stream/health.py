"""Liveness, readiness and ``/metrics`` over a tiny asyncio HTTP server.

:class:`Health` is the state the service updates: ``ready`` (partitions assigned and
producer connected), :meth:`Health.progress` (a batch committed, or a poll found
nothing waiting) and :meth:`Health.waiting` (records are waiting: lag > 0). Its
watchdog counts the instance as stalled when records have been waiting for longer
than ``stall_seconds`` without progress; it then logs ``watchdog.stalled`` once and
``/livez`` answers 503 until progress resumes (``watchdog.recovered``).

:func:`serve` starts the server; ``GET``/``HEAD`` of

- ``/metrics``: the Prometheus text exposition of :class:`~stream.metrics.Metrics`;
- ``/livez``: 200 while the event loop answers and the watchdog is not tripped, else 503
  (a blocked event loop does not answer at all: the probe times out);
- ``/readyz``: 200 once ``ready`` is true, 503 before that and once draining.

Only the request line is parsed; every answer is HTTP/1.1 with ``Content-Length``
and ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stream.metrics import Metrics

log = structlog.get_logger("stream")

READ_TIMEOUT = 5.0  # seconds a client gets to send its request line and headers
MAX_HEADER_LINES = 100
TEXT = "text/plain; charset=utf-8"
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class Health:
    """Readiness and the progress watchdog. ``clock`` is monotonic seconds (injectable)."""

    def __init__(self, stall_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 metrics: Metrics | None = None) -> None:
        if stall_seconds <= 0:
            raise ValueError("stall_seconds must be positive")
        self.stall_seconds = stall_seconds
        self.clock = clock
        self.metrics = metrics
        self.ready = False
        self.draining = False
        self._progress_at = clock()
        self._waiting = False
        self._waiting_since = self._progress_at
        self._stalled = False

    def progress(self) -> None:
        """A batch was committed, or a poll found nothing waiting."""
        self._progress_at = self.clock()
        if self.metrics is not None:
            self.metrics.progress()
        self.check()

    def waiting(self, waiting: bool) -> None:
        """Whether records are waiting to be processed (consumer lag > 0)."""
        if waiting and not self._waiting:
            self._waiting_since = self.clock()  # an idle spell without progress() is no stall
        self._waiting = waiting
        self.check()

    def drain(self) -> None:
        """Shutting down: ``/readyz`` answers 503 from now on."""
        self.draining = True

    @property
    def is_ready(self) -> bool:
        return self.ready and not self.draining

    def stalled_for(self) -> float:
        """Seconds records have been waiting without progress (0 when none are waiting)."""
        if not self._waiting:
            return 0.0
        return max(0.0, self.clock() - max(self._progress_at, self._waiting_since))

    def check(self) -> bool:
        """Evaluate the watchdog, log when it trips or recovers; True while stalled."""
        seconds = self.stalled_for()
        stalled = seconds > self.stall_seconds
        if stalled and not self._stalled:
            log.warning("watchdog.stalled", seconds_since_progress=round(seconds, 1),
                        stall_seconds=self.stall_seconds)
        elif self._stalled and not stalled:
            log.info("watchdog.recovered")
        self._stalled = stalled
        return stalled

    @property
    def is_live(self) -> bool:
        return not self.check()


class HealthServer:
    """A running server: :attr:`port` is the bound port; :meth:`close` stops it."""

    def __init__(self, server: asyncio.Server, watchdog: asyncio.Task) -> None:
        self._server = server
        self._watchdog = watchdog

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._watchdog.cancel()
        with suppress(asyncio.CancelledError):
            await self._watchdog
        self._server.close()
        await self._server.wait_closed()

    async def __aenter__(self) -> HealthServer:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


async def serve(health: Health, metrics: Metrics, host: str = "0.0.0.0", port: int = 9108,
                watch_interval: float | None = None) -> HealthServer:
    """Start serving on ``host:port`` (port 0: any free port, see :attr:`HealthServer.port`).

    A background task runs the watchdog every ``watch_interval`` seconds (default: a
    quarter of ``stall_seconds``, at most 5), so a stall is logged even when nobody probes.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
            for _ in range(MAX_HEADER_LINES):  # read the headers, and ignore them
                if await asyncio.wait_for(reader.readline(), READ_TIMEOUT) in (b"\r\n", b"\n", b""):
                    break
            method, status, headers, body = _respond(line, health, metrics)
            head = [f"HTTP/1.1 {status} {REASONS[status]}", *headers,
                    f"Content-Length: {len(body)}", "Connection: close", "", ""]
            writer.write("\r\n".join(head).encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, ValueError):  # ValueError: a line over the limit
            pass
        finally:
            writer.close()
            with suppress(Exception):
                await writer.wait_closed()

    interval = watch_interval if watch_interval is not None else min(5.0, health.stall_seconds / 4)
    server = await asyncio.start_server(handle, host, port)
    return HealthServer(server, asyncio.create_task(_watch(health, interval), name="health-watchdog"))


async def _watch(health: Health, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        health.check()


def _respond(line: bytes, health: Health, metrics: Metrics) -> tuple[str, int, list[str], bytes]:
    """(method, status, extra header lines, body) for one request line."""
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return "", 400, [f"Content-Type: {TEXT}"], b"bad request\n"
    method, path = parts[0], parts[1].split("?", 1)[0]
    if method not in ("GET", "HEAD"):
        return method, 405, ["Allow: GET, HEAD", f"Content-Type: {TEXT}"], b"method not allowed\n"
    if path == "/metrics":
        return method, 200, [f"Content-Type: {CONTENT_TYPE_LATEST}"], generate_latest(metrics.registry)
    if path == "/livez":
        if health.is_live:
            return method, 200, [f"Content-Type: {TEXT}"], b"ok\n"
        body = f"stalled: records waiting, no progress for {health.stalled_for():.0f}s\n".encode()
        return method, 503, [f"Content-Type: {TEXT}"], body
    if path == "/readyz":
        if health.is_ready:
            return method, 200, [f"Content-Type: {TEXT}"], b"ready\n"
        return method, 503, [f"Content-Type: {TEXT}"], b"draining\n" if health.draining else b"not ready\n"
    return method, 404, [f"Content-Type: {TEXT}"], b"not found\n"
