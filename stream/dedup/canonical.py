"""Which copy of a story is published: the canonical rank (smaller is better).

Policy, in order (every rank has the same shape, so ranks of one cluster always compare):

1. **Earliest known publication time.** A copy with a ``published_at`` beats one without;
   between dated copies the earlier time wins, in whole seconds (UTC; a time without a
   zone is read as UTC). A date-only value stands for the *end* of that day: the page was
   published no later than that, so a copy with an exact time on the same day is preferred.
2. **Original-source signals.** A page whose ``rel=canonical`` names another host, or whose
   attribution line ("This article originally appeared on X") names another site, says
   it is *not* the original: it ranks after pages that do not say so.
3. **First seen.** :meth:`Index.promote` replaces a canonical only by a *strictly* better
   rank, so among equal ranks the first one decided stays. Pass ``seen`` (an event order,
   e.g. the Kafka timestamp) to make the order explicit rather than arrival-dependent.

Call it as ``rank(url, published_at, canonical_url, attribution)`` (the pipeline does).
The result is a :class:`Rank`: a plain tuple for every comparison and for storage, which
also carries the page's host as ``.site`` (not compared, not stored) so that the Deduper
knows the page's site even when ``Doc.site`` is not given.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit


class Rank(tuple):
    """A rank (a tuple of numbers, smaller is better) that also carries the page's site."""

    site: str | None

    def __new__(cls, items: tuple, site: str | None = None) -> Rank:
        obj = super().__new__(cls, items)
        obj.site = site
        return obj

    def __reduce__(self) -> tuple:
        return (Rank, (tuple(self), self.site))


_NO_TIME = 2**62  # after every real time


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


def rank(url: str, published_at: str | date | datetime | None = None, canonical_url: str | None = None,
         attribution: str | None = None, seen: float = 0.0) -> Rank:
    """The canonical rank of one copy (see the module docstring); smaller is better."""
    when = _seconds(published_at)
    return Rank((
        0 if when is not None else 1,
        when if when is not None else _NO_TIME,
        1 if foreign_source(url, canonical_url, attribution) else 0,
        float(seen),
    ), _host(url) or None)
