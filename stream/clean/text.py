"""Flattened text pages: split into lines, find the title, drop the page furniture.

A flattened page is what a scraper keeps of a page's text: ads, breadcrumbs
(``Home / WORLD / ...``), the headline, the article, a copyright line, teasers and a
comment form, one block per line. The title is the last segment of a breadcrumb, or
else the first short non-sentence line before the first paragraph; every copy of it
is dropped from the body. The rest goes through the shared line rules
(:mod:`stream.clean.lines`), and a copyright line after the article ends it.
"""

from __future__ import annotations

import re

from stream.clean import lines as rules

_BREADCRUMB_SPLIT = re.compile(r"\s(?:/|>|»|›|→)\s")
MAX_TITLE_WORDS = 25


def split_lines(text: str) -> list[str]:
    """The non-empty lines of a text, with white space collapsed."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def title_and_body(lines: list[str]) -> tuple[str, list[str]]:
    """Return the page title and the article lines of a flattened page."""
    noise = rules.repeated(lines)
    title = _title(lines, noise)
    body = [line for line in lines if line != title] if title else list(lines)
    body = _cut_after_copyright(body)
    return title, rules.clean_lines(body)


def _title(lines: list[str], noise: set[str]) -> str:
    for line in lines[:10]:
        if rules.is_sentence(line) and rules.words(line) > MAX_TITLE_WORDS:
            break
        parts = _BREADCRUMB_SPLIT.split(line)
        if len(parts) >= 3 and rules.words(parts[-1]) >= 3:
            return parts[-1].strip()
    for line in lines[:10]:
        if line in noise or rules.is_boilerplate(line) or rules.is_date_line(line):
            continue
        if rules.is_sentence(line) and rules.words(line) > 15:
            return ""
        if 3 <= rules.words(line) <= MAX_TITLE_WORDS and not _BREADCRUMB_SPLIT.search(line):
            return line
    return ""


def _cut_after_copyright(lines: list[str]) -> list[str]:
    total = sum(len(line) for line in lines) or 1
    seen = 0
    for index, line in enumerate(lines):
        seen += len(line)
        if seen > 0.5 * total and rules.words(line) <= 30 and rules.is_boilerplate(line) \
                and ("©" in line or "copyright" in line.lower() or "rights reserved" in line.lower()):
            return lines[:index]
    return lines
