"""Per-domain boilerplate learned from the stream, in bounded memory.

A line (or block) that recurs on many pages of one domain is the site's furniture: an
ad, a slogan, a "follow us on Telegram" line, an "About the company" paragraph. The
learner keeps, for the ``max_domains`` most recently seen domains (LRU), a counter of
line fingerprints (64-bit xxhash of the line lower-cased, digits folded, white space
collapsed) holding at most ``max_lines`` entries: when it is full, every count is
halved and the zeros are dropped, so lines that stopped recurring age out. A line is
boilerplate for a domain once it was seen on ``min_pages`` distinct pages of it.

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

    def __init__(self, *, max_domains: int = 2_000, max_lines: int = 2_048, min_pages: int = 3) -> None:
        if max_domains < 1 or max_lines < 1 or min_pages < 2:
            raise ValueError("max_domains, max_lines >= 1 and min_pages >= 2")
        self.max_domains = max_domains
        self.max_lines = max_lines
        self.min_pages = min_pages
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
        return [line for line in lines if counts.get(fingerprint(line), 0) < self.min_pages]

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
