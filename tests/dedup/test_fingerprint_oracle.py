"""Our MinHash estimates Jaccard similarity as datasketch's MinHash does, on the same shingles.

datasketch is the reference implementation (SHA-1 hashes, permutations modulo a Mersenne
prime); ours is xxhash and ``a * x + b`` on 64-bit words. Both estimate the Jaccard
similarity of two shingle sets with the sampling error of 128 permutations,
``sqrt(J (1 - J) / 128)``; each is checked against the exact value, and ours against theirs.
"""

from __future__ import annotations

import math

import numpy as np
from datasketch import MinHash

from stream.dedup.fingerprint import NUM_PERM, minhash, shingles
from tests import stories
from tests.dedup.conftest import paragraphs, read

Z = 4.0  # standard errors allowed: the texts are fixed, so the test is deterministic


def ours(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(minhash(a) == minhash(b)))


def theirs(a: np.ndarray, b: np.ndarray) -> float:
    sketches = [MinHash(num_perm=NUM_PERM, seed=1) for _ in range(2)]
    for sketch, hashes in zip(sketches, (a, b)):
        sketch.update_batch([h.tobytes() for h in hashes])
    return sketches[0].jaccard(sketches[1])


def exact(a: np.ndarray, b: np.ndarray) -> float:
    return np.intersect1d(a, b).size / np.union1d(a, b).size


def pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Shingle sets of two texts that share 0 to 40 of their 40 paragraphs (each pair made of
    stories of its own, so the pairs' errors are independent), and real copies."""
    out = []
    for k in range(0, 41, 2):
        base, other = ([p for n in range(first, first + 8) for p in stories.story(n)]
                       for first in (1000 * k, 1000 * k + 500))
        out.append((shingles("\n\n".join(base)), shingles("\n\n".join(base[:k] + other[k:]))))
    story = "\n\n".join(paragraphs("putin-paragraphs.txt"))
    for name in ("syndicated-copy.txt", "same-boilerplate-other-story.txt", "new-text.txt"):
        out.append((shingles(story), shingles(read(name))))
    return out


def test_our_estimates_agree_with_datasketch_within_the_sampling_error():
    rows = [(exact(a, b), ours(a, b), theirs(a, b)) for a, b in pairs()]
    assert min(j for j, _, _ in rows) < 0.05 and max(j for j, _, _ in rows) == 1.0  # the whole range
    for j, mine, ref in rows:
        error = math.sqrt(j * (1 - j) / NUM_PERM) + 1 / NUM_PERM
        assert abs(ref - j) <= Z * error, (j, ref)  # the oracle itself
        assert abs(mine - j) <= Z * error, (j, mine)
        assert abs(mine - ref) <= Z * math.sqrt(2) * error, (j, mine, ref)
    # no bias: the mean error over all pairs is within the sampling error of that mean
    spread = math.sqrt(sum(j * (1 - j) / NUM_PERM for j, _, _ in rows)) / len(rows)
    assert abs(np.mean([mine - j for j, mine, _ in rows])) <= Z * spread + 1 / NUM_PERM
