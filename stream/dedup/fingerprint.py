"""Text to MinHash signature: normalise, shingle per line, hash (xxhash + vectorised numpy).

* **Normalise.** NFKC (non-breaking spaces, ligatures, full-width forms), lower case,
  apostrophes dropped (``it’s`` = ``it's`` = ``its``); invisible format characters (soft
  hyphen, zero-width space and joiners), the Arabic tatweel and the optional Arabic and
  Hebrew vowel points dropped. Tokens are runs of ``\\w`` and combining marks (a mark after
  no letter is dropped), so quotes, dashes and whitespace never reach a shingle and Indic
  or Thai vowel signs do not cut a word. In lines of a script written without spaces
  (Chinese, Japanese, Korean, Thai, Lao, Myanmar, Khmer) every such character, with its
  marks, is a token of its own.
* **Shingle per line.** Word ``SHINGLE``-grams never span a line (paragraph) break, so ad
  lines or attribution lines inserted *between* paragraphs cost nothing; a line shorter
  than ``MIN_LINE_WORDS`` words alone (an ad, "ADVERTISEMENT", a byline, a headline, "Read
  more") is left out. A run of ``RUN_LINES`` or more consecutive short lines (the items of
  a list, a recipe's ingredients, table rows) is shingled as one sequence, across its line
  breaks, when its lines average ``RUN_WORDS`` words or more: a menu's items (a flattened
  page's navigation, "Home / World / Eye Health") are a word or two, and never count. A
  text with nothing else falls back to all its words.
* **Hash.** Each word (UTF-8) is hashed with xxh64; a shingle's hash is a keyed
  polynomial of its word hashes computed for all positions at once in numpy; the MinHash
  permutations are ``a * x + b`` on uint64 (``a`` odd), minimum over the shingles, high
  32 bits kept. The signature is the same for the same text in every process (fixed seed).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import chain

import numpy as np
import xxhash

NUM_PERM = 128
SHINGLE = 5  # words per shingle
MIN_LINE_WORDS = 8  # shorter lines are boilerplate-prone: alone, left out of the shingles
RUN_LINES = 3  # consecutive short lines that count as one sequence (a list)...
RUN_WORDS = 3  # ...when they average this many words a line (a menu's items are a word or two)
SEED = 1
_CHUNK = 4096  # shingles per numpy block (bounds memory at NUM_PERM * _CHUNK * 8 bytes)


def _ranges(chars: list[int]) -> str:
    """A regex character-class body for a sorted list of code points."""
    out, i = [], 0
    while i < len(chars):
        j = i
        while j + 1 < len(chars) and chars[j + 1] == chars[j] + 1:
            j += 1
        out.append(re.escape(chr(chars[i])) + ("-" + re.escape(chr(chars[j])) if j > i else ""))
        i = j + 1
    return "".join(out)


# combining marks of the Basic Multilingual Plane belong to the word they follow (Indic vowel
# signs and viramas, Thai vowels and tones: \w alone would cut words there); a mark after no
# letter (an emoji's variation selector) is dropped. Marks beyond the BMP (historic scripts)
# stay separators: a character class reaching beyond it makes the regex engine ~100x slower.
_MARKS = _ranges([cp for cp in range(0x10000) if unicodedata.category(chr(cp))[0] == "M"])
# dropped before anything else: invisible format characters (soft hyphen, zero-width space,
# joiners, word joiner, BOM), the Arabic tatweel, and the vowel points Arabic and Hebrew write
# only optionally (harakat, niqqud, cantillation): a copy may or may not carry them
_DROP = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff\u0640\u064b-\u065f\u0670"
                   "\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")
# scripts written without spaces between words: each character (with its marks) is a word.
# Chinese, Japanese, Korean; Thai, Lao, Myanmar, Khmer
_NOSPACE_RANGES = ("\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
                   "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff")
_NOSPACE = re.compile(f"[{_NOSPACE_RANGES}]")
_LETTER = f"[^\\W{_NOSPACE_RANGES}]"  # \w, but not of those scripts
_NOSPACE_WORD = re.compile(f"[{_NOSPACE_RANGES}][{_MARKS}]*|{_LETTER}(?:{_LETTER}|[{_MARKS}])*")
_MARK = re.compile(f"[{_MARKS}]")
_LONE_MARKS = re.compile(f"(?<![\\w{_MARKS}])[{_MARKS}]+")  # after no letter: an emoji's selector
# Fast path for text without those scripts, the same words as [\w marks]+ per line: non-ASCII
# characters that are neither \w, a mark nor a line break of str.splitlines become spaces; then,
# per UTF-8 byte, \w and non-ASCII bytes stay, ASCII line breaks become b"\n" and every other
# ASCII byte b" ".
_WIDE_BREAKS = "\x85\u2028\u2029"
_NON_WORD = re.compile(f"[^\\w\\x00-\\x7f{_WIDE_BREAKS}{_MARKS}]")
_BYTE_CLASS = bytes(
    b if b >= 0x80 or chr(b).isalnum() or chr(b) == "_"
    else ord("\n") if chr(b) in "\n\r\v\f\x1c\x1d\x1e"
    else ord(" ")
    for b in range(256)
)
_APOS = ("'", "’", "‘", "`", "´", "ʼ")  # deleted: it’s = it's = its
_EMPTY = np.full(NUM_PERM, np.iinfo(np.uint32).max, dtype=np.uint32)

_rng = np.random.default_rng(SEED)
_A = _rng.integers(1, 2**63, NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd
_B = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
_POS = _rng.integers(1, 2**63, SHINGLE, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A signature plus the number of distinct shingles it summarises."""

    signature: np.ndarray  # uint32[NUM_PERM]
    size: int


