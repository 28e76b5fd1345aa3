"""Open the index backend named by ``STREAM_INDEX``."""

from __future__ import annotations

from stream.config import Settings
from stream.dedup.index import Index, MemoryIndex
from stream.errors import ConfigError


def open_index(settings: Settings) -> Index:
    if settings.index == "memory":
        return MemoryIndex()
    raise ConfigError(f"unknown index backend {settings.index!r}")
