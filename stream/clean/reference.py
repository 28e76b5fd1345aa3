"""Cross-check extracted blocks against the page's own JSON-LD ``articleBody``.

When the page ships its article as structured data and the extracted blocks cover
most of it, blocks absent from it (captions, teasers, bylines) are dropped. When the
blocks miss most of it (the DOM held only a teaser or a gallery), the ``articleBody``
itself is used, split at its line breaks. Short or markup-laden bodies are ignored.
"""

from __future__ import annotations

import re

MIN_REFERENCE = 400  # characters for an articleBody to be trusted
COVERED = 0.8  # share of the reference the kept blocks must cover to filter by it
_TOKEN = re.compile(r"\w+")


def follow_reference(blocks: list[str], reference: str | None) -> list[str]:
    """Return ``blocks`` filtered by (or replaced with) a plausible ``reference`` text."""
    if not reference or len(reference) < MIN_REFERENCE or "</" in reference:
        return blocks
    ref = _tokens(reference)
    if not ref:
        return blocks
    kept: list[str] = []
    covered = 0
    for block in blocks:
        tokens = _tokens(block)
        if tokens and tokens in ref:
            kept.append(block)
            covered += len(tokens)
    if covered >= COVERED * len(ref):
        return kept
    extracted = sum(len(b) for b in blocks)
    if covered < 0.3 * len(ref) and extracted < 0.5 * len(reference):
        return [" ".join(p.split()) for p in re.split(r"\n\s*", reference) if p.strip()]
    return blocks


def _tokens(text: str) -> str:
    """The words of ``text``, lower-cased, one space apart."""
    return " ".join(_TOKEN.findall(text.lower()))
