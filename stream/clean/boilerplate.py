"""Per-domain boilerplate learned from the stream, in bounded memory.

A line (or block) that recurs on many pages of one domain is the site's furniture: an
ad, a slogan, a "follow us on Telegram" line, an "About the company" paragraph. The
learner keeps, for the ``max_domains`` most recently seen domains (LRU), a counter of
line fingerprints (64-bit xxhash of the line lower-cased, digits folded, white space
collapsed) holding at most ``max_lines`` entries: when it is full, every count (and
the page count) is halved and the zeros are dropped, so lines that stopped recurring
age out. A line is boilerplate for a domain once it was seen on ``min_pages`` distinct
pages of it and on at least ``min_share`` of them.

A site that republishes one story several times must not lose the story: when the
lines left would hold less than ``min_keep`` of a page's characters, the page is left
as it is (a copy is known text through and through). Furniture may be most of a page
(a flattened scrape carries the site's whole menu), so only what is left decides.

Memory is bounded by ``max_domains * max_lines`` counters (default 2,000 * 2,048).
Not thread-safe: use one learner per worker.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import xxhash

_DIGITS = re.compile(r"\d+")


@dataclass(slots=True)
class _Domain:
    pages: int = 0
    counts: dict[int, int] = field(default_factory=dict)


class BoilerplateLearner:
    """Learn recurring lines per domain; tell which lines of a new page are boilerplate."""

    def __init__(
        self,
        *,
        max_domains: int = 2_000,
        max_lines: int = 2_048,
        min_pages: int = 3,
        min_share: float = 0.2,
        min_keep: float = 0.1,
    ) -> None:
        if max_domains < 1 or max_lines < 1 or min_pages < 2:
            raise ValueError("max_domains, max_lines >= 1 and min_pages >= 2")
        if not (0.0 <= min_share <= 1.0 and 0.0 <= min_keep < 1.0):
            raise ValueError("min_share in [0, 1] and min_keep in [0, 1)")
        self.max_domains = max_domains
        self.max_lines = max_lines
        self.min_pages = min_pages
        self.min_share = min_share
        self.min_keep = min_keep
        self._domains: OrderedDict[str, _Domain] = OrderedDict()

    def __len__(self) -> int:
        return len(self._domains)

    def pages(self, url: str) -> int:
        """Pages seen so far for the domain of ``url``."""
        domain = self._domains.get(domain_of(url))
        return domain.pages if domain else 0

    def filter(self, url: str, lines: list[str]) -> list[str]:
        """Return the lines of a page that are not known boilerplate of its domain."""
        domain = self._domains.get(domain_of(url))
        if domain is None or domain.pages < self.min_pages:
            return lines
        counts = domain.counts
        least = max(self.min_pages, self.min_share * domain.pages)
        kept = [line for line in lines if counts.get(fingerprint(line), 0) < least]
        if sum(map(len, kept)) < self.min_keep * sum(map(len, lines)):
            return lines  # known text through and through: a republished story, not furniture
        return kept

    def observe(self, url: str, lines: list[str]) -> None:
        """Count each distinct line of one page of the domain of ``url``."""
        name = domain_of(url)
        domain = self._domains.get(name)
        if domain is None:
            domain = self._domains[name] = _Domain()
            if len(self._domains) > self.max_domains:
                self._domains.popitem(last=False)
        else:
            self._domains.move_to_end(name)
        domain.pages += 1
        counts = domain.counts
        for key in {fingerprint(line) for line in lines}:
            counts[key] = counts.get(key, 0) + 1
            if len(counts) > self.max_lines:
                _age(counts)
                domain.pages = max(1, domain.pages // 2)


def domain_of(url: str) -> str:
    """Host of a URL without ``www.``; the URL itself when it has no host."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return (host or url).removeprefix("www.")


def fingerprint(line: str) -> int:
    """Stable 64-bit fingerprint of a line, blind to case, digits and spacing."""
    key = _DIGITS.sub("0", " ".join(line.lower().split()))
    return xxhash.xxh64_intdigest(key.encode("utf-8", "surrogatepass"))


def _age(counts: dict[int, int]) -> None:
    for key, value in list(counts.items()):
        if value <= 1:
            del counts[key]
        else:
            counts[key] = value // 2
