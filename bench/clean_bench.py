"""Benchmark the cleaner against trafilatura and resiliparse on a development set.

    .venv/bin/python bench/clean_bench.py [--set zyte|readability] [--data DIR] [--workers 2]
                                          [--skip-trafilatura] [--worst 15]

Prints one table: precision, recall and F1 of the article text (the set's own metric,
see :mod:`bench.clean_sets`), pages/s measured on the same in-memory pages in the same
run (one process each; ours also with ``--workers`` processes), and the pages where
ours loses most recall. On the Readability set, also title, language and date against
the expected metadata. On the Zyte set, also the per-domain learner, cold against warm,
on synthetic "same site" pages: Zyte article bodies wrapped in one site template (as
flattened text, and as HTML).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clean_sets import Page, load, metadata_checks, score, shingle_scores, summary  # noqa: E402
from stream.clean import BoilerplateLearner, clean  # noqa: E402
from stream.errors import BadRecord  # noqa: E402

_warm: list = []  # the language model is loaded once per process, before timing


# -- extractors --------------------------------------------------------------------------

def ours(url: str, html: str) -> str:
    if not _warm:
        _warm.append(clean("https://warm.example/", text="The model of the language detector loads on first use. " * 5))
    try:
        return clean(url, html=html).text
    except BadRecord:
        return ""


def _ours_job(item: tuple[str, str]) -> str:
    return ours(*item)


def _warm_worker() -> None:
    ours("https://warm.example/", "<p>warm</p>")  # loads the language model before timing


def trafilatura_default(url: str, html: str) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def resiliparse_default(url: str, html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True)


def resiliparse_tuned(url: str, html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True, list_bullets=False, alt_texts=False, comments=False)


# -- runs --------------------------------------------------------------------------------

def run(extractors: dict[str, Callable[[str, str], str]], pages: list[Page]) -> dict[str, dict]:
    """Each extractor's outputs and pages/s; timed page by page in turn, so load spikes hit all alike."""
    for extract in extractors.values():
        for page in pages[:5]:  # warm-up: imports, lazy models
            extract(page.url, page.html)
    outputs: dict[str, list[str]] = {name: [] for name in extractors}
    seconds = dict.fromkeys(extractors, 0.0)
    for page in pages:
        for name, extract in extractors.items():
            start = time.perf_counter()
            outputs[name].append(extract(page.url, page.html))
            seconds[name] += time.perf_counter() - start
    return {name: {"outputs": outputs[name], "pages_per_s": len(pages) / seconds[name]} for name in extractors}


def run_parallel(workers: int, pages: list[Page]) -> float:
    items = [(page.url, page.html) for page in pages]
    with ProcessPoolExecutor(workers, initializer=_warm_worker) as pool:
        list(pool.map(_ours_job, items[: 8 * workers], chunksize=2))  # start and warm the workers
        start = time.perf_counter()
        list(pool.map(_ours_job, items, chunksize=8))
        return len(items) / (time.perf_counter() - start)


def print_worst(name: str, pages: list[Page], results: dict[str, dict], count: int) -> None:
    """The pages where ours recalls least, with the other extractors' recall beside."""
    names = list(results)
    recalls = {n: [score(name, p.gold, out)[1] for p, out in zip(pages, results[n]["outputs"])] for n in names}
    order = sorted(range(len(pages)), key=lambda i: recalls[names[0]][i] if recalls[names[0]][i] is not None else 1.0)
    short = [n.split(" ")[0][:11] for n in names]
    print(f"\nlargest recall loss (ours){'':10}" + "".join(f"{s:>12}" for s in short) + f"{'ours chars':>11}")
    for i in order[:count]:
        cells = "".join(f"{r:12.3f}" if (r := recalls[n][i]) is not None else f"{'-':>12}" for n in names)
        print(f"{pages[i].key[:36]:36}{cells}{len(results[names[0]]['outputs'][i]):11}")


def print_metadata(pages: list[Page]) -> None:
    """Title, language and date of ours against the expected metadata, where it has them."""
    fields = ("title", "title, site aside", "lang", "date")
    hits: dict[str, list[bool]] = {field: [] for field in fields}
    misses: dict[str, list[str]] = {field: [] for field in fields}
    for page in pages:
        try:
            c = clean(page.url, html=page.html)
            title, lang, date = c.title, c.lang, c.published_at
        except BadRecord:
            title, lang, date = "", None, None
        for field, ok in metadata_checks(page, title, lang, date).items():
            hits[field].append(ok)
            if not ok:
                misses[field].append(page.key)
    print("\nmetadata (ours)   right / pages that give it")
    for field, oks in hits.items():
        print(f"  {field:17} {sum(oks):4} / {len(oks):<4}  wrong: {', '.join(misses[field][:10])}"
              + (" ..." if len(misses[field]) > 10 else ""))


