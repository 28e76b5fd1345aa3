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
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
MAX_TITLE_WORDS = 25
WRAP_WIDTH = 50  # characters: shorter lines are not a wrapped paragraph's


def split_lines(text: str) -> list[str]:
    """The blocks of a text, one per line, with white space collapsed.

    A hard-wrapped paragraph (long lines that stop mid-sentence, blank lines between
    paragraphs) is joined back into one line.
    """
    blocks: list[str] = []
    for chunk in _BLANK_LINE.split(text):
        lines = [" ".join(words) for line in chunk.splitlines() if (words := line.split())]
        if len(lines) > 1 and _wrapped(lines):
            blocks.append(" ".join(lines))
        else:
            blocks.extend(lines)
    return blocks


def _wrapped(lines: list[str]) -> bool:
    """Lines of one paragraph broken at a fixed width: long, alike, not ending sentences."""
    head = lines[:-1]
    widths = [len(line) for line in head]
    if min(widths) < WRAP_WIDTH or min(widths) < 0.6 * max(widths):
        return False
    open_ended = sum(1 for line in head if not line.endswith(rules.SENTENCE_END))
    return open_ended >= 0.75 * len(head)


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
            return ""  # the article starts without a headline
        if 3 <= rules.words(line) <= MAX_TITLE_WORDS and not _BREADCRUMB_SPLIT.search(line) \
                and not line.endswith("."):  # headlines rarely end with a full stop; ads do
            return line
    return ""


def _cut_after_copyright(lines: list[str]) -> list[str]:
    total = sum(len(line) for line in lines) or 1
    seen = 0
    for index, line in enumerate(lines):
        seen += len(line)
        if seen > 0.5 * total \
                and ("©" in line or "copyright" in (low := line.lower()) or "rights reserved" in low) \
                and rules.words(line) <= 30 and rules.is_boilerplate(line):  # the costly rules last
            return lines[:index]
    return lines
