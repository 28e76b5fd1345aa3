"""Title, publication date, language, canonical URL and attribution."""

from __future__ import annotations

import orjson
import pytest

from stream.clean import clean
from stream.clean.metadata import iso_date, strip_site
from tests.clean.pages import PARAGRAPHS, article_page

URL = "https://daily.example/news/night-buses"


def test_title_prefers_og_title() -> None:
    head = '<meta property="og:title" content="Night buses: the full plan">'
    assert clean(URL, html=article_page(head=head)).title == "Night buses: the full plan"


def test_title_falls_back_to_the_document_title_without_site() -> None:
    assert clean(URL, html=article_page()).title == "Night buses come to the north"  # h1 = title less site
    page = article_page().replace("<h1>Night buses come to the north</h1>", "")
    assert clean(URL, html=page).title == "Night buses come to the north"


HEADLINE = "Night buses come to the north"


@pytest.mark.parametrize(("h1", "document_title", "expected"), [
    ("The Daily Example", f"{HEADLINE} | The Daily Example", HEADLINE),  # a logo
    ("Transport", f"{HEADLINE} | The Daily Example", HEADLINE),  # a section
    ("Night buses: the whole plan", f"{HEADLINE} | The Daily Example", HEADLINE),
    (HEADLINE, f"The Daily Example: {HEADLINE}", HEADLINE),  # the site first
    ("Night buses", "Night buses | The Daily Example", "Night buses"),  # the title starts with it
])
def test_the_h1_is_the_title_only_where_the_document_title_holds_it(h1: str, document_title: str,
                                                                    expected: str) -> None:
    page = article_page().replace(f"<h1>{HEADLINE}</h1>", f"<h1>{h1}</h1>").replace(
        f"<title>{HEADLINE} | The Daily Example</title>", f"<title>{document_title}</title>")
    assert f"<h1>{h1}</h1>" in page and f"<title>{document_title}</title>" in page
    assert clean(URL, html=page).title == expected


@pytest.mark.parametrize(("headline", "name", "expected"), [
    (HEADLINE, None, HEADLINE),
    ("A plan for the northern districts", HEADLINE, HEADLINE),  # a description in "headline"
    (HEADLINE, "The Daily Example", HEADLINE),
    ("Night buses: the whole plan", "The Daily Example", "Night buses: the whole plan"),  # neither in <title>
])
def test_json_ld_title_is_the_one_the_document_title_holds(headline: str, name: str | None, expected: str) -> None:
    ld = {"@type": "Article", "headline": headline, **({"name": name} if name else {})}
    page = article_page(head=f'<script type="application/ld+json">{orjson.dumps(ld).decode()}</script>')
    assert clean(URL, html=page).title == expected


@pytest.mark.parametrize(("title", "site", "url", "expected"), [
    ("Night buses | The Daily Example", None, URL, "Night buses"),
    ("Night buses - Daily Example", "Daily Example", URL, "Night buses"),
    ("Putin set to address security officials – Kremlin", None, "https://rt.com/a", "Putin set to address security officials – Kremlin"),
    ("RT - Putin speaks", None, "https://rt.com/a", "Putin speaks"),
])
def test_strip_site(title: str, site: str | None, url: str, expected: str) -> None:
    assert strip_site(title, site, url) == expected


@pytest.mark.parametrize(("head", "expected"), [
    ('<meta property="article:published_time" content="2024-03-03T08:15:00Z">', "2024-03-03T08:15:00+00:00"),
    ('<meta name="pubdate" content="2024-03-03">', "2024-03-03"),
    ('<script type="application/ld+json">' + orjson.dumps({"@type": "NewsArticle", "datePublished": "2024-03-03T08:15:00+01:00"}).decode() + "</script>", "2024-03-03T08:15:00+01:00"),
    ('<script type="application/ld+json">\n<![CDATA[\n{"@type": "BlogPosting", "datePublished": "2024-03-03"}\n]]>\n</script>', "2024-03-03"),
    ('<script type="application/ld+json">//<![CDATA[\n{"@type": "BlogPosting", "datePublished": "2024-03-03"}\n//]]></script>', "2024-03-03"),
    ('', None),
])
def test_published_at(head: str, expected: str | None) -> None:
    page = article_page(head=head).replace("By Jane Reporter, 3 March 2024", "By Jane Reporter")
    assert clean(URL, html=page).published_at == expected


def test_published_at_from_time_element() -> None:
    extra = '<p>Posted <time datetime="2023-12-31T23:59:00">New Year\'s Eve</time>.</p>'
    assert clean(URL, html=article_page(extra_body=extra)).published_at == "2023-12-31T23:59:00"


def test_iso_date_rejects_nonsense() -> None:
    assert iso_date("2024-02-30") is None
    assert iso_date("yesterday") is None


def test_lang_from_html_attribute_and_from_text() -> None:
    assert clean(URL, html=article_page(html_attrs=' lang="de-AT"')).lang == "de"
    german = [
        "Der Stadtrat hat am Dienstag beschlossen, das Nachtbusnetz auf die nördlichen Bezirke auszuweiten.",
        "Nach dem Plan werden sechs neue Linien zwischen Mitternacht und fünf Uhr morgens alle zwanzig Minuten fahren.",
        "Kritiker sagten, das Geld wäre besser für die bestehenden Tageslinien ausgegeben, die oft überfüllt sind.",
    ]
    assert clean(URL, html=article_page(german, html_attrs="")).lang == "de"


def test_canonical_url_only_when_it_names_another_page() -> None:
    other = '<link rel="canonical" href="https://origin.example/story/42">'
    assert clean(URL, html=article_page(head=other)).canonical_url == "https://origin.example/story/42"
    relative = '<link rel="canonical" href="/story/42">'
    assert clean(URL, html=article_page(head=relative)).canonical_url == "https://daily.example/story/42"
    same = f'<link rel="canonical" href="{URL}/">'
    assert clean(URL, html=article_page(head=same)).canonical_url is None
    assert clean(URL, html=article_page()).canonical_url is None


def test_attribution_from_html() -> None:
    extra = "<p><em>This story originally appeared on Grist and is republished here as part of Covering Climate Now.</em></p>"
    cleaned = clean(URL, html=article_page(extra_body=extra))
    assert cleaned.attribution == "Grist"
    assert clean(URL, html=article_page()).attribution is None
    assert PARAGRAPHS[0] in cleaned.text


def test_published_at_falls_back_to_the_url_and_rejects_placeholders() -> None:
    dated = "https://daily.example/2024/03/03/night-buses"
    assert clean(dated, html=article_page()).published_at == "2024-03-03"
    placeholder = '<meta property="article:published_time" content="0001-01-01T00:00:00Z">'
    assert clean(URL, html=article_page(head=placeholder)).published_at is None
