"""The signature ignores what syndication changes and keeps what tells stories apart."""

from __future__ import annotations

import numpy as np

from stream.dedup import fingerprint
from stream.dedup.decide import similarity
from tests.dedup.conftest import paragraphs, read

STORY = paragraphs("putin-paragraphs.txt")


def test_same_text_same_signature_and_shape() -> None:
    a, b = fingerprint("\n\n".join(STORY)), fingerprint("\n\n".join(STORY))
    assert a.signature.dtype == np.uint32 and a.signature.shape == (128,)
    assert np.array_equal(a.signature, b.signature)
    assert a.size > 300


def test_typography_does_not_matter() -> None:
    plain = "\n\n".join(STORY)
    styled = (plain.replace("’", "'").replace("“", '"').replace("”", '"').replace(" – ", " -- ")
              .replace(". ", ".\u00a0 ").upper())
    assert styled != plain
    assert np.array_equal(fingerprint(plain).signature, fingerprint(styled).signature)


def test_ad_lines_between_paragraphs_do_not_matter() -> None:
    ads = ["ADVERTISEMENT", "Kwork.ru - услуги фрилансеров от 500 руб.", "Story continues below"]
    with_ads = [x for i, p in enumerate(STORY) for x in (p, ads[i % 3])]
    assert np.array_equal(fingerprint("\n\n".join(STORY)).signature,
                          fingerprint("\n\n".join(with_ads)).signature)


def test_different_stories_are_far_apart() -> None:
    a = fingerprint("\n\n".join(STORY))
    b = fingerprint(read("new-text.txt"))
    assert similarity(a.signature, b.signature) < 0.05


def test_empty_and_short_texts() -> None:
    empty = fingerprint("")
    assert empty.size == 0 and empty.signature.shape == (128,)
    short = fingerprint("Breaking news")
    assert short.size == 1
