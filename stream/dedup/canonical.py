"""Which copy of a story is published: the canonical rank (smaller is better).

A rank depends on the copy alone, never on what was decided before it, so the best copy
of a set of copies is the same whatever the order they arrive in. Policy, in order (every
rank has the same shape, so ranks always compare):

1. **Earliest known publication time.** A copy with a ``published_at`` beats one without;
   between dated copies the earlier time wins, in whole seconds (UTC; a time without a
   zone is read as UTC). A date-only value stands for the *end* of that day: the page was
   published no later than that, so a copy with an exact time on the same day is preferred.
2. **Original-source signals.** A page whose ``rel=canonical`` names another host, or whose
   attribution line ("This article originally appeared on X") names another site, says
   it is *not* the original: it ranks after pages that do not say so.
3. **Earliest event time** (``seen``: the Kafka record timestamp, else ``fetched_at``): the
   copy that reached the stream first.
4. **Document id**, as a last tie-break (its first 52 bits, exact in a float), so that no two
   documents rank equal and the best copy of a set does not depend on the order in which
   the set was seen.

Call it as ``rank(url, published_at, canonical_url, attribution, seen, doc_id)`` (the
pipeline does). The dedup decision compares ``(rank, doc_id)``, a total order.
The result is a :class:`Rank`: a plain tuple for every comparison and for storage, which
also carries the page's host as ``.site`` (not compared, not stored) so that the Deduper
knows the page's site even when ``Doc.site`` is not given.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import xxhash


class Rank(tuple):
    """A rank (a tuple of numbers, smaller is better) that also carries the page's site."""

    site: str | None

    def __new__(cls, items: tuple, site: str | None = None) -> Rank:
        obj = super().__new__(cls, items)
        obj.site = site
        return obj

    def __reduce__(self) -> tuple:
        return (Rank, (tuple(self), self.site))


_NO_TIME = 2**52  # after every real time, and exact in a float (the index stores ranks as floats)


def _seconds(published_at: str | date | datetime | None) -> int | None:
    """Epoch seconds of an ISO 8601 date/datetime (a date: its last second), else None."""
    if published_at is None:
        return None
    if isinstance(published_at, str):
        s = published_at.strip().replace("Z", "+00:00")
        try:
            published_at = datetime.fromisoformat(s) if len(s) > 10 else date.fromisoformat(s)
        except ValueError:
            return None
    if not isinstance(published_at, datetime):  # a date: the end of that (UTC) day
        published_at = datetime(published_at.year, published_at.month, published_at.day, 23, 59, 59)
    if published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)
    return int(published_at.timestamp())


def _host(url: str | None) -> str:
    host = urlsplit(url or "").netloc.lower().split("@")[-1].split(":")[0]
    return host[4:] if host.startswith("www.") else host


def _site_words(s: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", s.lower()) if w not in {"www", "com", "org", "net", "the"}}


def foreign_source(url: str, canonical_url: str | None = None, attribution: str | None = None) -> bool:
    """True when the page itself says the story comes from another site."""
    host = _host(url)
    if canonical_url and _host(canonical_url) and _host(canonical_url) != host:
        return True
    if attribution:
        named = _site_words(attribution)
        return bool(named) and not named <= _site_words(host)
    return False


def id_number(doc_id: str) -> int:
    """The first 52 bits of a document id: a 20-hex-char id's leading 13 digits, else a hash."""
    if len(doc_id) >= 13 and all(c in "0123456789abcdef" for c in doc_id[:13]):
        return int(doc_id[:13], 16)
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass")) >> 12


def rank(url: str, published_at: str | date | datetime | None = None, canonical_url: str | None = None,
         attribution: str | None = None, seen: float = 0.0, doc_id: str = "") -> Rank:
    """The canonical rank of one copy (see the module docstring); smaller is better."""
    when = _seconds(published_at)
    return Rank((
        0 if when is not None else 1,
        when if when is not None else _NO_TIME,
        1 if foreign_source(url, canonical_url, attribution) else 0,
        float(seen),
        id_number(doc_id),
    ), _host(url) or None)
