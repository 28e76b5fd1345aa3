"""Line-level rules shared by HTML and text pages: what a boilerplate line looks like.

A *line* is one paragraph candidate (a block of the page, or a line of a flattened text).
The rules are generic, never per site: short lines made of UI words (share, subscribe,
advertisement, read more...), copyright and cookie notices, breadcrumbs, bylines and dates
at the edges of the article, a short line repeated on the same page (ads, captions), and
the markers after which only teasers and comment forms follow ("Check Also", "Leave a
Reply"...).
"""

from __future__ import annotations

import re
from collections import Counter

SHORT_WORDS = 12
_DECORATION = " \t|•·*-–—:>»›▶►✓.…!"  # a line of at most this many words may be boilerplate by its words

_UI = re.compile(
    r"^(?:advertisements?|advert|ad|sponsored(?: content)?|promoted|anzeige|publicidad|"
    r"publicité|pubblicità|реклама|read more|read also|see also|more|show more|load more|"
    r"continue reading.*|.*\bclick(?:ing)? here\b.*|tap here.*|see more:.*|read more:.*|"
    r"this (?:slideshow|video|content) requires javascript.*|tell us what you think.*|"
    r"share(?: this)?(?: article| story| post| on \w+)?|"
    r"share via.*|tweet|email|print|copy link|copied|comments?|\d+ comments?|"
    r"leave a (?:reply|comment)|post a comment|add a comment|view comments|show comments|"
    r"related(?: articles| stories| posts| news| content| topics)?|recommended(?: for you)?|"
    r"trending(?: now)?|most (?:read|popular|viewed)|popular(?: posts)?|latest(?: news| posts)?|"
    r"you (?:may|might) also like|also read|don't miss|must read|more (?:from|in|on) .{0,60}|"
    r"also on .{0,60}|follow us.*|like us on .*|sign (?:up|in)(?: for .*)?|log ?in|register|"
    r"subscribe.*|newsletter|get (?:the|our) .{0,40}newsletter.*|"
    r"(?:photo|image|picture|foto|video|source|credit|credits|caption|getty images|reuters|ap|afp)"
    r"(?: ?: .{0,80})?|image \d+ of \d+|\d+ of \d+|close|menu|search|home|skip to .*|"
    r"back to top|top|next|previous|prev|next article|previous article|loading.*|"
    r"(?:this|our) (?:web)?site uses cookies.*|accept(?: all)?(?: cookies)?|"
    r"we use cookies.*|privacy policy|terms of (?:use|service)|contact us|about us|"
    r"impressum|datenschutz.*|mehr zum thema.*|weiterlesen|lesen sie auch.*|"
    r"tags?:.*|topics?:.*|filed under:?.*|categories?:?.*|posted in .*|"
    r"(?:by|von|por|par|di)\s+[\w.' -]{2,60}|written by .*|published:?.*|updated:?.*|"
    r"last (?:updated|modified).*|all rights reserved.*|.*©.*|copyright .*|\(c\) \d{4}.*)$",
    re.IGNORECASE,
)
_FORM = (
    "email address will not be published", "required fields are marked",
    "save my name, email", "notify me of new", "notify me of follow-up",
    "must be logged in to post",
)
_COPYRIGHT = ("©", "copyright", "all rights reserved", "alle rechte vorbehalten",
              "todos los derechos reservados", "tous droits réservés")
_END_MARKERS = re.compile(
    r"^(?:check also|related(?: articles| stories| posts| news)?|read (?:also|more|next)|"
    r"see also|you (?:may|might) also like|more (?:stories|news|articles)(?: from .*)?|"
    r"recommended(?: for you)?|leave a (?:reply|comment)|comments?|\d+ comments?|"
    r"post a comment|about the author|share this(?: article| story)?|tags?:?|"
    r"(?:также|читайте также|смотрите также)|lesen sie auch|mehr zum thema|"
    r"à lire aussi|lire aussi|leggi anche|lee también|veja também)\s*:?$",
    re.IGNORECASE,
)
_DATE_LINE = re.compile(
    r"^[\W\d_]*(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}|"
    r"\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*,? \d{4})[\w\W]{0,40}$",
    re.IGNORECASE,
)
_BREADCRUMB = re.compile(r"^[^/>»›]{1,40}(?:\s(?:/|>|»|›|→)\s[^/>»›]{1,120}){2,8}$")
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_FIELDS = re.compile(r"\s(?:-|\||·|•)\s")
_SENTENCE_END = tuple(".!?…\"'”’»)]:;。！？")
_ATTRIBUTION = re.compile(
    r"\b(?:originally|first)\s+(?:appeared|published|posted|ran)\s+(?:on|in|at|by)\s+"
    r"(?:the\s+website\s+(?:of\s+)?)?(.{2,80}?)(?:\s+(?:on|and|under|as|with)\s+|[,;(]|\.(?:\s|$)|$)",
    re.IGNORECASE,
)


