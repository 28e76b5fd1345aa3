"""Cleaning: a raw page (HTML or flattened text) in, the article out.

Public surface: :class:`Cleaned`, :func:`clean` and :class:`BoilerplateLearner`.
Pure and synchronous; the only state is what a caller-owned learner keeps.

:func:`clean` raises :class:`~stream.errors.BadRecord` and nothing else:

* ``no_content``       nothing article-like is left (empty page, only furniture)
* ``too_deep``         the HTML nests elements deeper than :data:`MAX_DEPTH`
* ``unparseable_html`` the parser gave up on the markup
* ``bad_input``        neither ``html`` nor ``text`` was given
"""

from __future__ import annotations

from dataclasses import dataclass

from stream.clean import html as html_content
from stream.clean import lines as rules
from stream.clean import text as text_content
from stream.clean.boilerplate import BoilerplateLearner
from stream.clean.language import detect_language
from stream.clean.markup import parse
from stream.clean.metadata import read_metadata
from stream.clean.reference import follow_reference
from stream.errors import BadRecord

__all__ = ["BoilerplateLearner", "Cleaned", "clean"]

MAX_CHARS = 4_000_000  # longer inputs are cut: no article is that long


@dataclass(frozen=True, slots=True)
class Cleaned:
    """What the cleaner keeps of one page."""

    title: str
    text: str  # paragraphs separated by a blank line
    published_at: str | None = None  # ISO 8601 date or datetime, from the page
    lang: str | None = None  # ISO 639-1
    canonical_url: str | None = None  # <link rel=canonical>, when it names another URL
    attribution: str | None = None  # site named by an "originally appeared on" line


def clean(
    url: str,
    *,
    html: str | None = None,
    text: str | None = None,
    learner: BoilerplateLearner | None = None,
) -> Cleaned:
    """Return the article of one page; raise :class:`BadRecord` when nothing is left.

    ``html`` wins over ``text`` when both are given, unless it is blank. A ``learner``
    (optional) drops the lines it learned are boilerplate on ``url``'s domain, then
    learns from this page.
    """
    use_html = html is not None and (text is None or not isinstance(html, str)
                                     or (html != "" and not html.isspace()))
    if not use_html and text is None:
        raise BadRecord("bad_input", "neither html nor text was given")
    try:
        if use_html:
            return _clean_html(url, _sane(html, nul=False), learner)
        return _clean_text(url, _sane(text), learner)
    except BadRecord:
        raise
    except RecursionError as exc:
        raise BadRecord("too_deep", "the page nests too deeply to read") from exc
    except Exception as exc:  # the edge: whatever a library or odd input throws is this record's fault
        reason = "unparseable_html" if use_html else "bad_input"
        raise BadRecord(reason, f"{type(exc).__name__}: {exc}"[:200]) from exc


def _clean_html(url: str, html: str, learner: BoilerplateLearner | None) -> Cleaned:
    tree = parse(html)
    meta = read_metadata(url, tree, html_content.strip_unseen(tree))
    title = meta.title
    blocks, kinds = html_content.main_blocks(tree)
    blocks = follow_reference(blocks, meta.article_body)
    body = rules.clean_lines([b for b in blocks if b != title], kinds, repeats=False)
    if not _has_article(body):  # the chosen container held nothing: the page as a whole
        tree = parse(html)
        html_content.strip_unseen(tree)
        blocks, kinds = html_content.main_blocks(tree, whole_page=True)
        body = rules.clean_lines([b for b in blocks if b != title], kinds, repeats=False)
    body = _learned(url, body, learner)
    return _finish(title, body, meta.published_at, meta.lang, meta.canonical_url)


def _clean_text(url: str, text: str, learner: BoilerplateLearner | None) -> Cleaned:
    lines = text_content.split_lines(text)
    title, body = text_content.title_and_body(lines if learner is None else learner.filter(url, lines))
    if learner is not None:
        learner.observe(url, lines)  # all of the page's lines, as split once
    return _finish(title, body, None, None, None)


def _learned(url: str, body: list[str], learner: BoilerplateLearner | None) -> list[str]:
    if learner is None:
        return body
    kept = learner.filter(url, body)
    learner.observe(url, body)
    return kept


def _has_article(body: list[str]) -> bool:
    return any(rules.words(line) >= 3 for line in body)


def _finish(title, body, published_at, lang, canonical_url) -> Cleaned:
    if not _has_article(body):
        raise BadRecord("no_content", "no article text left after cleaning")
    text = "\n\n".join(body)
    return Cleaned(
        title=title,
        text=text,
        published_at=published_at,
        lang=lang or detect_language(text),
        canonical_url=canonical_url,
        attribution=rules.attribution(body),
    )


def _sane(raw: str, *, nul: bool = True) -> str:
    """Cut overlong input; drop NUL bytes from text (the HTML parser replaces them itself)."""
    if not isinstance(raw, str):
        raise TypeError(f"expected str, got {type(raw).__name__}")
    if len(raw) > MAX_CHARS:
        raw = raw[:MAX_CHARS]
    return raw.replace("\x00", "") if nul and "\x00" in raw else raw
