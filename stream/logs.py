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
    seconds; the next one let through carries ``suppressed``, the count dropped meanwhile."""

    def __init__(self, burst: int = 20, window: float = 10.0, clock=time.monotonic) -> None:
        self.burst, self.window, self.clock = burst, window, clock
        self._state: dict[str, list[float | int]] = {}  # event -> [window start, seen, dropped]

    def __call__(self, logger: Any, method: str, event: dict) -> dict:
        if method not in ("warning", "error", "critical", "exception"):
            return event
        now = self.clock()
        state = self._state.setdefault(event.get("event", ""), [now, 0, 0])
        if now - state[0] >= self.window:
            state[0], state[1] = now, 0
        state[1] += 1
        if state[1] > self.burst:
            state[2] += 1
            raise structlog.DropEvent
        if state[2]:
            event["suppressed"] = state[2]
            state[2] = 0
        return event


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
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        RateLimit(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        lambda _l, _m, e: {**e, "instance": instance} if instance else e,
    ]
    renderer: Any = (structlog.dev.ConsoleRenderer() if console else
                     structlog.processors.JSONRenderer(serializer=lambda o, **_: orjson.dumps(o).decode()))
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _library_event],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(LEVELS.get(level, logging.INFO), logging.WARNING))
