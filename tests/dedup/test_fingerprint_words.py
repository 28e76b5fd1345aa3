"""The fast word split in ``lines`` gives exactly the documented words: NFKC, lower case,
apostrophes and invisible or optional characters dropped, then runs of ``\\w`` and combining
marks per ``str.splitlines`` line (a mark after no letter dropped), each character of a script
written without spaces (with its marks) a word."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import pytest

from stream.dedup.fingerprint import (
    _APOS,
    _DROP,
    _MARKS,
    _NOSPACE,
    _NOSPACE_WORD,
    lines,
)

MARK = re.compile(f"[{_MARKS}]")


def reference(text: str) -> list[list[bytes]]:
    text = unicodedata.normalize("NFKC", text).lower()
    for ch in _APOS:
        text = text.replace(ch, "")
    text = _DROP.sub("", text)
    out = []
    for line in text.splitlines():
        if _NOSPACE.search(text):
            ws = _NOSPACE_WORD.findall(line)
        else:  # a word: \w, then \w or marks; every other character separates
            ws, word = [], ""
            for c in line + " ":
                if re.fullmatch(r"\w", c) or (word and MARK.fullmatch(c)):
                    word += c
                else:  # a separator, or a mark after no letter (dropped)
                    ws += [word] if word else []
                    word = ""
        if ws:
            out.append([w.encode() for w in ws])
    return out


@pytest.mark.parametrize("text", [
    "", "\n\r\n", "one", "one two three", "Breaking news\nRead more",
    "it’s it's it‘s it`s it´s itʼs, don’t",
    "ﬁnance ＦＵＬＬ ｗｉｄｔｈ １２３ non\u00a0breaking ½ Ⅻ İstanbul STRASSE",
    "a b\r\nc d\u2028e f\u2029g\x85h\x0bi\x0cj\x1ck\x1dl\x1em\x1fn\to",
    "lone \ud800 surrogate\udfff here",
    "mixed 中文 and english ・ 한국어 テキスト",
    "e\u0301 a\u030a snake_case x_1 ١٢٣ кириллица",
    "हिन्दी में समाचार", "ภาษาไทย ง่ายนิดเดียว", "ຂ່າວ ພາສາລາວ", "ព័ត៌មាន", "မြန်မာ",
    "كَتَبَ الوَلَدُ الدَّرْسَ ـ عربيـــة", "שָׁלוֹם עוֹלָם",
    "Kinder\u00adsitz\u200btest", "می\u200cخواهم",
    "love ❤\ufe0f it \u0301lone .\u0301\u0302 x\u0301\u0302y \U0001d167z",
])
def test_words_follow_the_rule(text: str) -> None:
    assert lines(text) == reference(text)


@pytest.mark.parametrize("nospace", [False, True])
def test_every_code_point_is_classified_like_the_regex(nospace: bool) -> None:
    chars = "".join(map(chr, range(sys.maxunicode + 1)))
    text = "x".join(chars if nospace else _NOSPACE.sub("", chars))  # without them: the fast path
    assert lines(text) == reference(text)


def test_random_texts() -> None:
    rng = random.Random(0)
    alphabet = list("ab Z9_ ’'`´ʼ.-\n\r\x0b\x1c\x85\u2028\u00a0ﬁＡé\u0301\ud800中한・\t"
                    "\u00ad\u200bक\u093fि\u094dกิ\u0e48ب\u064e\u0640ש\u05bc\ufe0f❤")
    for _ in range(2000):
        text = "".join(rng.choices(alphabet, k=rng.randrange(60)))
        assert lines(text) == reference(text), repr(text)
