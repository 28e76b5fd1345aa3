"""The two development sets of the cleaner and their metrics (one place for both).

* **zyte**: 181 English news pages, gold ``articleBody`` (scrapinghub's
  article-extraction-benchmark). Metric: word 4-gram shingles, precision and recall
  averaged over pages, F1 of the two averages (:func:`shingle_scores`).
* **readability**: Mozilla Readability's 130 test pages, many sites and languages.
  Gold: the text of ``expected.html.gz``. Metric: word precision, recall and F1 per
  page (bags of ``\\w+`` tokens), each averaged over pages (:func:`word_scores`).
  Title, language and date are checked against ``expected-metadata.json``.

Both sets live in ``../shared/data`` beside the worktree.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = {"zyte": SHARED / "zyte-article-extraction", "readability": SHARED / "readability-test-pages"}
READABILITY_URL = "http://fakehost/test/page.html"  # the URL Readability's own tests give every page
SHINGLE = 4
_TOKEN = re.compile(r"\w+")

Scores = tuple[float | None, float | None, float | None]  # precision, recall, F1 of one page


@dataclass(frozen=True, slots=True)
class Page:
    key: str
    url: str
    html: str
    gold: str  # the expected article text
    meta: dict = field(default_factory=dict)  # expected title / lang / publishedTime, when known


# -- loading ---------------------------------------------------------------------------------

def load(name: str, data: Path | None = None) -> list[Page]:
    """The pages of set ``name`` (``zyte`` or ``readability``)."""
    data = data or DATA[name]
    return _zyte(data) if name == "zyte" else _readability(data)


def _gunzip(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8", "replace")


def _zyte(data: Path) -> list[Page]:
    gold = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    return [Page(key, item["url"], _gunzip(data / "html" / f"{key}.html.gz"), item["articleBody"])
            for key, item in gold.items()]


def _readability(data: Path) -> list[Page]:
    pages = []
    for folder in sorted(p for p in data.iterdir() if (p / "source.html.gz").exists()):
        meta_file = folder / "expected-metadata.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        gold = html_text(_gunzip(folder / "expected.html.gz"))
        pages.append(Page(folder.name, READABILITY_URL, _gunzip(folder / "source.html.gz"), gold, meta))
    return pages


_BLOCK_TAG = re.compile(
    r"<(/?)(p|div|section|article|h[1-6]|li|dt|dd|tr|td|th|table|ul|ol|dl|pre|blockquote|"
    r"figure|figcaption|br|hr|header|footer|aside|nav|main|details|summary)\b", re.IGNORECASE)


def html_text(html: str) -> str:
    """All the text of an HTML fragment (captions included), a line break at each block.

    Inline elements join without a space, as a browser shows them (``<b>W</b>ord``,
    CJK runs). resiliparse's renderer is not used: it drops ``<figure>`` and its caption,
    which Readability keeps.
    """
    root = LexborHTMLParser(_BLOCK_TAG.sub(r"\n<\1\2", html)).body
    return "" if root is None else "\n".join(line for raw in root.text().splitlines() if (line := " ".join(raw.split())))


# -- metrics ---------------------------------------------------------------------------------

def shingle_scores(gold: str, predicted: str, n: int = SHINGLE) -> Scores:
    """Precision and recall of one page on word ``n``-gram shingles (multiset counts).

    As in scrapinghub/article-extraction-benchmark: tokens are ``\\w+`` runs; a text
    shorter than ``n`` tokens is one shingle; precision is None when nothing was
    predicted and nothing was expected (skipped in the average), likewise recall.
    """
    return _scores(_shingles(gold, n), _shingles(predicted, n))


def word_scores(gold: str, predicted: str) -> Scores:
    """Precision, recall and F1 of one page on bags of ``\\w+`` words (case-folded).

    An empty output on a page that has an article scores 0 on all three: a page given
    up on is a miss, not a page left out of the precision average.
    """
    truth, pred = _words(gold), _words(predicted)
    if truth and not pred:
        return 0.0, 0.0, 0.0
    return _scores(truth, pred)


def _scores(truth: Counter, pred: Counter) -> Scores:
    tp = sum((truth & pred).values())
    fp = sum((pred - truth).values())
    fn = sum((truth - pred).values())
    if fp == fn == 0:
        same = 1.0 if tp else None
        return same, same, same
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn)
    return precision, recall, f1


def summary(name: str, scores: Iterable[Scores]) -> tuple[float, float, float]:
    """The set's figures: mean precision, mean recall, and F1.

    Zyte's F1 is that of the two means (the benchmark's own); Readability's is the
    mean of the per-page F1 (the issue's, "mean per-page word F1").
    """
    triples = list(scores)
    precision = _mean(p for p, _, _ in triples)
    recall = _mean(r for _, r, _ in triples)
    if name == "zyte":
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    else:
        f1 = _mean(f for _, _, f in triples)
    return precision, recall, f1


def score(name: str, gold: str, predicted: str) -> Scores:
    return shingle_scores(gold, predicted) if name == "zyte" else word_scores(gold, predicted)


def _mean(values: Iterable[float | None]) -> float:
    return statistics.fmean([v for v in values if v is not None] or [0.0])


def _shingles(text: str, n: int) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i: i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens)


def _words(text: str) -> Counter:
    return Counter(_TOKEN.findall((text or "").lower()))


# -- metadata --------------------------------------------------------------------------------

def metadata_checks(page: Page, title: str, lang: str | None, published_at: str | None) -> dict[str, bool]:
    """Which of title / lang / date match the expected metadata (only those it gives)."""
    meta, checks = page.meta, {}
    if meta.get("title"):
        ours, expected = _flat(title), _flat(meta["title"])
        checks["title"] = ours == expected
        # the same up to a site name one of them adds ("How to ... | eHow"): Readability keeps it
        checks["title, site aside"] = bool(ours) and (expected.startswith(ours) or expected.endswith(ours)
                                                      or ours.startswith(expected) or ours.endswith(expected))
    if meta.get("lang"):
        checks["lang"] = (lang or "") == meta["lang"][:2].lower()
    if meta.get("publishedTime"):
        checks["date"] = (published_at or "")[:10] == meta["publishedTime"][:10]
    return checks


def _flat(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))
