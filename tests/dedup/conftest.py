"""Helpers for the pure dedup tests: data files and one-line documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.dedup import Deduper, Doc, MemoryIndex, fingerprint
from stream.dedup.canonical import rank

DATA = Path(__file__).parent / "data"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def paragraphs(name: str) -> list[str]:
    return [p.strip() for p in read(name).split("\n\n") if p.strip()]


def make_doc(doc_id: str, text: str, *, url: str | None = None, published_at: str | None = None,
             seen: float = 0.0, site: str | None = None) -> Doc:
    url = url or f"https://{doc_id}.example/story"
    return Doc(doc_id, fingerprint(text), seen, rank(url, published_at, seen=seen), site=site)


@pytest.fixture
def deduper() -> Deduper:
    return Deduper(MemoryIndex())