def lines(text: str) -> list[list[bytes]]:
    """Normalised words (UTF-8), one list per non-empty line."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    for ch in _APOS:
        if ch in text:
            text = text.replace(ch, "")
    if _DROP.search(text):
        text = _DROP.sub("", text)
    if _NOSPACE.search(text):  # few pages: a regex per line, each such character a word of its own
        words = (_NOSPACE_WORD.findall(line) for line in text.splitlines())
        return [[w.encode() for w in ws] for ws in words if ws]
    # no regex match per word: map characters to word / space / newline, then split in C
    if _MARK.search(text):
        text = _LONE_MARKS.sub("", text)
    text = _NON_WORD.sub(" ", text)
    for ch in _WIDE_BREAKS:
        if ch in text:
            text = text.replace(ch, "\n")
    return [ws for ws in map(bytes.split, text.encode().translate(_BYTE_CLASS).split(b"\n")) if ws]


def kept(all_lines: list[list[bytes]]) -> list[list[bytes]]:
    """The word sequences to shingle: the long lines, and each run of at least ``RUN_LINES``
    consecutive short lines that average ``RUN_WORDS`` words a line, as one sequence. A
    short line alone (an ad, a heading, an attribution) never counts, nor does a menu."""
    out: list[list[bytes]] = []
    run: list[list[bytes]] = []
    for ws in [*all_lines, None]:
        if ws is not None and len(ws) < MIN_LINE_WORDS:
            run.append(ws)
            continue
        if len(run) >= RUN_LINES and sum(map(len, run)) >= RUN_WORDS * len(run):
            out.append(list(chain.from_iterable(run)))
        run = []
        if ws is not None:
            out.append(ws)
    return out


def shingles(text: str) -> np.ndarray:
    """Distinct uint64 shingle hashes of ``text`` (sorted)."""
    all_lines = lines(text)
    seqs = kept(all_lines)
    if not seqs:  # nothing long: a short text; use all of it as one run
        seqs = [list(chain.from_iterable(all_lines))]
    # hashing every word is cheaper than de-duplicating words first
    h = np.fromiter(map(xxhash.xxh64_intdigest, chain.from_iterable(seqs)), dtype=np.uint64)
    n = h.size
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    if n < SHINGLE:
        return h[:1] * _POS[0] + h.sum()  # a single value
    m = n - SHINGLE + 1
    acc = h[:m] * _POS[0]
    for j in range(1, SHINGLE):
        acc += h[j : m + j] * _POS[j]
    # a window is valid when it does not cross into the next sequence
    lens = np.fromiter(map(len, seqs), dtype=np.intp, count=len(seqs))
    line_end = np.repeat(np.cumsum(lens), lens)[:m]
    acc = acc[np.arange(SHINGLE, m + SHINGLE) <= line_end]
    if acc.size == 0:  # every sequence is shorter than a shingle
        acc = h[:1] * _POS[0] + h.sum()
    acc ^= acc >> np.uint64(29)  # finalise: spread high bits down
    acc.sort()  # then drop repeats: np.unique's hash table is several times slower at this size
    return acc[np.append(True, acc[1:] != acc[:-1])]


def minhash(hashes: np.ndarray) -> np.ndarray:
    """uint32[NUM_PERM] MinHash signature of a set of uint64 hashes."""
    if hashes.size == 0:
        return _EMPTY.copy()
    sig = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    for i in range(0, hashes.size, _CHUNK):
        perm = np.multiply.outer(_A, hashes[i : i + _CHUNK])  # in place: no big temporaries
        perm += _B[:, None]
        np.minimum(sig, perm.min(axis=1), out=sig)
    # the minimum of the full 64-bit values, then its high word: same order, fewer ops
    return (sig >> np.uint64(32)).astype(np.uint32)


def fingerprint(text: str) -> Fingerprint:
    hashes = shingles(text)
    return Fingerprint(signature=minhash(hashes), size=int(hashes.size))
