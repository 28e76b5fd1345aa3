"""The project's error tree.

    StreamError
    ├── BadRecord         one input record cannot be processed; it goes to the dead-letter topic
    ├── ConfigError       the settings are invalid; the process exits with a message
    ├── ConnectError      Kafka or Redis refuses the connection at start (wrong password, untrusted
    │                     certificate, wrong protocol); the process exits with one line naming the setting
    └── IndexUnavailable  the dedup index's server cannot be reached; the batch is tried again

Library errors are translated into this tree at the edge (``raise ... from exc``).
"""

from __future__ import annotations


class StreamError(Exception):
    """Root of every error this project raises on purpose."""


class BadRecord(StreamError):
    """An input record that cannot be processed.

    ``reason`` is a short stable machine-readable code (``invalid_json``,
    ``missing_url``, ``too_large``...), ``detail`` a human-readable sentence.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ConfigError(StreamError):
    """Invalid settings."""


class ConnectError(StreamError):
    """A server refused the connection at start in a way retrying will not fix. The message
    names the setting to check, and never carries a password."""


class IndexUnavailable(StreamError):
    """The shared dedup index (Redis) did not answer. Nothing is wrong with the records: the
    service backs off and processes the batch again (decisions are idempotent)."""
