"""The fast word split in ``lines`` gives exactly the documented words: NFKC, lower case,
apostrophes dropped, then ``\\w+`` per ``str.splitlines`` line, each CJK character a word."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import pytest

from stream.dedup.fingerprint import _APOS, _CJK, _CJK_WORD, lines


def reference(text: str) -> list[list[bytes]]:
    text = unicodedata.normalize("NFKC", text).lower()
    for ch in _APOS:
        text = text.replace(ch, "")
    words = (_CJK_WORD.findall(line) if _CJK.search(line) else re.findall(r"\w+", line)
             for line in text.splitlines())
    return [[w.encode() for w in ws] for ws in words if ws]


@pytest.mark.parametrize("text", [
    "", "\n\r\n", "one", "one two three", "Breaking news\nRead more",
    "it’s it's it‘s it`s it´s itʼs, don’t",
    "ﬁnance ＦＵＬＬ ｗｉｄｔｈ １２３ non\u00a0breaking ½ Ⅻ İstanbul STRASSE",
    "a b\r\nc d\u2028e f\u2029g\x85h\x0bi\x0cj\x1ck\x1dl\x1em\x1fn\to",
    "lone \ud800 surrogate\udfff here",
    "mixed 中文 and english ・ 한국어 テキスト",
    "e\u0301 a\u030a snake_case x_1 ١٢٣ кириллица",
])
def test_words_follow_the_rule(text: str) -> None:
    assert lines(text) == reference(text)


@pytest.mark.parametrize("cjk", [False, True])
def test_every_code_point_is_classified_like_the_regex(cjk: bool) -> None:
    chars = "".join(map(chr, range(sys.maxunicode + 1)))
    text = "x".join(chars if cjk else _CJK.sub("", chars))  # without CJK: the fast path
    assert lines(text) == reference(text)


def test_random_texts() -> None:
    rng = random.Random(0)
    alphabet = list("ab Z9_ ’'`´ʼ.-\n\r\x0b\x1c\x85\u2028\u00a0ﬁＡé\u0301\ud800中한・\t")
    for _ in range(2000):
        text = "".join(rng.choices(alphabet, k=rng.randrange(60)))
        assert lines(text) == reference(text), repr(text)
