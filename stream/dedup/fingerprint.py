"""Text to MinHash signature: normalise, shingle, hash."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import xxhash
from datasketch import MinHash

NUM_PERM = 128
SHINGLE = 5
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A signature plus the number of distinct shingles it summarises."""

    signature: np.ndarray  # uint32[NUM_PERM]
    size: int


def _hash(b: bytes) -> int:
    return xxhash.xxh32_intdigest(b)


def fingerprint(text: str) -> Fingerprint:
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i : i + SHINGLE]).encode() for i in range(max(1, len(words) - SHINGLE + 1))}
    mh = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=_hash)
    mh.update_batch(list(shingles))
    return Fingerprint(signature=mh.hashvalues.astype(np.uint32), size=len(shingles))
