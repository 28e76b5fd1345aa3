"""A corpus of bad input records: (kind, value bytes, expected dead-letter reason).

Each kind is one way a real producer or a hostile page breaks a record.
"""

from __future__ import annotations

import random

import orjson

LIMIT = 4 * 1024 * 1024  # the default STREAM_MAX_RECORD_BYTES
URL = "https://bad.example/page"


def _page(**fields) -> bytes:
    return orjson.dumps({"url": URL, **fields})


def corpus() -> list[tuple[str, bytes | None, str]]:
    rng = random.Random(7)
    deep = "<div>" * 100_000 + "text" + "</div>" * 100_000
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">' for i in range(10))
            + ']><html><body><p>&lol9;</p></body></html>')
    return [
        ("invalid json", b'{"url": "https://bad.example/", "text": ', "invalid_json"),
        ("truncated json", _page(text="a" * 100)[:-10], "invalid_json"),
        ("json array", b'["https://bad.example/", "<p>x</p>"]', "not_an_object"),
        ("json number", b"12345", "not_an_object"),
        ("json null", b"null", "not_an_object"),
        ("json string", b'"https://bad.example/"', "not_an_object"),
        ("json bool", b"true", "not_an_object"),
        ("json nested 5000 deep", b"[" * 5000 + b"]" * 5000, "invalid_json"),
        ("empty value", b"", "empty_record"),
        ("tombstone (no value)", None, "empty_record"),
        ("missing url", orjson.dumps({"html": "<p>Some text here.</p>"}), "missing_url"),
        ("url is a number", orjson.dumps({"url": 42, "text": "Some text."}), "bad_url"),
        ("url is a list", orjson.dumps({"url": [URL], "text": "Some text."}), "bad_url"),
        ("url is empty", orjson.dumps({"url": "", "text": "Some text."}), "bad_url"),
        ("url is not http", orjson.dumps({"url": "javascript:alert(1)", "text": "Some text."}), "bad_url"),
        ("neither html nor text", _page(), "no_content"),
        ("html and text both empty", _page(html="", text=""), "no_content"),
        ("both html and text", _page(html="<p>a</p>", text="a"), "both_html_and_text"),
        ("html is a number", _page(html=12), "bad_html"),
        ("text is an object", _page(text={"body": "x"}), "bad_text"),
        ("fetched_at is a number", _page(text="Some text.", fetched_at=1645437600), "bad_fetched_at"),
        ("malformed fetched_at", _page(text="Some text.", fetched_at="21/02/2022 10:00"), "bad_fetched_at"),
        ("malformed published_at", _page(text="Some text.", published_at="last Monday"), "bad_published_at"),
        ("lang is a list", _page(text="Some text.", lang=["en"]), "bad_lang"),
        ("invalid utf-8", b'{"url": "https://bad.example/", "text": "caf\xe9 \xff\xfe"}', "invalid_utf8"),
        ("utf-16 json", '{"url": "https://bad.example/", "text": "x"}'.encode("utf-16"), "invalid_utf8"),
        ("raw NUL byte", b'{"url": "https://bad.example/", "text": "a\x00b"}', "invalid_json"),
        ("escaped NUL", _page(text="a\u0000b " * 50), "nul_bytes"),
        ("binary garbage", bytes(rng.getrandbits(8) for _ in range(4096)), "invalid_utf8"),
        ("over the size limit", _page(html="<p>" + "word " * (LIMIT // 5) + "</p>"), "too_large"),
        ("single 10 MB line", _page(text="x" * (10 * 1024 * 1024)), "too_large"),
        ("html nested 100,000 deep", _page(html=deep), "too_deep"),
        ("entity-expansion bomb", _page(html=bomb), "no_content"),
        ("html without text", _page(html="<html><head><script>var a=1;</script></head><body> </body></html>"),
         "no_content"),
    ]
