"""Benchmark the cleaner against trafilatura and resiliparse on the Zyte article set.

    .venv/bin/python bench/clean_bench.py [--data DIR] [--workers 2] [--skip-trafilatura]

Prints one table: precision, recall and F1 of the article body (the benchmark's own
metric, :func:`shingle_scores`), and pages/s measured on the same in-memory pages in the
same run (one process each; ours also with ``--workers`` processes). Then the per-domain
learner, cold against warm, on synthetic "same site" pages: Zyte article bodies wrapped
in one site template (as flattened text, and as HTML).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stream.clean import BoilerplateLearner, clean  # noqa: E402
from stream.errors import BadRecord  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "zyte-article-extraction"  # ../shared
SHINGLE = 4
_TOKEN = re.compile(r"\w+")


# -- the metric (one place) ------------------------------------------------------------

def shingle_scores(gold: str, predicted: str, n: int = SHINGLE) -> tuple[float | None, float | None]:
    """Precision and recall of one page on word ``n``-gram shingles (multiset counts).

    As in scrapinghub/article-extraction-benchmark: tokens are ``\\w+`` runs; a text
    shorter than ``n`` tokens is one shingle; precision is None when nothing was
    predicted and nothing was expected (skipped in the average), likewise recall.
    """
    truth, pred = _shingles(gold, n), _shingles(predicted, n)
    tp = sum((truth & pred).values())
    fp = sum((pred - truth).values())
    fn = sum((truth - pred).values())
    if fp == fn == 0:
        return (1.0 if tp else None), (1.0 if tp else None)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return precision, recall


def summary(scores: Iterable[tuple[float | None, float | None]]) -> tuple[float, float, float]:
    """Mean precision, mean recall over pages, and the F1 of those two means."""
    pairs = list(scores)
    precision = statistics.fmean([p for p, _ in pairs if p is not None] or [0.0])
    recall = statistics.fmean([r for _, r in pairs if r is not None] or [0.0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _shingles(text: str, n: int) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i: i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens)


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

def load(data: Path) -> tuple[dict[str, dict], dict[str, str]]:
    gold = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {key: gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
             for key in gold}
    return gold, pages


def run(extractors: dict[str, Callable[[str, str], str]], gold: dict, pages: dict) -> list[dict]:
    """Score each extractor; time them page by page in turn, so load spikes hit all alike."""
    keys = list(gold)
    for extract in extractors.values():
        for key in keys[:5]:  # warm-up: imports, lazy models
            extract(gold[key]["url"], pages[key])
    outputs: dict[str, dict[str, str]] = {name: {} for name in extractors}
    seconds = dict.fromkeys(extractors, 0.0)
    for key in keys:
        for name, extract in extractors.items():
            start = time.perf_counter()
            outputs[name][key] = extract(gold[key]["url"], pages[key])
            seconds[name] += time.perf_counter() - start
    rows = []
    for name in extractors:
        p, r, f1 = summary(shingle_scores(gold[k]["articleBody"], outputs[name][k]) for k in keys)
        rows.append({"name": name, "precision": p, "recall": r, "f1": f1, "pages_per_s": len(keys) / seconds[name]})
    return rows


def run_parallel(workers: int, gold: dict, pages: dict) -> float:
    items = [(gold[key]["url"], pages[key]) for key in gold]
    with ProcessPoolExecutor(workers, initializer=_warm_worker) as pool:
        list(pool.map(_ours_job, items[: 8 * workers], chunksize=2))  # start and warm the workers
        start = time.perf_counter()
        list(pool.map(_ours_job, items, chunksize=8))
        return len(items) / (time.perf_counter() - start)


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


def cold_warm(gold: dict, kind: str, pages: int = 60, warmup: int = 5) -> tuple[tuple, tuple]:
    """Scores of the same site's pages without a learner, and with one fed by the stream."""
    render = _site_text if kind == "text" else _site_html
    learner = BoilerplateLearner()
    cold, warm = [], []
    for index, key in enumerate(list(gold)[:pages]):
        paragraphs = [p.strip() for p in gold[key]["articleBody"].split("\n") if p.strip()]
        page = render(f"Story number {index} of the day", paragraphs)
        url = f"https://valley-courier.example/news/{index}"
        texts = []
        for learned in (None, learner):
            try:
                texts.append(clean(url, **{kind: page}, learner=learned).text)
            except BadRecord:
                texts.append("")
        if index >= warmup:
            cold.append(shingle_scores(gold[key]["articleBody"], texts[0]))
            warm.append(shingle_scores(gold[key]["articleBody"], texts[1]))
    return summary(cold), summary(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-trafilatura", action="store_true")
    args = parser.parse_args()
    gold, pages = load(args.data)
    print(f"{len(gold)} pages from {args.data}  ({time.strftime('%Y-%m-%d %H:%M %Z')})")

    extractors = {"ours (stream.clean)": ours}
    if not args.skip_trafilatura:
        extractors["trafilatura extract()"] = trafilatura_default
    extractors["resiliparse main_content"] = resiliparse_default
    extractors["resiliparse main_content, tuned"] = resiliparse_tuned
    rows = run(extractors, gold, pages)
    parallel = run_parallel(args.workers, gold, pages) if args.workers > 1 else None

    print(f"\n{'extractor':34} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8}")
    for row in rows:
        print(f"{row['name']:34} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:6.3f} {row['pages_per_s']:8.0f}")
    if parallel:
        print(f"{f'ours, {args.workers} worker processes':34} {'':9} {'':7} {'':6} {parallel:8.0f}")
    traf = next((r for r in rows if r["name"].startswith("trafilatura")), None)
    if traf:
        print(f"\nspeed ours / trafilatura: {rows[0]['pages_per_s'] / traf['pages_per_s']:.1f}x (one process)"
              + (f", {parallel / traf['pages_per_s']:.1f}x ({args.workers} processes)" if parallel else ""))

    print(f"\n{'learner (same site, pages 6-60)':34} {'precision':>9} {'recall':>7} {'F1':>6}")
    for kind in ("text", "html"):
        (cp, cr, cf), (wp, wr, wf) = cold_warm(gold, kind)
        print(f"{f'{kind}, cold (no learner)':34} {cp:9.3f} {cr:7.3f} {cf:6.3f}")
        print(f"{f'{kind}, warm (BoilerplateLearner)':34} {wp:9.3f} {wr:7.3f} {wf:6.3f}")


if __name__ == "__main__":
    main()
