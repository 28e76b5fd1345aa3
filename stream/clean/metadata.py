"""Page metadata from the parsed HTML: title, publication date, language, canonical URL.

Read before the body is pruned. Sources, in order of trust:

* **title** ``og:title`` / ``twitter:title``, JSON-LD ``headline`` (or its ``name``, when
  only that is in ``<title>``), ``<title>``; a trailing `` | Site`` (or `` - Site`` naming
  the site) is cut. The first ``<h1>`` wins over ``<title>`` when the title starts with it
  ("Headline | Site") or ends with it ("Site: Headline"); an ``<h1>`` the title does not
  hold is a logo or a section name. JSON-LD may be wrapped in CDATA (XHTML).
* **published_at** ``article:published_time`` and kindred ``<meta>``, JSON-LD
  ``datePublished``, ``itemprop=datePublished``, the first ``<time datetime>``, a
  date in the URL path (``/2019/11/18/``). htmldate finds a few more, at ~2 ms a page.
* **lang** ``<html lang>``, ``content-language``, ``og:locale``, JSON-LD ``inLanguage``.
* **canonical_url** ``<link rel=canonical>`` resolved against the page URL, kept only
  when it names another page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import orjson
from selectolax.lexbor import LexborHTMLParser

MIN_YEAR = 1990  # earlier "publication" dates are placeholders
MAX_JSONLD_CHARS = 500_000  # larger scripts are skipped, not parsed
MAX_JSONLD_NODES = 2_000  # JSON-LD objects visited per page

_DATE_META = (
    "article:published_time", "og:published_time", "published_time", "datepublished",
    "pubdate", "publishdate", "publish-date", "publish_date", "date", "dc.date.issued",
    "dc.date", "dcterms.created", "sailthru.date", "parsely-pub-date", "article.published",
)
_TITLE_META = ("og:title", "twitter:title")
_SEPARATORS = re.compile(r"\s+[|–—:·•»-]\s+|\s+::\s+")
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?"
)
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/_-](\d{1,2})[/_-](\d{1,2})(?:[/_-]|$)")
_LANG = re.compile(r"^([a-zA-Z]{2})(?:$|[-_])")
_ARTICLE_TYPES = ("article", "posting", "report", "review", "story", "webpage")


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the page says about itself."""

    title: str = ""
    published_at: str | None = None
    lang: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    article_body: str | None = None  # JSON-LD articleBody, when the page has one


def read_metadata(url: str, tree: LexborHTMLParser, json_ld: list[str]) -> Metadata:
    """Collect the metadata of a parsed page (pure; never raises on odd markup).

    ``json_ld``: the texts of the page's ``application/ld+json`` scripts.
    """
    meta: dict[str, str] = {}
    head = tree.head if tree.head is not None else tree
    for node in head.css("meta[content]"):
        attrs = node.attributes
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
        key = key or attrs.get("http-equiv")
        if key and attrs.get("content"):
            meta.setdefault(key.strip().lower(), attrs["content"].strip())
    ld = _json_ld(json_ld)
    site = meta.get("og:site_name") or None
    return Metadata(
        title=_title(tree, meta, ld, site, url),
        published_at=_published(tree, meta, ld) or url_date(url),
        lang=_lang(tree, meta, ld),
        canonical_url=_canonical(url, tree),
        site_name=site,
        article_body=_str(ld.get("articleBody")) or None,
    )


def iso_date(value: str) -> str | None:
    """Return ``value`` as an ISO 8601 date or datetime, or None when it is not one."""
    match = _ISO.search(value or "")
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    if not MIN_YEAR <= int(year) <= datetime.now().year + 1:  # "0001-01-01" placeholders
        return None
    try:
        if hour is None:
            return datetime(int(year), int(month), int(day)).date().isoformat()
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                          int(second or 0))
    except ValueError:
        return None
    text = moment.isoformat()
    if zone:
        text += "+00:00" if zone == "Z" else f"{zone[:3]}:{zone[-2:]}"
    return text


def strip_site(title: str, site: str | None, url: str) -> str:
    """Cut a trailing (or leading) `` | Site`` part from a page title."""
    seps = list(_SEPARATORS.finditer(title))
    if not seps:
        return title.strip()
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    names = {_flat(n) for n in (site or "", host.split(".")[0], host) if n}

    def is_site(part: str) -> bool:
        flat = _flat(part)
        return bool(flat) and (flat in names or flat.removeprefix("the") in names)

    last, first = seps[-1], seps[0]
    before_last = title[: last.start()]
    if is_site(title[last.end():]) or ("|" in last.group() and len(title) - last.end() < len(before_last)):
        return before_last.strip()
    if is_site(title[: first.start()]):
        return title[first.end():].strip()
    return title.strip()


