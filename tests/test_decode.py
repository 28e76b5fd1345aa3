import orjson
import pytest

from stream.decode import decode, doc_id, parse_time, source
from stream.errors import BadRecord

LIMIT = 1000


def reason(value: bytes | None, limit: int = LIMIT) -> str:
    with pytest.raises(BadRecord) as err:
        decode(value, limit)
    return err.value.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "empty_record"),
        (b"", "empty_record"),
        (b"x" * (LIMIT + 1), "too_large"),
        (b'{"url": "https://a.b/", "text": "\xff\xfe"}', "invalid_utf8"),
        (b"{nope", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b"42", "not_an_object"),
        (b"null", "not_an_object"),
        (b'{"text": "hi"}', "missing_url"),
        (b'{"url": 7, "text": "hi"}', "bad_url"),
        (b'{"url": "ftp://a.b/x", "text": "hi"}', "bad_url"),
        (b'{"url": "https://a.b/"}', "no_content"),
        (b'{"url": "https://a.b/", "html": "", "text": ""}', "no_content"),
        (b'{"url": "https://a.b/", "html": "<p>a</p>", "text": "a"}', "both_html_and_text"),
        (b'{"url": "https://a.b/", "html": ["<p>"]}', "bad_html"),
        (b'{"url": "https://a.b/", "text": "a\\u0000b"}', "nul_bytes"),
        (b'{"url": "https://a.b/", "text": "a", "fetched_at": "yesterday"}', "bad_fetched_at"),
        (b'{"url": "https://a.b/", "text": "a", "published_at": 20220221}', "bad_published_at"),
        (b'{"url": "https://a.b/", "text": "a", "lang": {"x": 1}}', "bad_lang"),
    ],
)
def test_bad_records_get_a_stable_reason(value, expected):
    assert reason(value) == expected


@pytest.mark.parametrize(("value", "position"), [
    (b'{"url": "\xc3\xa9\xed\xa0\x80"}', 11),  # an encoded surrogate
    (b"{nope \xc3\xa9\xff", 8),  # invalid JSON as well
    (b'["\xc3\xa9", \xc0\x80]', 7),  # overlong encoding outside a string
])
def test_invalid_utf8_wins_over_invalid_json_and_names_the_byte(value, position):
    with pytest.raises(BadRecord) as err:
        decode(value, LIMIT)
    assert (err.value.reason, err.value.detail) == ("invalid_utf8", f"undecodable byte at position {position}")


def test_good_record_keeps_other_fields():
    page = decode(orjson.dumps({"url": "https://www.a.b/x", "html": "<p>a</p>", "feed": {"n": 1},
                                "fetched_at": "2022-02-21T10:00:00Z", "lang": "en"}), LIMIT)
    assert (page.url, page.html, page.text, page.lang) == ("https://www.a.b/x", "<p>a</p>", None, "en")
    assert page.extra == {"feed": {"n": 1}}
    assert source(page.url) == "a.b"


def test_empty_text_with_html_uses_html():
    page = decode(b'{"url": "https://a.b/", "html": "<p>a</p>", "text": ""}', LIMIT)
    assert page.html == "<p>a</p>" and page.text is None


def test_ids_are_deterministic_and_depend_on_content():
    a = decode(b'{"url": "https://a.b/", "text": "one"}', LIMIT)
    assert doc_id(a) == doc_id(decode(b'{"url": "https://a.b/", "text": "one"}', LIMIT))
    assert doc_id(a) != doc_id(decode(b'{"url": "https://a.b/", "text": "two"}', LIMIT))
    assert len(doc_id(a)) == 20 and int(doc_id(a), 16) >= 0


def test_parse_time():
    assert parse_time("2022-02-21T10:00:00Z") == 1645437600.0
    assert parse_time("2022-02-21T12:00:00+02:00") == 1645437600.0
    assert parse_time("2022-02-21") == 1645401600.0
    assert parse_time("Monday") is None
