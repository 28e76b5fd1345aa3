"""Syndication benchmark generator: real article bodies transplanted into real page templates.

Sources (:mod:`bench.sources`): ``corpus="zyte"``, the first benchmark, takes its stories and
templates from the Zyte article-extraction set and gives the same pages as it always did;
``corpus="broad"`` takes them from the Zyte set and Mozilla Readability's test pages (other
languages and scripts, blogs, documentation, lists, short posts), and the stories beyond
the sources alternate between remixed prose and remixed recipe-shaped pages. A *story* is
one article body; its *copies* are the story's paragraphs rendered into other sites'
templates with the edits syndication produces:

* own template; new headline or headline prefix/suffix; abridged + "Read more" link;
  an attribution line ("This article originally appeared on ..."); ad lines between
  paragraphs; typography (quotes, dashes, whitespace); light copy edits; paragraph
  re-splits; and a flattened text scrape of the *whole* page instead of HTML.

Negatives: every template carries many different stories (same boilerplate, different
story), and *follow-ups* reuse an earlier story's first paragraph over new text (taken from
a reserved pool of bodies that are never stories themselves).

Usage::

    python -m bench.syndication --corpus broad --stories 300 --copies 6 --seed 1 --detail > pages.jsonl

Each line is a raw page ``{"url", "html"|"text", "published_at"?}`` plus gold fields
``_story`` (cluster label), ``_original`` (true for the story's original) and ``_seq``; with
``--detail`` also ``_kind`` (the story's ``<set>/<language>/<shape>``) and ``_edits`` (what the
page went through). :func:`generate` yields the same records lazily (pages are rendered on
the fly, so 20,000+ pages stream in constant memory).
"""

from __future__ import annotations

import argparse
import html as htmllib
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bench.sources import (
    SHORT_LINE,
    ZYTE,
    Story,
    Template,
    load_broad,
    load_zyte,
    words,
)

DATA = ZYTE
CORPORA = ("zyte", "broad")  # zyte: the first benchmark, unchanged; broad: both sets
_SPACE = re.compile(r"\s+")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")  # the first benchmark's sentence split
# the broad benchmark's: also before other capitals, and after a full-width stop (no space follows)
_SENT_ANY = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"À-ÖØ-ÞА-ЯЁΑ-Ω])|(?<=[。！？])(?=[^」』）\s])")
EPOCH = datetime(2022, 2, 1, tzinfo=UTC)

AD_LINES = [
    "ADVERTISEMENT",
    "Advertisement",
    "Story continues below advertisement",
    "Kwork.ru - услуги фрилансеров от 500 руб.",
    "SPONSORED CONTENT",
    "Subscribe to our newsletter for the latest updates",
    "Click here to download our app",
]
PREFIXES = ["EXCLUSIVE: ", "WATCH: ", "Opinion | ", "UPDATE: ", "BREAKING: ", "Analysis: "]
EDITS = [  # light copy edits: (pattern, replacement)
    (r"\bsaid\b", "says"), (r"\bsays\b", "said"), (r"\bpercent\b", "%"), (r"\bU\.S\.", "US"),
    (r"\bMr\. ", ""), (r"\bhowever\b", "but"), (r"\balso\b", ""), (r"\bthat\b", "which"),
    (r"\bon Monday\b", "Monday"), (r"\bapproximately\b", "about"), (r"\bwill\b", "would"),
]


def load(data: Path = DATA) -> tuple[list[Template], list[Story]]:
    """Templates and stories of the Zyte set, in a stable order (cached per process)."""
    return load_zyte(Path(data).resolve())


# -- rendering ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    """The plan of one page, rendered lazily."""

    seq: int
    story: str
    original: bool
    url: str
    template: int
    title: str
    blocks: list[tuple[str, str]]  # (kind, text): kind p|ad|attr|more
    published: datetime | None
    date_only: bool
    canonical: str | None
    flat: bool
    arrival: float
    kind: str = ""  # the story's "<set>/<lang>/<shape>"
    edits: list[str] = field(default_factory=list)  # what this page went through (gold detail)


