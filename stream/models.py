"""Small frozen records that flow between the steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stream.clean import Cleaned
from stream.dedup import Fingerprint


@dataclass(frozen=True, slots=True)
class RawPage:
    """One decoded input record."""

    url: str
    html: str | None
    text: str | None
    fetched_at: str | None = None
    published_at: str | None = None
    lang: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other fields, carried through


@dataclass(frozen=True, slots=True)
class Prepared:
    """A page after the pure, CPU-heavy steps: decoded, cleaned, fingerprinted."""

    doc_id: str
    page: RawPage
    cleaned: Cleaned
    fingerprint: Fingerprint | None  # None when only cleaning was asked for
    event_time: float  # epoch seconds: the record timestamp, else fetched_at, else published_at


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that cannot be processed, and why."""

    reason: str
    detail: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One record to publish. ``kind`` is ``article``, ``duplicate``, ``dead_letter`` or
    ``changelog``; a ``value`` of None is a tombstone."""

    kind: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