def _flat(text: str) -> str:
    return re.sub(r"\W", "", text).lower()


def _title(tree, meta, ld, site, url) -> str:
    for key in _TITLE_META:
        if meta.get(key):
            return strip_site(meta[key], site, url)
    node = (tree.head or tree).css_first("title")
    title = " ".join(node.text().split()) if node is not None else ""
    named = [text.strip() for text in (_str(ld.get("headline")), _str(ld.get("name"))) if text and text.strip()]
    if named:  # the one the title less its site holds (a description in "headline", the site in "name")
        held = _flat(strip_site(title, site, url))
        return next((text for text in named if (flat := _flat(text)) and flat in held), named[0])
    h1 = tree.css_first("h1")
    heading = " ".join(h1.text().split()) if h1 is not None else ""
    whole, head = _flat(title), _flat(heading)
    if head and len(heading) < 300 and (not whole or whole.startswith(head)
                                        or whole.endswith(head) and 2 * len(head) >= len(whole)):
        return heading  # "Headline | Site" or "Site: Headline": the headline alone
    return strip_site(title, site, url) or heading[:300]


def _published(tree, meta, ld) -> str | None:
    for key in _DATE_META:
        if key in meta and (value := iso_date(meta[key])):
            return value
    if value := iso_date(_str(ld.get("datePublished")) or _str(ld.get("dateCreated"))):
        return value
    for node in tree.css('[itemprop="datePublished"], time[datetime]'):
        attrs = node.attributes
        if value := iso_date(attrs.get("datetime") or attrs.get("content") or ""):
            return value
    return None


def url_date(url: str) -> str | None:
    """The date spelled in a URL path (``/2019/11/18/``, ``/2019-11-18-``), if any."""
    match = _URL_DATE.search(url)
    return iso_date("-".join(match.groups())) if match else None


def _lang(tree, meta, ld) -> str | None:
    html = tree.root  # the <html> element
    candidates = (
        html.attributes.get("lang") if html is not None else None,
        html.attributes.get("xml:lang") if html is not None else None,
        meta.get("content-language"), meta.get("og:locale"), meta.get("language"),
        _str(ld.get("inLanguage")),
    )
    for value in candidates:
        if value and (match := _LANG.match(value.strip())):
            return match.group(1).lower()
    return None


def _canonical(url: str, tree) -> str | None:
    node = (tree.head or tree).css_first('link[rel="canonical"][href]')
    if node is None:
        return None
    href = (node.attributes.get("href") or "").strip()
    if not href or href == url:
        return None
    try:
        target = urljoin(url, href)
    except ValueError:
        return None
    if not target.startswith(("http://", "https://")):
        return None
    return None if _same_page(target, url) else target


def _same_page(a: str, b: str) -> bool:
    def key(u: str) -> str:
        parts = urlsplit(u)
        return f"{(parts.hostname or '').removeprefix('www.')}{parts.path.rstrip('/')}?{parts.query}"

    try:
        return key(a) == key(b)
    except ValueError:
        return False


def _json_ld(scripts: list[str]) -> dict:
    """The first article-like JSON-LD object of the page (empty dict when none)."""
    found: dict = {}
    for raw in scripts:
        if not raw or len(raw) > MAX_JSONLD_CHARS:
            continue
        try:
            data = orjson.loads(_without_cdata(raw).strip().rstrip(";"))
        except orjson.JSONDecodeError:
            continue
        for obj in _objects(data):
            kind = obj.get("@type")
            kinds = " ".join(k for k in (kind if isinstance(kind, list) else [kind])
                             if isinstance(k, str)).lower()
            if any(t in kinds for t in _ARTICLE_TYPES):
                if "articleBody" in obj or not found:
                    found = obj
                if "articleBody" in obj:
                    return found
    return found


def _without_cdata(raw: str) -> str:
    """A script's text out of an XHTML CDATA wrapper ("<![CDATA[ ... ]]>", often behind // or /* */)."""
    start, end = raw.find("<![CDATA["), raw.rfind("]]>")
    if start < 0 or end < start:
        return raw
    inner = raw[start + 9:end].strip()
    return inner.removeprefix("*/").removesuffix("//").removesuffix("/*")


def _objects(data):
    """Dicts of a JSON-LD document, breadth first, bounded."""
    queue, seen = [data], 0
    while queue and seen < MAX_JSONLD_NODES:
        item = queue.pop(0)
        seen += 1
        if isinstance(item, dict):
            yield item
            queue.extend(v for k, v in item.items() if k in ("@graph", "mainEntity", "mainEntityOfPage")
                         or isinstance(v, list) and k == "itemListElement")
        elif isinstance(item, list):
            queue.extend(item[:100])


def _str(value) -> str:
    if isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) else ""