def _render(page: Page, tpl: Template, detail: bool = False) -> dict:
    pub = None
    if page.published is not None:
        pub = page.published.date().isoformat() if page.date_only else page.published.isoformat()
    if page.flat:
        body = "\n\n".join(text for _, text in page.blocks)
        fill = {"BODY": "\n\n" + body + "\n\n", "TITLE": page.title, "HEAD": ""}
        text = "".join(fill[p] if i % 2 else p for i, p in enumerate(tpl.text_parts))
        rec = {"url": page.url, "text": text}
    else:
        esc = htmllib.escape
        html_blocks = []
        for kind, text in page.blocks:
            if kind == "ad":
                html_blocks.append(f'<div class="ad-slot"><span>{esc(text)}</span></div>')
            elif kind == "more":
                html_blocks.append(f'<p><a href="{esc(text.split(" at ")[-1])}">{esc(text)}</a></p>')
            elif kind == "attr":
                html_blocks.append(f"<p><em>{esc(text)}</em></p>")
            else:
                html_blocks.append(f"<p>{esc(text)}</p>")
        head = []
        if pub:
            head.append(f'<meta property="article:published_time" content="{pub}">')
        head.append(f'<link rel="canonical" href="{esc(page.canonical or page.url)}">')
        fill = {"BODY": "\n".join(html_blocks), "TITLE": esc(page.title), "HEAD": "".join(head)}
        rec = {"url": page.url, "html": "".join(fill[p] if i % 2 else p for i, p in enumerate(tpl.parts))}
    if pub is not None:
        rec["published_at"] = pub
    rec.update({"_story": page.story, "_original": page.original, "_seq": page.seq})
    if detail:
        rec.update({"_kind": page.kind, "_edits": page.edits})
    return rec


# -- edits -------------------------------------------------------------------------------------


def _typography(text: str, rng: random.Random) -> str:
    mode = rng.randrange(3)
    if mode == 0:  # straighten
        text = text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "—": "--", "–": "-"}))
    elif mode == 1:  # curl
        text = re.sub(r'"(\w)', "“\\1", text).replace('"', "”").replace("'", "’").replace(" - ", " — ")
    else:  # whitespace
        text = text.replace(". ", ".  ").replace(", ", ",\u00a0")
    return text


def _copy_edit(paragraphs: list[str], rng: random.Random, sent: re.Pattern = _SENT) -> list[str]:
    out = list(paragraphs)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(out))
        pat, rep = rng.choice(EDITS)
        out[i] = _SPACE.sub(" ", re.sub(pat, rep, out[i], count=1)).strip()
    if rng.random() < 0.4 and len(out) > 3:  # drop one sentence
        i = rng.randrange(len(out))
        sents = sent.split(out[i])
        if len(sents) > 1:
            del sents[rng.randrange(len(sents))]
            out[i] = " ".join(sents)
    return [p for p in out if p]


def _resplit(paragraphs: list[str], rng: random.Random, sent: re.Pattern = _SENT) -> list[str]:
    out: list[str] = []
    for p in paragraphs:
        if out and rng.random() < 0.2:
            out[-1] = out[-1] + " " + p  # merged paragraphs
        else:
            sents = sent.split(p)
            if len(sents) > 3 and rng.random() < 0.3:
                k = len(sents) // 2
                out += [" ".join(sents[:k]), " ".join(sents[k:])]
            else:
                out.append(p)
    return out


def _slug(title: str, n: int) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())[:8] or ["story"]
    return "-".join(words) + f"-{n}"


# -- the plan ----------------------------------------------------------------------------------


def _remix(pool: list[str], rng: random.Random, n: int) -> list[str]:
    """Paragraphs of real sentences drawn from the whole corpus (for stories beyond it)."""
    sents = [rng.choice(pool) for _ in range(n)]
    return [" ".join(sents[i : i + 3]) for i in range(0, n, 3)]


def _remix_list(sentences: list[str], items: list[str], rng: random.Random) -> list[str]:
    """A page shaped like a recipe or a how-to, of real lines drawn from the whole corpus: an
    introduction (2-3 sentences), 8-30 short lines (list items, table rows, headings, code),
    then 0-4 steps of one or two sentences each."""
    intro = " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 3)))
    listed = [rng.choice(items) for _ in range(rng.randint(8, 30))]
    steps = [" ".join(rng.choice(sentences) for _ in range(rng.randint(1, 2))) for _ in range(rng.randint(0, 4))]
    return [intro, *listed, *steps]


