"""Text to MinHash signature: normalise, shingle per line, hash (xxhash + vectorised numpy).

* **Normalise.** NFKC (non-breaking spaces, ligatures, full-width forms), lower case,
  apostrophes dropped (``it’s`` = ``it's`` = ``its``); tokens are ``\\w+`` runs,
  so quotes, dashes and whitespace never reach a shingle. In lines with Chinese,
  Japanese or Korean script every such character is a token of its own.
* **Shingle per line.** Word ``SHINGLE``-grams never span a line (paragraph) break, so ad
  lines or attribution lines inserted *between* paragraphs cost nothing; lines shorter
  than ``MIN_LINE_WORDS`` words (nav items, breadcrumbs, "ADVERTISEMENT", bylines, most
  headlines, "Read more") are left out. A text with no long line falls back to all its words.
* **Hash.** Each distinct word is hashed once with xxh64; a shingle's hash is a keyed
  polynomial of its word hashes computed for all positions at once in numpy; the MinHash
  permutations are ``a * x + b`` on uint64 (``a`` odd), minimum over the shingles, high
  32 bits kept. The signature is the same for the same text in every process (fixed seed).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import xxhash

NUM_PERM = 128
SHINGLE = 5  # words per shingle
MIN_LINE_WORDS = 8  # shorter lines are boilerplate-prone and left out of the shingles
SEED = 1
_CHUNK = 4096  # shingles per numpy block (bounds memory at NUM_PERM * _CHUNK * 8 bytes)

_WORD = re.compile(r"\w+")
# scripts written without spaces: each character counts as a word
_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK = re.compile(f"[{_CJK_RANGES}]")
_CJK_WORD = re.compile(f"[{_CJK_RANGES}]|[^\\W{_CJK_RANGES}]+")
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


def lines(text: str) -> list[list[str]]:
    """Normalised word lists, one per non-empty line."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    for ch in _APOS:
        if ch in text:
            text = text.replace(ch, "")
    words = (_CJK_WORD.findall(line) if _CJK.search(line) else _WORD.findall(line) for line in text.splitlines())
    return [w for w in words if w]


def shingles(text: str) -> np.ndarray:
    """Distinct uint64 shingle hashes of ``text`` (sorted)."""
    all_lines = lines(text)
    kept = [w for w in all_lines if len(w) >= MIN_LINE_WORDS]
    if not kept:  # nothing long: a short text; use all of it as one run
        kept = [[w for line in all_lines for w in line]]
    flat = [w for words in kept for w in words]
    if not flat:
        return np.empty(0, dtype=np.uint64)
    vocab = dict.fromkeys(flat)  # distinct words, each hashed once
    hashed = dict(zip(vocab, map(xxhash.xxh64_intdigest, map(str.encode, vocab))))
    h = np.fromiter(map(hashed.__getitem__, flat), dtype=np.uint64, count=len(flat))
    starts = np.cumsum([0] + [len(words) for words in kept[:-1]])
    n = len(h)
    if n < SHINGLE:
        return np.unique(h[:1] * _POS[0] + h.sum())
    acc = h[: n - SHINGLE + 1] * _POS[0]
    for j in range(1, SHINGLE):
        acc = acc + h[j : n - SHINGLE + 1 + j] * _POS[j]
    # a window is valid when it does not cross into the next line
    ends = np.append(starts[1:], n)
    line_end = np.repeat(ends, np.diff(np.append(starts, n)))[: n - SHINGLE + 1]
    valid = np.arange(n - SHINGLE + 1) + SHINGLE <= line_end
    acc = acc[valid]
    if acc.size == 0:  # every kept line is shorter than a shingle
        acc = h[:1] * _POS[0] + h.sum()
    acc ^= acc >> np.uint64(29)  # finalise: spread high bits down
    return np.unique(acc)


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
