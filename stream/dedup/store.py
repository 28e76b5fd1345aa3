"""Open the index backend named by ``STREAM_INDEX``.

* ``memory`` (default): :class:`~stream.dedup.memory_index.MemoryIndex` in this process; it
  survives restarts through the changelog topic (``drain_changes`` / ``apply``).
* ``redis://host:port/db[?namespace=name]`` (also ``rediss://``, ``unix://``), or
  ``redis+cluster://host:port[,host:port...][?namespace=name]`` (``rediss+cluster://``) for a
  Redis Cluster: :class:`~stream.dedup.redis_index.RedisIndex`, shared by every instance that
  names the same server (or cluster) and namespace.
"""

from __future__ import annotations

from stream.config import Settings, redact_url
from stream.dedup.index import Index
from stream.dedup.memory_index import MemoryIndex
from stream.errors import ConfigError

REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")


def open_index(settings: Settings, namespace: str | None = None, changelog: bool = True) -> Index:
    """The configured backend; ``namespace`` overrides the Redis namespace (a replay's own).

    ``changelog=False``: a memory index records no changes (a run that never drains them,
    such as offline ``stream dedup``); Redis ignores it."""
    if settings.index == "memory":
        return MemoryIndex(changelog=changelog)
    if settings.index.startswith(REDIS_SCHEMES):
        from stream.dedup.redis_index import RedisIndex

        try:
            return RedisIndex.from_url(settings.index, namespace, settings.index_password_file)
        except ValueError as exc:
            raise ConfigError(f"STREAM_INDEX: {exc}") from exc
    raise ConfigError(f"unknown index backend {redact_url(settings.index)!r}")