def corpus_of(corpus: str, data: Path = DATA) -> tuple[list[Template], list[Story]]:
    if corpus not in CORPORA:
        raise ValueError(f"corpus must be one of {CORPORA}, not {corpus!r}")
    return load(data) if corpus == "zyte" else load_broad()


def plan(stories: int = 200, copies: float = 6.0, seed: int = 1, flat_share: float = 0.25,
         followups: float = 0.1, data: Path = DATA, corpus: str = "zyte") -> list[Page]:
    """The page plans of one benchmark, in arrival order.

    ``corpus="zyte"`` is the first benchmark, page for page; ``"broad"`` draws stories and
    templates from both sets, and the stories beyond them alternate between remixed prose
    and remixed recipe-shaped pages."""
    templates, sources = corpus_of(corpus, data)
    broad = corpus == "broad"
    rng = random.Random(seed)
    order = list(range(len(sources)))
    rng.shuffle(order)
    n_reserve = max(4, len(sources) // 8)
    reserve = [p for i in order[:n_reserve] for p in sources[i].paragraphs]  # follow-up text only
    real = [sources[i] for i in order[n_reserve:]]
    sent = _SENT_ANY if broad else _SENT
    if broad:  # no "sentence" that is a whole short story (a story with no space after its stops)
        sentences = [s for st in real if not st.kind.endswith("/short") for p in st.paragraphs
                     for s in sent.split(p) if 6 <= len(s.split()) <= 50]
    else:
        sentences = [s for st in real for p in st.paragraphs for s in sent.split(p) if len(s.split()) >= 6]
    items = [p for st in real for p in st.paragraphs if 2 <= len(words(p)) < SHORT_LINE] if broad else []
    pages: list[Page] = []
    seq = 0

    def page_of(sid: str, st: Story, orig: bool, t0: datetime, tpl: int | None, kind: str) -> Page:
        nonlocal seq
        seq += 1
        tpl = rng.randrange(len(templates)) if tpl is None else tpl
        host = templates[tpl].host
        url = f"https://{host}/{'news' if orig else 'syndicated'}/{_slug(st.title, seq)}"
        paras = list(st.paragraphs)
        title = st.title
        blocks: list[tuple[str, str]] = []
        edits = ["original"] if orig else []
        published, date_only, canonical, flat = t0, False, None, False
        if not orig:
            published = t0 + timedelta(hours=rng.uniform(0.5, 72))
            if rng.random() < 0.5:
                prefix = rng.random() < 0.6
                title = rng.choice(PREFIXES) + title if prefix else " ".join(
                    rng.choice(paras).split()[:rng.randint(6, 12)]).rstrip(".,")
                edits.append("title-prefix" if prefix else "retitled")
            if rng.random() < 0.4:
                paras = _copy_edit(paras, rng, sent)
                edits.append("copy-edit")
            if rng.random() < 0.3:
                paras = _resplit(paras, rng, sent)
                edits.append("resplit")
            if rng.random() < 0.5:
                paras = [_typography(p, rng) for p in paras]
                edits.append("typography")
            if kind == "abridged" and len(paras) >= 4:
                keep = max(2, round(len(paras) * rng.uniform(0.35, 0.65)))
                paras = paras[:keep]
                blocks_tail = [("more", f"Read more at {st.url}")]
                edits.append("abridged")
            else:
                blocks_tail = []
            for i, p in enumerate(paras):
                blocks.append(("p", p))
                if kind != "clean" and rng.random() < 0.25 and i < len(paras) - 1:
                    blocks.append(("ad", rng.choice(AD_LINES)))
            if any(k == "ad" for k, _ in blocks):
                edits.append("ad-lines")
            if rng.random() < 0.35:
                line = f"This article originally appeared on {urlsplit(st.url).netloc}."
                blocks.insert(0 if rng.random() < 0.3 else len(blocks), ("attr", line))
                edits.append("attribution")
            blocks += blocks_tail
            if rng.random() < 0.15:
                canonical = st.url
                edits.append("rel-canonical")
            if rng.random() < 0.15:
                published = None
                edits.append("no-date")
            elif rng.random() < 0.2:
                date_only = True
                edits.append("date-only")
            flat = rng.random() < flat_share
            edits.append("flattened" if flat else "html")
        else:
            blocks = [("p", p) for p in paras]
            url = st.url
        if sid.endswith("f"):
            edits.append("follow-up")
        arrival = (published or t0).timestamp() + rng.uniform(-6, 6) * 3600
        return Page(seq, sid, orig, url, tpl, title, blocks, published, date_only, canonical, flat, arrival,
                    st.kind, edits)

    for s in range(stories):
        if s < len(real):
            st = real[s]
        elif broad and (s - len(real)) % 2:
            paras = _remix_list(sentences, items, rng)
            st = Story(" ".join(paras[0].split()[:9]), tuple(paras), "", "remix/mixed/short-lines")
        else:
            paras = _remix(sentences, rng, rng.randint(8, 30))
            st = Story(" ".join(paras[0].split()[:9]), tuple(paras), f"https://remix.example/{s}",
                       "remix/mixed/paragraphs")
        sid = f"s{s}"
        t0 = EPOCH + timedelta(minutes=20 * s + rng.uniform(0, 20))
        st = Story(st.title, st.paragraphs, f"https://{templates[s % len(templates)].host}/news/{_slug(st.title, s)}",
                   st.kind)
        pages.append(page_of(sid, st, True, t0, s % len(templates), "orig"))
        for _ in range(rng.randint(0, max(0, round(2 * copies)))):
            kind = "abridged" if rng.random() < 0.2 else "copy"
            pages.append(page_of(sid, st, False, t0, None, kind))
        if rng.random() < followups and len(reserve) >= 4:  # a follow-up: same lead, new text
            n_new = rng.randint(3, 6)
            if broad:  # new text of at least 150 words and twice the lead (reserve lines can be short)
                need = max(150, 2 * len(words(st.paragraphs[0])))
                while n_new < len(reserve) and sum(len(words(p)) for p in reserve[:n_new]) < need:
                    n_new += 1
            new, reserve = reserve[:n_new], reserve[n_new:]
            ftpl = rng.randrange(len(templates))
            ftitle = "Follow-up: " + st.title
            furl = f"https://{templates[ftpl].host}/news/{_slug(ftitle, s)}"
            fu = Story(ftitle, (st.paragraphs[0], *new), furl, st.kind)
            fid = f"s{s}f"
            t1 = t0 + timedelta(hours=rng.uniform(2, 48))
            pages.append(page_of(fid, fu, True, t1, ftpl, "orig"))
            for _ in range(rng.randint(0, 2)):
                pages.append(page_of(fid, fu, False, t1, None, "copy"))
    pages.sort(key=lambda p: (p.arrival, p.seq))
    return pages


def generate(stories: int = 200, copies: float = 6.0, seed: int = 1, flat_share: float = 0.25,
             followups: float = 0.1, data: Path = DATA, corpus: str = "zyte",
             detail: bool = False) -> Iterator[dict]:
    """Yield raw page records (with gold ``_story``) in arrival order; deterministic per seed.
    ``detail`` adds the gold ``_kind`` (the story's set, language and shape) and ``_edits``."""
    templates, _ = corpus_of(corpus, data)
    for page in plan(stories, copies, seed, flat_share, followups, data, corpus):
        yield _render(page, templates[page.template], detail)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=int, default=200)
    ap.add_argument("--copies", type=float, default=6.0, help="mean copies per story (uniform 0..2x)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flat-share", type=float, default=0.25)
    ap.add_argument("--followups", type=float, default=0.1, help="share of stories with a follow-up")
    ap.add_argument("--corpus", choices=CORPORA, default="zyte",
                    help="zyte: the first benchmark (the Zyte set's 181 news pages); broad: both sets")
    ap.add_argument("--detail", action="store_true", help="add the gold _kind and _edits fields")
    ap.add_argument("--out", type=Path, help="JSONL output (default stdout)")
    args = ap.parse_args(argv)
    out = args.out.open("w") if args.out else sys.stdout
    for rec in generate(args.stories, args.copies, args.seed, args.flat_share, args.followups,
                        corpus=args.corpus, detail=args.detail):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
