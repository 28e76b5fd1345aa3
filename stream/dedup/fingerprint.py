"""Text to MinHash signature: normalise, shingle per line, hash (xxhash + vectorised numpy).

* **Normalise.** NFKC (non-breaking spaces, ligatures, full-width forms), lower case,
  apostrophes dropped (``it’s`` = ``it's`` = ``its``); tokens are ``\\w+`` runs,
  so quotes, dashes and whitespace never reach a shingle. In lines with Chinese,
  Japanese or Korean script every such character is a token of its own.
* **Shingle per line.** Word ``SHINGLE``-grams never span a line (paragraph) break, so ad
  lines or attribution lines inserted *between* paragraphs cost nothing; lines shorter
  than ``MIN_LINE_WORDS`` words (nav items, breadcrumbs, "ADVERTISEMENT", bylines, most
  headlines, "Read more") are left out. A text with no long line falls back to all its words.
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
MIN_LINE_WORDS = 8  # shorter lines are boilerplate-prone and left out of the shingles
SEED = 1
_CHUNK = 4096  # shingles per numpy block (bounds memory at NUM_PERM * _CHUNK * 8 bytes)

# scripts written without spaces: each character counts as a word
_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK = re.compile(f"[{_CJK_RANGES}]")
_CJK_WORD = re.compile(f"[{_CJK_RANGES}]|[^\\W{_CJK_RANGES}]+")
# Fast path for text without CJK, the same words as \w+ per line: non-ASCII characters that are
# neither \w nor a line break of str.splitlines become spaces; then, per UTF-8 byte, \w and
# non-ASCII bytes stay, ASCII line breaks become b"\n" and every other ASCII byte b" ".
_WIDE_BREAKS = "\x85\u2028\u2029"
_NON_WORD = re.compile(f"[^\\w\\x00-\\x7f{_WIDE_BREAKS}]")
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
    if _CJK.search(text):  # few pages: a regex per line, each CJK character a word of its own
        words = (_CJK_WORD.findall(line) for line in text.splitlines())
        return [[w.encode() for w in ws] for ws in words if ws]
    # no regex match per word: map characters to word / space / newline, then split in C
    text = _NON_WORD.sub(" ", text)
    for ch in _WIDE_BREAKS:
        if ch in text:
            text = text.replace(ch, "\n")
    return [ws for ws in map(bytes.split, text.encode().translate(_BYTE_CLASS).split(b"\n")) if ws]


def shingles(text: str) -> np.ndarray:
    """Distinct uint64 shingle hashes of ``text`` (sorted)."""
    all_lines = lines(text)
    kept = [ws for ws in all_lines if len(ws) >= MIN_LINE_WORDS]
    if not kept:  # nothing long: a short text; use all of it as one run
        kept = [list(chain.from_iterable(all_lines))]
    # hashing every word is cheaper than de-duplicating words first
    h = np.fromiter(map(xxhash.xxh64_intdigest, chain.from_iterable(kept)), dtype=np.uint64)
    n = h.size
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    if n < SHINGLE:
        return h[:1] * _POS[0] + h.sum()  # a single value
    m = n - SHINGLE + 1
    acc = h[:m] * _POS[0]
    for j in range(1, SHINGLE):
        acc += h[j : m + j] * _POS[j]
    # a window is valid when it does not cross into the next line
    lens = np.fromiter(map(len, kept), dtype=np.intp, count=len(kept))
    line_end = np.repeat(np.cumsum(lens), lens)[:m]
    acc = acc[np.arange(SHINGLE, m + SHINGLE) <= line_end]
    if acc.size == 0:  # every kept line is shorter than a shingle
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