def words(line: str) -> int:
    """Number of words of a line; for scripts written without spaces, about chars / 3."""
    count = len(line.split())
    return count if len(line) < 12 * count else max(count, len(line) // 3)


def is_sentence(line: str) -> bool:
    """A line that reads like prose: several words and a terminal punctuation mark."""
    return words(line) >= 5 and line.rstrip().endswith(_SENTENCE_END)


def is_boilerplate(line: str, count: int | None = None) -> bool:
    """A line that is boilerplate by its own words, wherever it appears."""
    count = words(line) if count is None else count
    if count <= 30:
        low = line.lower()
        if any(mark in low for mark in _FORM) or any(mark in low for mark in _COPYRIGHT) \
                and "ã©" not in low:  # UTF-8 "é" read as Latin-1 is "Ã©", not a copyright
            return True
    if count > SHORT_WORDS:
        return False
    return bool(_UI.match(line.strip(_DECORATION)) or _BREADCRUMB.match(line) and not is_sentence(line))


def is_end_marker(line: str) -> bool:
    """A heading after which an article page only has teasers, comments or footer."""
    return bool(_END_MARKERS.match(line.strip(_DECORATION)))


def is_date_line(line: str) -> bool:
    """A short line that is mostly a date or a time (sidebar and byline dates)."""
    return words(line) <= 8 and bool(_DATE_LINE.match(line))


def repeated(lines: list[str]) -> set[str]:
    """Short, non-sentence lines that occur more than once on the page (ads, captions)."""
    counts = Counter(lines)
    return {line for line, n in counts.items()
            if n > 1 and (words(line) <= SHORT_WORDS or not is_sentence(line))}


def trim_edges(lines: list[str]) -> list[str]:
    """Drop bylines, datelines and other non-prose lines before the first and after the last paragraph."""
    start, end = 0, len(lines)
    while start < end and _edge_noise(lines[start]):
        start += 1
    while end > start and _edge_noise(lines[end - 1]):
        end -= 1
    return lines[start:end]


def _edge_noise(line: str) -> bool:
    """Bylines, datelines, "Posted by X - Category: Y - Tags: Z" and address lines."""
    if line.endswith(_SENTENCE_END) and not is_date_line(line):
        return False
    count = words(line)
    return (is_date_line(line) or count <= 4 or count <= 12 and bool(_YEAR.search(line))
            or count <= 40 and len(_FIELDS.findall(line)) >= 3)


def attribution(lines: list[str]) -> str | None:
    """The publication named by an "originally appeared on ..." line, if any."""
    for line in lines:
        if "riginally" not in line and "irst" not in line:
            continue
        if words(line) <= 60 and (match := _ATTRIBUTION.search(line)):
            name = match.group(1).strip(" .\"'“”‘’*_").removeprefix("the ")
            if name:
                return name
    return None


def clean_lines(lines: list[str]) -> list[str]:
    """Apply the page-level line rules: boilerplate, repeats, end markers, edges."""
    noise = repeated(lines)
    kept: list[str] = []
    total = sum(len(line) for line in lines) or 1
    seen = 0
    for line in lines:
        seen += len(line)
        count = words(line)
        if count <= 8 and seen > 0.5 * total and is_end_marker(line) and _has_prose(kept):
            break
        if line in noise or is_boilerplate(line, count):
            continue
        kept.append(line)
    return trim_edges(kept)


def _has_prose(lines: list[str]) -> bool:
    return sum(1 for line in lines if is_sentence(line)) >= 2
