"""Canonical policy: which copy of a story is published. Smaller rank wins.

1. the earliest published copy known;
2. then a copy with no sign of being a republication (``rel=canonical`` naming
   another URL, or an attribution line naming another site);
3. then the first seen: a later copy replaces the canonical only when strictly better.
"""

from __future__ import annotations

import math

from stream.decode import parse_time


def rank(url: str, published_at: str | None, canonical_url: str | None, attribution: str | None) -> tuple:
    published = parse_time(published_at) if published_at else None
    republished = bool(canonical_url and canonical_url != url) or bool(attribution)
    return (published if published is not None else math.inf, int(republished))
