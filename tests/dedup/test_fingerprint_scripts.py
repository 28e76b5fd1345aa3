"""Scripts written without spaces (Chinese, Japanese, Thai) and right-to-left scripts (Arabic,
Hebrew) get shingles of their own words: a syndicated copy matches, another story does not.
Pages in ``data/pages/<script>-a.txt`` and ``-b.txt`` (two stories per script)."""

from __future__ import annotations

import numpy as np
import pytest

from stream.dedup import fingerprint
from stream.dedup.decide import MIN_SIZE, THRESHOLD, score, similarity
from stream.dedup.fingerprint import lines
from tests.dedup.conftest import read

SCRIPTS = ["zh", "ja", "th", "ar", "he"]


def story(script: str, which: str = "a") -> list[str]:
    return read(f"pages/{script}-{which}.txt").splitlines()


def syndicated(paragraphs: list[str]) -> str:
    """A copy as syndication makes it: a new headline, an ad line between paragraphs, the
    last paragraph dropped, a "Read more" line and an attribution line."""
    body = [x for i, p in enumerate(paragraphs[:-1]) for x in ((p, "ADVERTISEMENT") if i == 1 else (p,))]
    return "\n\n".join(["BREAKING: " + paragraphs[0][:12], *body, "Read more at wire.example",
                        "This article originally appeared on wire.example."])


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_line_is_shingled(script: str) -> None:
    paragraphs = story(script)
    words = [len(ws) for ws in lines("\n".join(paragraphs))]
    assert len(words) == len(paragraphs) and min(words) >= 8  # words, not one token a line
    windows = sum(n - 4 for n in words)  # 5-word windows within a line; a few repeat
    assert windows >= fingerprint("\n".join(paragraphs)).size >= max(MIN_SIZE, 0.9 * windows)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_syndicated_copy_matches(script: str) -> None:
    original = fingerprint("\n\n".join(story(script)))
    copy = fingerprint(syndicated(story(script)))
    assert score(copy, original.signature, original.size) >= THRESHOLD


@pytest.mark.parametrize("script", SCRIPTS)
def test_another_story_does_not(script: str) -> None:
    a, b = fingerprint("\n\n".join(story(script))), fingerprint("\n\n".join(story(script, "b")))
    assert score(a, b.signature, b.size) < 0.1


def test_thai_words_keep_their_vowel_and_tone_marks() -> None:
    # NFKC splits SARA AM into NIKHAHIT (a mark) and SARA AA; every mark stays on its letter
    words = [w.decode() for w in lines("น้ำท่วม")[0]]
    assert words == ["\u0e19\u0e49\u0e4d", "\u0e32", "\u0e17\u0e48", "\u0e27", "\u0e21"]
    spaced = "\u200b".join(story("th")[0])  # some sites put zero-width spaces between words
    assert lines(spaced) == lines(story("th")[0])


@pytest.mark.parametrize(("script", "point"), [("ar", "\u064e"), ("he", "\u05b8")])
def test_optional_vowel_points_do_not_matter(script: str, point: str) -> None:
    plain = "\n\n".join(story(script))
    pointed = "".join(c + point if c.isalpha() and i % 3 == 0 else c for i, c in enumerate(plain))
    assert pointed != plain
    assert np.array_equal(fingerprint(pointed).signature, fingerprint(plain).signature)


def test_arabic_tatweel_does_not_matter() -> None:
    plain = story("ar")[0]
    stretched = plain.replace("الصحة", "الصـــحة").replace("مستشفى", "مستشــفى")
    assert stretched != plain and similarity(fingerprint(stretched).signature, fingerprint(plain).signature) == 1.0
