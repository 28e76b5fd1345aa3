"""Sample pages for the demo and the tests: one wire story in three copies, unrelated
pages, a different story wrapped in the copy's site template, and bad records.

The flattened copy (``syndicated-copy.txt``) is a real scrape. The original HTML
version and the retitled copy are built here from its paragraphs in other
templates. The unrelated pages are real pages from the Zyte extraction benchmark.
"""

from __future__ import annotations

import gzip
import html
import json
from importlib import resources

import orjson

STORY = "putin-security-council"
_FILES = resources.files(__name__)


def read(name: str) -> str:
    return (_FILES / name).read_text(encoding="utf-8")


def story_paragraphs() -> list[str]:
    """The wire story's paragraphs, cut out of the flattened copy."""
    lines = [line.strip() for line in read("syndicated-copy.txt").splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Russian President Vladimir Putin will speak"))
    end = next(i for i, line in enumerate(lines) if line.endswith("there is always a chance.”"))
    return [line for line in lines[start : end + 1] if not line.startswith("Kwork.ru")]


def _page(title: str, site: str, paragraphs: list[str], extra_head: str = "", between: str = "") -> str:
    body = f"\n{between}\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | {site}</title>
{extra_head}</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/business">Business</a>
</li><li><a href="/sport">Sport</a></li><li><a href="/subscribe">Subscribe</a></li></ul></nav></header>
<main><article><h1>{html.escape(title)}</h1>{body}</article>
<aside><h3>Most read</h3><ul><li><a href="/a">Markets slip as oil rises for a third day</a></li>
<li><a href="/b">Storm warnings issued along the coast</a></li></ul></aside></main>
<footer><p>© 2022 {site}. All rights reserved.</p><a href="/privacy">Privacy</a> <a href="/terms">Terms</a></footer>
</body></html>"""


def _zyte_pages() -> list[dict]:
    urls = json.loads(read("zyte-urls.json"))
    return [
        {"url": meta["url"], "html": gzip.decompress((_FILES / f"{key}.html.gz").read_bytes()).decode("utf-8"),
         "fetched_at": "2022-02-21T12:00:00Z"}
        for key, meta in sorted(urls.items())
    ]


def records() -> list[dict]:
    """The good sample pages, in the order the demo produces them."""
    paras = story_paragraphs()
    original = {
        "url": "https://wire.example/world/putin-to-address-security-council",
        "html": _page("Putin set to address security officials – Kremlin", "Wire Example", paras,
                      '<meta property="article:published_time" content="2022-02-21T10:05:00Z">'),
        "published_at": "2022-02-21T10:05:00Z",
        "fetched_at": "2022-02-21T10:10:00Z",
        "feed": "wire",
    }
    flattened = {
        "url": "https://paradox.example/world/putin-set-to-address-security-officials-kremlin/",
        "text": read("syndicated-copy.txt"),
        "fetched_at": "2022-02-21T11:30:00Z",
    }
    retitled = {
        "url": "https://dailyglobe.example/news/2022/02/21/kremlin-putin-security-council-meeting",
        "html": _page("Kremlin says Putin will address Security Council today", "Daily Globe",
                      paras[:-2] + ["This article originally appeared on Wire Example."],
                      between='<div class="ad">Advertisement</div>'),
        "fetched_at": "2022-02-21T11:45:00Z",
    }
    other = read("syndicated-copy.txt").split("Russian President")[0].replace(
        "Putin set to address security officials – Kremlin", "Spain beats Russia in Davis Cup Finals")
    other_story = {
        "url": "https://paradox.example/sport/spain-beats-russia-davis-cup/",
        "text": other + read("other-story.txt") + "\n© 2022, paradox. All rights reserved.\n\nCheck Also\n\n"
        "Leave a Reply\n\nYour email address will not be published. Required fields are marked *",
        "fetched_at": "2022-02-21T12:30:00Z",
    }
    return [original, *_zyte_pages()[:2], flattened, other_story, _zyte_pages()[2], retitled]


BAD = [b"{not json", orjson.dumps({"html": "<p>no url</p>"}), orjson.dumps({"url": "https://empty.example/"})]


def raw_values() -> list[bytes]:
    """Every sample as record bytes: the good pages, then the bad records."""
    return [orjson.dumps(r) for r in records()] + BAD
