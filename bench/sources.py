"""The syndication benchmark's sources: real article bodies and real page templates.

Two development sets (``../shared/data``):

* **Zyte** (``zyte-article-extraction``): 181 news pages, nearly all English, ``html/<id>.html.gz`` and
  the gold ``articleBody`` (one paragraph a line) in ``ground-truth.json``.
* **Readability** (``readability-test-pages``): 130 pages of Mozilla Readability's tests,
  many sites and languages (blogs, documentation, how-tos, lists, wikis, Chinese and
  Japanese news), ``source.html.gz`` and the article as Readability extracts it,
  ``expected.html.gz``; its paragraphs are the leaf blocks of that HTML (a list item, a
  table row, a heading, a line of code, a line after ``<br>`` each make a line).

For every page the article region is located once and cut out (:func:`cut_template`); the
rest of the page is that site's *template*. Each article body is a :class:`Story` labelled
with its language and *shape* (see :func:`shape`), for the benchmark's per-kind report.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree
from selectolax.lexbor import LexborHTMLParser

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data
ZYTE = SHARED / "zyte-article-extraction"
READABILITY = SHARED / "readability-test-pages"
MIN_WORDS = 60  # shorter bodies are not stories
SAME_SOURCE = 0.2  # a body sharing this share of its 5-grams with an earlier one is dropped
SHORT_LINE = 8  # words: a line shorter than this is a short line (list item, heading, code)

_PLACE = re.compile(r"@@(BODY|TITLE|HEAD)@@")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]|\w+")
_BLOCKS = frozenset("p li h1 h2 h3 h4 h5 h6 pre blockquote dd dt tr td th figcaption div section "
                    "article ul ol table dl figure header footer aside main nav form details "
                    "summary center tbody thead".split())
_LEAVES = frozenset({"p", "li", "tr", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd"})
_BREAK = "\u2029"  # stands for <br> while the expected HTML is read


@dataclass(frozen=True, slots=True)
class Template:
    host: str
    parts: tuple[str, ...]  # literal, name, literal, name, ... (names: BODY, TITLE, HEAD)
    text_parts: tuple[str, ...]  # the same for the whole-page text scrape


@dataclass(frozen=True, slots=True)
class Story:
    title: str
    paragraphs: tuple[str, ...]
    url: str
    kind: str = ""  # "<set>/<lang>/<shape>", e.g. "readability/zh/paragraphs"


# -- text --------------------------------------------------------------------------------------


def norm(s: str) -> str:
    return _SPACE.sub(" ", s).strip()


def paragraphs_of(body: str) -> list[str]:
    return [p for p in (norm(x) for x in body.split("\n")) if p]


def words(text: str) -> list[str]:
    """Words for labelling: ``\\w+`` runs, each CJK or Thai character a word."""
    return _WORD.findall(text.lower())


def shape(paragraphs: tuple[str, ...] | list[str]) -> str:
    """``short`` (under 150 words), ``short-lines`` (at least a quarter of the words in lines
    under 8 words: lists, recipes, tables, code), ``long`` (over 3,000 words) or ``paragraphs``."""
    counts = [len(words(p)) for p in paragraphs]
    total = sum(counts) or 1
    if total < 150:
        return "short"
    if sum(c for c in counts if c < SHORT_LINE) >= 0.25 * total:
        return "short-lines"
    return "long" if total > 3000 else "paragraphs"


def language(meta: dict, text: str) -> str:
    lang = str(meta.get("lang") or "").split("-")[0].lower()
    if len(lang) == 2:
        return lang
    from stream.clean.language import detect_language

    return detect_language(text) or "xx"


def shingles(paragraphs: tuple[str, ...] | list[str]) -> set[int]:
    ws = words(" ".join(paragraphs))
    return {hash(tuple(ws[i : i + 5])) for i in range(max(1, len(ws) - 4))}


# -- templates ---------------------------------------------------------------------------------


def _title(tree: LexborHTMLParser, paragraphs: list[str]) -> str:
    for sel in ("h1", "title"):
        node = tree.css_first(sel)
        if node is not None and 10 <= len(node.text(strip=True)) <= 200:
            return norm(node.text()).split(" | ")[0]
    return " ".join(paragraphs[0].split()[:10])


def cut_template(html: str, body: str, url: str) -> tuple[Template, str] | None:
    """Cut the article-body region out of one real page; None if it cannot be located.

    The region is the deepest element holding 70 % of the text (by length) of the page's
    text nodes that occur in ``body``; remnants of the story outside it, date metadata,
    ``rel=canonical`` and JSON-LD are removed; title, body and head get placeholders."""
    tree = LexborHTMLParser(html)
    if tree.body is None:
        return None
    nbody = norm(body)
    title = _title(tree, paragraphs_of(body))
    hits: list = []
    for node in tree.body.traverse(include_text=True):
        if node.is_text_node:
            t = norm(node.text(deep=False))
            if len(t) >= 25 and t in nbody:
                hits.append(node)
    total = sum(len(norm(n.text(deep=False))) for n in hits)
    if total < 0.3 * len(nbody):
        return None
    weight: dict[int, int] = {}
    depth: dict[int, int] = {}
    nodes: dict[int, object] = {}
    for hit in hits:
        n, chain = hit.parent, []
        while n is not None and n.tag not in ("html", "-undef"):
            chain.append(n)
            n = n.parent
        for d, a in enumerate(reversed(chain)):
            weight[a.mem_id] = weight.get(a.mem_id, 0) + len(norm(hit.text(deep=False)))
            depth[a.mem_id] = d
            nodes[a.mem_id] = a
    best = max((m for m in weight if weight[m] >= 0.7 * total), key=lambda m: depth[m])
    region = nodes[best]
    if region.tag in ("body", "p"):
        return None
    for hit in hits:  # remnants of the original story outside the region (standfirst...)
        n = hit.parent
        while n is not None and n.mem_id != best:
            n = n.parent
        if n is None:
            hit.decompose()
    for sel in ('script[type="application/ld+json"]', "time", 'link[rel="canonical"]',
                "meta[property], meta[name], meta[itemprop]"):
        for node in tree.css(sel):
            if sel.startswith("meta"):
                key = " ".join(str(node.attributes.get(a) or "") for a in ("property", "name", "itemprop"))
                if not re.search(r"date|time|title|description|url|published|modified", key, re.I):
                    continue
            node.decompose()
    region.inner_html = "@@BODY@@"
    h1s = [n for n in tree.css("h1")]
    for n in h1s:
        n.inner_html = "@@TITLE@@"
    if not h1s:
        region.inner_html = "<h1>@@TITLE@@</h1>@@BODY@@"
    t = tree.css_first("title")
    if t is not None:
        t.inner_html = "@@TITLE@@"
    page = tree.html or ""
    if "</head>" in page:
        page = page.replace("</head>", "@@HEAD@@</head>", 1)
    else:
        page = "@@HEAD@@" + page
    flat = extract_plain_text(HTMLTree.parse(page), main_content=False, alt_texts=False, links=False)
    if "@@BODY@@" not in flat:
        return None
    return Template(urlsplit(url).netloc, tuple(_PLACE.split(page)), tuple(_PLACE.split(flat))), title


# -- the two sets ------------------------------------------------------------------------------


def _gunzip(path: Path) -> str:
    return gzip.open(path, "rt", encoding="utf-8", errors="replace").read()


@lru_cache(maxsize=4)
def load_zyte(data: Path = ZYTE) -> tuple[list[Template], list[Story]]:
    """Templates and stories of the Zyte set, in a stable order (cached per process)."""
    truth = json.loads((data / "ground-truth.json").read_text())
    templates, stories = [], []
    for key in sorted(truth):
        body, url = truth[key]["articleBody"], truth[key]["url"]
        paragraphs = paragraphs_of(body)
        cut = cut_template(_gunzip(data / "html" / f"{key}.html.gz"), body, url)
        if cut is not None:
            templates.append(cut[0])
        title = cut[1] if cut else " ".join(paragraphs[0].split()[:10])
        if sum(len(p.split()) for p in paragraphs) >= MIN_WORDS:
            kind = f"zyte/{language({}, ' '.join(paragraphs))}/{shape(paragraphs)}"
            stories.append(Story(title, tuple(paragraphs), url, kind))
    return templates, stories


def expected_paragraphs(html: str) -> list[str]:
    """The lines of an extracted article: the text of each leaf block, in order."""
    tree = LexborHTMLParser(re.sub(r"<br\s*/?>", _BREAK, html, flags=re.I))
    out: list[str] = []

    def walk(node) -> None:
        if node.tag == "pre":
            out.extend(line for line in (norm(x) for x in node.text().split("\n")) if line)
            return
        inner = node.tag in _BLOCKS and any(d.tag in _BLOCKS for d in node.traverse() if d is not node)
        if node.tag in _LEAVES or (node.tag in _BLOCKS and not inner):
            sep = " " if node.tag == "tr" else ""
            out.extend(line for line in (norm(x) for x in node.text(separator=sep).split(_BREAK)) if line)
            return
        for child in node.iter():
            walk(child)

    if tree.body is not None:
        walk(tree.body)
    return out


def _page_url(tree: LexborHTMLParser, name: str) -> str:
    for sel, attr in (('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")):
        node = tree.css_first(sel)
        if node is not None and str(node.attributes.get(attr) or "").startswith("http"):
            return str(node.attributes[attr])
    site = re.sub(r"-\d+$", "", name)  # ehow-1, ehow-2: one site
    return f"https://{site}.example/{name}"


@lru_cache(maxsize=4)
def load_readability(data: Path = READABILITY) -> tuple[list[Template], list[Story]]:
    """Templates and stories of the Readability set, in a stable order (cached per process)."""
    templates, stories = [], []
    for page in sorted(p for p in data.iterdir() if (p / "expected.html.gz").exists()):
        source = _gunzip(page / "source.html.gz")
        meta_path = page / "expected-metadata.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        paragraphs = expected_paragraphs(_gunzip(page / "expected.html.gz"))
        if not paragraphs:
            continue
        url = _page_url(LexborHTMLParser(source), page.name)
        cut = cut_template(source, "\n".join(paragraphs), url)
        if cut is not None:
            templates.append(cut[0])
        title = norm(str(meta.get("title") or "")) or (cut[1] if cut else " ".join(paragraphs[0].split()[:10]))
        if len(words(" ".join(paragraphs))) >= MIN_WORDS:
            kind = f"readability/{language(meta, ' '.join(paragraphs))}/{shape(paragraphs)}"
            stories.append(Story(title, tuple(paragraphs), url, kind))
    return templates, stories


def distinct(stories: list[Story]) -> list[Story]:
    """``stories`` without those that repeat an earlier one (the same article saved twice,
    the same filler text in several test pages): at most ``SAME_SOURCE`` of a story's
    5-grams may occur in any one earlier story. A story that repeats itself (half of its
    5-grams or more are repeats: a test page's filler paragraph three times) is dropped too."""
    kept: list[tuple[Story, set[int]]] = []
    for st in stories:
        sh = shingles(st.paragraphs)
        repeats_itself = len(sh) <= 0.5 * len(words(" ".join(st.paragraphs)))
        if not repeats_itself and all(len(sh & other) < SAME_SOURCE * min(len(sh), len(other)) for _, other in kept):
            kept.append((st, sh))
    return [st for st, _ in kept]


@lru_cache(maxsize=2)
def load_broad() -> tuple[list[Template], list[Story]]:
    """Both sets: all templates, and the distinct stories (Zyte first, then Readability)."""
    zt, zs = load_zyte(ZYTE)
    rt, rs = load_readability(READABILITY)
    return zt + rt, distinct(zs + rs)