# -- the learner: cold vs warm on one synthetic site -----------------------------------

SITE_TOP = ["Valley Courier - news from the valley since 1998", "Home / News / Local"]
SITE_INLINE = "Get the Valley Courier app and never miss a local story again"
SITE_BOTTOM = [
    "The Valley Courier is a member of the Independent Press Standards Organisation and follows its Editors' Code.",
    "Our reporters are on the ground in the valley every day, bringing you the stories that matter to you.",
    "Valley Courier, 12 Mill Street, Riverton. Tips: newsdesk@valley-courier.example",
]


def _site_text(title: str, paragraphs: list[str]) -> str:
    middle = len(paragraphs) // 2
    body = paragraphs[:middle] + [SITE_INLINE] + paragraphs[middle:]
    return "\n".join(SITE_TOP + [title] + body + SITE_BOTTOM)


def _site_html(title: str, paragraphs: list[str]) -> str:
    middle = len(paragraphs) // 2
    body = paragraphs[:middle] + [SITE_INLINE] + paragraphs[middle:] + SITE_BOTTOM
    ps = "".join(f"<p>{p}</p>" for p in body)
    return (f"<html lang='en'><head><title>{title} | Valley Courier</title></head><body>"
            f"<div class='top'><a href='/'>Valley Courier</a></div><div class='page'>"
            f"<h1>{title}</h1><div class='entry'>{ps}</div></div></body></html>")


def cold_warm(pages: list[Page], kind: str, count: int = 60, warmup: int = 5) -> tuple[tuple, tuple]:
    """Scores of the same site's pages without a learner, and with one fed by the stream."""
    render = _site_text if kind == "text" else _site_html
    learner = BoilerplateLearner()
    cold, warm = [], []
    for index, page in enumerate(pages[:count]):
        paragraphs = [p.strip() for p in page.gold.split("\n") if p.strip()]
        body = render(f"Story number {index} of the day", paragraphs)
        url = f"https://valley-courier.example/news/{index}"
        texts = []
        for learned in (None, learner):
            try:
                texts.append(clean(url, **{kind: body}, learner=learned).text)
            except BadRecord:
                texts.append("")
        if index >= warmup:
            cold.append(shingle_scores(page.gold, texts[0]))
            warm.append(shingle_scores(page.gold, texts[1]))
    return summary("zyte", cold), summary("zyte", warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("zyte", "readability"), default="zyte", dest="name")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worst", type=int, default=15, help="pages listed by recall loss")
    parser.add_argument("--skip-trafilatura", action="store_true")
    args = parser.parse_args()
    pages = load(args.name, args.data)
    print(f"{len(pages)} pages of the {args.name} set  ({time.strftime('%Y-%m-%d %H:%M %Z')})")

    extractors = {"ours (stream.clean)": ours}
    if not args.skip_trafilatura:
        extractors["trafilatura extract()"] = trafilatura_default
    extractors["resiliparse main_content"] = resiliparse_default
    extractors["resiliparse main_content, tuned"] = resiliparse_tuned
    results = run(extractors, pages)
    parallel = run_parallel(args.workers, pages) if args.workers > 1 else None

    print(f"\n{'extractor':34} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8} {'empty':>6}")
    for name, result in results.items():
        p, r, f1 = summary(args.name, (score(args.name, pg.gold, out) for pg, out in zip(pages, result["outputs"])))
        empty = sum(1 for out in result["outputs"] if not out.strip())
        print(f"{name:34} {p:9.3f} {r:7.3f} {f1:6.3f} {result['pages_per_s']:8.0f} {empty:6}")
    if parallel:
        print(f"{f'ours, {args.workers} worker processes':34} {'':9} {'':7} {'':6} {parallel:8.0f}")
    ours_rate = results["ours (stream.clean)"]["pages_per_s"]
    if "trafilatura extract()" in results:
        traf = results["trafilatura extract()"]["pages_per_s"]
        print(f"\nspeed ours / trafilatura: {ours_rate / traf:.1f}x (one process)"
              + (f", {parallel / traf:.1f}x ({args.workers} processes)" if parallel else ""))
    print_worst(args.name, pages, results, args.worst)

    if args.name == "readability":
        print_metadata(pages)
        return
    print(f"\n{'learner (same site, pages 6-60)':34} {'precision':>9} {'recall':>7} {'F1':>6}")
    for kind in ("text", "html"):
        (cp, cr, cf), (wp, wr, wf) = cold_warm(pages, kind)
        print(f"{f'{kind}, cold (no learner)':34} {cp:9.3f} {cr:7.3f} {cf:6.3f}")
        print(f"{f'{kind}, warm (BoilerplateLearner)':34} {wp:9.3f} {wr:7.3f} {wf:6.3f}")


if __name__ == "__main__":
    main()
