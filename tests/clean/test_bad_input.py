"""Hostile and broken input: each kind gets a clear outcome (a result or BadRecord), quickly.

No timing assertions: a hang fails through pytest-timeout (the suite's ``timeout``).
"""

from __future__ import annotations

import pytest

from stream.clean import Cleaned, clean
from stream.errors import BadRecord
from tests.clean.pages import PARAGRAPHS, article_page

URL = "https://daily.example/a"


def _outcome(**page) -> Cleaned | BadRecord:
    try:
        return clean(URL, **page)
    except BadRecord as exc:
        return exc


def test_pathological_nesting_is_too_deep() -> None:
    page = "<html><body>" + "<div>" * 100_000 + "<p>deep</p>" + "</div>" * 100_000 + "</body></html>"
    result = _outcome(html=page)
    assert isinstance(result, BadRecord) and result.reason == "too_deep"


def test_unclosed_nesting_is_too_deep() -> None:
    result = _outcome(html="<b><i>" * 50_000 + "text")
    assert isinstance(result, BadRecord) and result.reason == "too_deep"


def test_moderate_nesting_still_reads_the_article() -> None:
    inner = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    page = "<html><body>" + "<div>" * 200 + inner + "</div>" * 200 + "</body></html>"
    result = _outcome(html=page)
    assert isinstance(result, Cleaned) and PARAGRAPHS[0] in result.text


def test_entity_bomb_is_not_expanded() -> None:
    laughs = "".join(f'<!ENTITY lol{i} "{"&lol%d;" % (i - 1) * 10}">' for i in range(1, 10))
    page = (f'<!DOCTYPE html [<!ENTITY lol0 "lol">{laughs}]><html><body><p>&lol9;</p>'
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</body></html>")
    result = _outcome(html=page)
    assert isinstance(result, Cleaned)
    assert "lollol" not in result.text and len(result.text) < 2 * len(" ".join(PARAGRAPHS))


def test_huge_run_of_entities_gives_an_outcome() -> None:
    result = _outcome(html="<html><body><p>" + "&amp;&lt;&#x41;" * 300_000 + "</p></body></html>")
    assert isinstance(result, BadRecord | Cleaned)
    if isinstance(result, BadRecord):
        assert result.reason == "no_content"


def test_nul_bytes_are_dropped() -> None:
    page = article_page().replace("city council", "city\x00 council")
    result = _outcome(html=page)
    assert isinstance(result, Cleaned) and "\x00" not in result.text
    text_result = _outcome(text="\x00".join(PARAGRAPHS[0].split(" ", 3)) + "\n" + PARAGRAPHS[1])
    assert isinstance(text_result, Cleaned) and "\x00" not in text_result.text


def test_malformed_html_is_read() -> None:
    broken = ("<html><body><div class=story><p>" + PARAGRAPHS[0] + "<p>" + PARAGRAPHS[1]
              + "</span></b><table><tr><td><p>" + PARAGRAPHS[2] + "<div <p>>" + PARAGRAPHS[3])
    result = _outcome(html=broken)
    assert isinstance(result, Cleaned)
    assert PARAGRAPHS[0] in result.text and PARAGRAPHS[2] in result.text


def test_encoding_declared_only_in_meta_gives_mojibake_not_an_error() -> None:
    page = article_page(["Le conseil municipal a voté mardi l'extension du réseau de bus de nuit aux quartiers du nord."] * 1
                        + PARAGRAPHS, head='<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">')
    mojibake = page.encode("utf-8").decode("latin-1")
    result = _outcome(html=mojibake)
    assert isinstance(result, Cleaned) and "conseil municipal" in result.text


@pytest.mark.parametrize("page", ["", "   ", "<html></html>", "<html><head><title>x</title></head><body></body></html>",
                                  "<!-- nothing -->", "<script>var a = 1;</script>"])
def test_empty_pages_are_no_content(page: str) -> None:
    result = _outcome(html=page)
    assert isinstance(result, BadRecord) and result.reason == "no_content"


def test_binary_garbage_gives_an_outcome() -> None:
    garbage = bytes(range(256)).decode("latin-1") * 400
    for kind in ("html", "text"):
        result = _outcome(**{kind: garbage})
        assert isinstance(result, BadRecord | Cleaned)


def test_neither_html_nor_text_is_bad_input() -> None:
    result = _outcome()
    assert isinstance(result, BadRecord) and result.reason == "bad_input"


def test_blank_html_with_text_uses_the_text() -> None:
    result = _outcome(html="  ", text="\n".join(PARAGRAPHS))
    assert isinstance(result, Cleaned) and result.text == "\n\n".join(PARAGRAPHS)


def test_non_string_input_is_a_bad_record() -> None:
    result = _outcome(html=b"<p>bytes</p>")  # type: ignore[arg-type]
    assert isinstance(result, BadRecord)
