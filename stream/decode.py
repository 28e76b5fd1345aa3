"""Raw record bytes to a :class:`RawPage`, or :class:`BadRecord` with a stable reason."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

import orjson
import xxhash

from stream.errors import BadRecord
from stream.models import RawPage

_KNOWN = ("url", "html", "text", "fetched_at", "published_at", "lang")


def decode(value: bytes | None, max_bytes: int) -> RawPage:
    if value is None or len(value) == 0:
        raise BadRecord("empty_record", "the record has no value")
    if len(value) > max_bytes:
        raise BadRecord("too_large", f"{len(value)} bytes, the limit is {max_bytes}")
    try:
        obj = orjson.loads(value)  # rejects invalid UTF-8 too, so no separate decode on the hot path
    except orjson.JSONDecodeError as exc:
        try:
            value.decode("utf-8")  # only to tell the two reasons apart
        except UnicodeDecodeError as utf8_exc:
            raise BadRecord("invalid_utf8", f"undecodable byte at position {utf8_exc.start}") from utf8_exc
        raise BadRecord("invalid_json", str(exc)[:200]) from exc
    if not isinstance(obj, dict):
        raise BadRecord("not_an_object", f"the JSON value is {type(obj).__name__}, not an object")
    url = obj.get("url")
    if url is None:
        raise BadRecord("missing_url", "no url field")
    if not isinstance(url, str):
        raise BadRecord("bad_url", f"url is {type(url).__name__}, not a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRecord("bad_url", f"not an absolute http(s) URL: {url[:200]!r}")
    html, text = _string(obj, "html"), _string(obj, "text")
    if html and text:
        raise BadRecord("both_html_and_text", "exactly one of html and text is needed")
    if not html and not text:
        raise BadRecord("no_content", "neither html nor text has content")
    body = html or text
    if "\x00" in body:
        raise BadRecord("nul_bytes", "the page contains NUL characters")
    return RawPage(
        url=url,
        html=html or None,
        text=text or None,
        fetched_at=_date(obj, "fetched_at"),
        published_at=_date(obj, "published_at"),
        lang=_string(obj, "lang") or None,
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def _string(obj: dict, name: str) -> str | None:
    value = obj.get(name)
    if value is None or isinstance(value, str):
        return value
    raise BadRecord(f"bad_{name}", f"{name} is {type(value).__name__}, not a string")


def _date(obj: dict, name: str) -> str | None:
    value = _string(obj, name)
    if value is not None and parse_time(value) is None:
        raise BadRecord(f"bad_{name}", f"{name} is not an RFC 3339 timestamp: {value[:60]!r}")
    return value


def parse_time(value: str) -> float | None:
    """Epoch seconds of an RFC 3339 / ISO 8601 timestamp or date, else None."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def doc_id(page: RawPage) -> str:
    """Deterministic id: the same input record gives the same id on every run and machine.

    The first 80 bits (20 hex digits) of xxh3-128 over url, fetched_at and body, each
    followed by a NUL byte; xxh3 is fast and its bits are spread well enough for an id.
    """
    h = xxhash.xxh3_128()
    for part in (page.url, page.fetched_at or "", page.html or page.text or ""):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:20]


def source(url: str) -> str:
    """The site a URL belongs to, without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host
