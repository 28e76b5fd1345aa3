"""Flattened text pages: the shipped syndicated sample and the generic line rules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stream.clean import clean
from stream.errors import BadRecord

SAMPLE = Path(__file__).resolve().parents[2] / "stream" / "samples" / "syndicated-copy.txt"  # a copy of shared/


def _expected_sample_body(raw: str) -> str:
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    first = next(i for i, line in enumerate(lines) if line.startswith("Russian President Vladimir Putin will speak"))
    last = next(i for i, line in enumerate(lines) if line.endswith("there is always a chance.”"))
    return "\n\n".join(line for line in lines[first: last + 1] if not line.startswith("Kwork.ru"))


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared sample not mounted")
def test_syndicated_sample_is_exactly_the_article() -> None:
    raw = SAMPLE.read_text(encoding="utf-8")
    cleaned = clean("https://paradox.example/world/putin-security-council", text=raw)
    assert cleaned.title == "Putin set to address security officials – Kremlin"
    assert cleaned.text == _expected_sample_body(raw)
    assert cleaned.text.startswith("Russian President Vladimir Putin will speak")
    assert cleaned.text.endswith("there is always a chance.”")
    assert "Kwork.ru" not in cleaned.text
    assert cleaned.lang == "en"


BODY = [
    "The harbour authority said on Friday that the old lighthouse would reopen to visitors next summer.",
    "Restoration work on the tower, which dates from 1862, took almost four years and cost two million euros.",
    "Volunteers will guide the tours, which must be booked in advance on the authority's website.",
]


def test_generic_furniture_is_dropped() -> None:
    raw = "\n".join([
        "Cheap flights to anywhere - book now",
        "Home › Local › Lighthouse reopens to visitors",
        "Lighthouse reopens to visitors",
        BODY[0],
        "Cheap flights to anywhere - book now",
        BODY[1],
        "Advertisement",
        BODY[2],
        "Copyright 2024 Coast News. All rights reserved.",
        "Related Posts",
        "Ferry timetable changes for the winter season …",
        "Leave a Reply",
        "Your email address will not be published. Required fields are marked *",
    ])
    cleaned = clean("https://coast.example/lighthouse", text=raw)
    assert cleaned.title == "Lighthouse reopens to visitors"
    assert cleaned.text == "\n\n".join(BODY)


def test_breadcrumb_ending_in_a_long_title_is_dropped() -> None:
    title = "Regional council approves the long awaited harbour lighthouse restoration plan"
    raw = "\n".join([f"Home / LOCAL / {title}", title, *BODY])
    cleaned = clean("https://coast.example/lighthouse", text=raw)
    assert cleaned.title == title
    assert cleaned.text == "\n\n".join(BODY)


def test_hard_wrapped_paragraphs_are_joined() -> None:
    wrapped = "\n\n".join("\n".join(textwrap.wrap(paragraph, 60)) for paragraph in BODY)
    cleaned = clean("https://coast.example/lighthouse", text="Lighthouse reopens to visitors\n\n" + wrapped)
    assert cleaned.text == "\n\n".join(BODY)


def test_attribution_line_is_reported() -> None:
    raw = "\n".join(BODY + ["This article originally appeared on The Conversation."])
    assert clean("https://x.example/a", text=raw).attribution == "The Conversation"


@pytest.mark.parametrize("raw", ["", "   \n\n  ", "Home\nMenu\nSearch"])
def test_text_without_an_article_is_no_content(raw: str) -> None:
    with pytest.raises(BadRecord) as info:
        clean("https://x.example/a", text=raw)
    assert info.value.reason == "no_content"
