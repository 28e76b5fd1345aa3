"""Synthetic stories with copies, for fault tests that need many records quickly.

Each story is paragraphs of words drawn from its own seeded generator, so no two
stories share text; each copy wraps the same paragraphs in a site's header and
footer lines and changes one word, as light syndication edits do.
"""

from __future__ import annotations

import random

import orjson

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "pa", "qu", "zo", "fe", "gi", "ba", "chu"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def story(n: int) -> list[str]:
    rng = random.Random(n)
    return [" ".join(_word(rng) for _ in range(rng.randint(30, 50))) + "." for _ in range(5)]


def copy(n: int, c: int) -> bytes:
    paras = story(n)
    rng = random.Random(n * 1000 + c)
    words = paras[2].split()
    words[rng.randrange(len(words))] = "edited"
    paras[2] = " ".join(words)
    text = "\n\n".join([f"Site {c} news", f"Headline {n} as told by site {c}", *paras, f"© site{c}.example"])
    return orjson.dumps({"url": f"https://site{c}.example/story/{n}", "text": text, "story": n})


def stream(stories: int, copies: int) -> list[bytes]:
    """``stories * copies`` records; the copies of one story are spread through the stream."""
    values = [copy(n, c) for c in range(copies) for n in range(stories)]
    return values
