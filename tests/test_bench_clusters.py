"""The dedup benchmark's fast threshold sweep gives exactly the Deduper's final clusters.

``bench/dedup_clusters.py`` scores every matching pair once and takes connected components
at each threshold; that is only worth reporting if it is what the Deduper decides. Here the
pages are made to straddle the thresholds: copies abridged to various shares, pages that
carry the end of one story and the start of another (they join two clusters at some
thresholds and not at others), and two pages of one site that only the same-site rule
keeps apart.
"""

from __future__ import annotations

import random

import pytest

from bench.dedup_clusters import components, final_clusters, matching_pairs, shuffled
from stream.dedup import Doc, fingerprint
from stream.dedup.canonical import rank

THRESHOLDS = (0.3, 0.45, 0.6, 0.75, 0.9)


def _pages(seed: int = 7) -> list[Doc]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]

    def paragraph() -> str:
        return " ".join(rng.choice(vocab) for _ in range(rng.randint(30, 60)))

    stories = [[paragraph() for _ in range(rng.randint(4, 8))] for _ in range(12)]
    texts: list[tuple[str, str]] = []  # (site, text)
    for s, paras in enumerate(stories):
        texts.append((f"origin{s}.example", "\n\n".join(paras)))
        for c in range(rng.randint(1, 4)):
            keep = max(1, round(len(paras) * rng.uniform(0.2, 1.0)))
            extra = [paragraph() for _ in range(rng.randint(0, 3))]
            texts.append((f"copy{s}-{c}.example", "\n\n".join(paras[:keep] + extra)))
        if s:  # a page that ends one story and begins the next
            prev = stories[s - 1]
            texts.append((f"bridge{s}.example", "\n\n".join(prev[-rng.randint(1, 3):] + paras[:rng.randint(1, 4)])))
    own = [paragraph() for _ in range(6)]  # one site, a story and its abridged page: kept apart
    texts += [("home.example", "\n\n".join(own)), ("home.example", "\n\n".join(own[:3]))]
    docs = []
    for i, (site, text) in enumerate(texts):
        published = None if rng.random() < 0.3 else f"2024-01-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
        doc_id = f"{rng.getrandbits(80):020x}"
        docs.append(Doc(doc_id, fingerprint(text), float(i), rank(f"https://{site}/a", published, seen=float(i),
                                                                    doc_id=doc_id), site=site))
    return docs


@pytest.fixture(scope="module")
def pages() -> list[Doc]:
    return _pages()


def test_components_of_the_matching_pairs_are_the_deduper_final_clusters(pages):
    pairs = matching_pairs(pages, threshold=min(THRESHOLDS))
    seen = []
    for t in THRESHOLDS:
        expected = components(pages, pairs, t)
        assert final_clusters(pages, threshold=t) == expected, t
        seen.append(len(set(expected)))
    # the pages do straddle the thresholds: fewer, larger clusters at the low ones
    assert seen == sorted(seen) and seen[0] < seen[-1] < len(pages)


def test_the_final_clusters_do_not_depend_on_the_order(pages):
    rng = random.Random(3)
    for t in (0.45, 0.6):
        first = final_clusters(pages, threshold=t)
        for _ in range(3):
            assert shuffled(pages, rng.sample(range(len(pages)), len(pages)), threshold=t) == first
