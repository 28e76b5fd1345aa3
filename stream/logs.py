"""Logging, configured once at the entry point.

JSON lines (orjson) when not on a TTY, readable console output on one. Every
line carries ``timestamp`` (RFC 3339, UTC), ``level``, the dotted ``event`` and
``instance``. Per-record context is bound through :mod:`structlog.contextvars`.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import orjson
import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class RateLimit:
    """Let through at most ``burst`` warning-or-worse events of one name per ``window``
    seconds; the next one let through carries ``suppressed``, the count dropped meanwhile.

    It is a structlog processor for our events and a :class:`logging.Filter` for the
    stdlib records of libraries."""

    def __init__(self, burst: int = 20, window: float = 10.0, clock=time.monotonic) -> None:
        self.burst, self.window, self.clock = burst, window, clock
        self._state: dict[str, list[float | int]] = {}  # event -> [window start, seen, dropped]

    def allow(self, name: str) -> int | None:
        """None to drop the event, else how many were dropped before it."""
        now = self.clock()
        state = self._state.setdefault(name, [now, 0, 0])
        if now - state[0] >= self.window:
            state[0], state[1] = now, 0
        state[1] += 1
        if state[1] > self.burst:
            state[2] += 1
            return None
        dropped, state[2] = int(state[2]), 0
        return dropped

    def __call__(self, logger: Any, method: str, event: dict) -> dict:
        if method not in ("warning", "error", "critical", "exception"):
            return event
        dropped = self.allow(event.get("event", ""))
        if dropped is None:
            raise structlog.DropEvent
        if dropped:
            event["suppressed"] = dropped
        return event

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and not getattr(record, "transient", False):
            return True
        dropped = self.allow(f"lib.{record.name}:{record.msg}")
        if dropped:
            record.suppressed = dropped
        return dropped is not None


# aiokafka's messages for the normal moments of a cluster's life: a topic being created,
# a coordinator starting or moving, a group rebalancing. Matched on the format string.
TRANSIENT = frozenset({
    "Topic %s not found in cluster metadata",
    "Topic %s is not available during auto-create initialization",
    "No partition metadata for topic %s",
    "Group Coordinator Request failed: %s",
    "Marking the coordinator dead (node %s)for group %s.",
    "Heartbeat failed for group %s: coordinator (node %s) is either not started or not valid",
    "Heartbeat failed for group %s because it is rebalancing",
})


class Transient(logging.Filter):
    """Log a library's transient states as what they are: at info while the same message
    has kept coming for less than ``grace`` seconds, at its own level (with
    ``persisting_s``) once it lasts longer. A message not seen for ``grace`` seconds
    starts afresh. Records below ``level`` once demoted are dropped."""

    def __init__(self, level: int, grace: float = 30.0, clock=time.monotonic) -> None:
        super().__init__()
        self.level, self.grace, self.clock = level, grace, clock
        self._since: dict[str, tuple[float, float]] = {}  # message -> (first seen, last seen)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not isinstance(record.msg, str) or record.msg not in TRANSIENT:
            return True
        if not all(getattr(arg, "retriable", True) for arg in record.args or ()):
            return True  # an error the library gives up on is no passing state
        now, key = self.clock(), record.getMessage()
        first, last = self._since.get(key, (now, now))
        if now - last > self.grace:
            first = now
        if len(self._since) > 1000:
            self._since = {k: v for k, v in self._since.items() if now - v[1] <= self.grace}
        self._since[key] = (first, now)
        if now - first >= self.grace:
            record.persisting_s = round(now - first)
            return True
        record.levelno, record.levelname, record.transient = logging.INFO, "INFO", True
        return record.levelno >= self.level


def _library_event(logger: Any, method: str, event: dict) -> dict:
    """Give a library's stdlib log record a dotted event name; its text becomes ``message``."""
    record = event.get("_record")
    if record is not None:
        event["message"] = event.pop("event", "")
        event["event"] = "lib." + record.name
    return event


def configure(level: str = "info", fmt: str = "auto", instance: str = "", stream: TextIO | None = None) -> None:
    """Configure structlog, and route the stdlib logging of libraries (aiokafka) through it."""
    stream = stream or sys.stdout
    console = fmt == "console" or (fmt == "auto" and stream.isatty())
    limit = RateLimit()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        lambda _l, _m, e: {**e, "instance": instance} if instance else e,
    ]
    renderer: Any = (structlog.dev.ConsoleRenderer() if console else
                     structlog.processors.JSONRenderer(serializer=lambda o, **_: orjson.dumps(o).decode()))
    structlog.configure(
        processors=[*shared[:2], limit, *shared[2:], structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.addFilter(Transient(LEVELS.get(level, logging.INFO)))
    handler.addFilter(limit)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _library_event, structlog.stdlib.ExtraAdder(("suppressed", "persisting_s"))],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(LEVELS.get(level, logging.INFO), logging.WARNING))
