"""HTML pages: main content against nav, share bars, related links, sidebars, footers."""

from __future__ import annotations

import orjson

from stream.clean import clean
from tests.clean.pages import PARAGRAPHS, article_page


def test_article_paragraphs_only() -> None:
    cleaned = clean("https://daily.example/news/night-buses", html=article_page())
    assert cleaned.text == "\n\n".join(PARAGRAPHS)
    assert cleaned.title == "Night buses come to the north"


def test_br_separated_text_in_divs_is_found() -> None:
    body = "<br><br>".join(PARAGRAPHS)
    page = f"<html><body><div class='menu'><a href='/'>Home</a></div><div class='txt'>{body}</div></body></html>"
    cleaned = clean("https://daily.example/a", html=page)
    for paragraph in PARAGRAPHS:
        assert paragraph in cleaned.text


def test_article_split_over_same_class_containers() -> None:
    teasers = "".join(
        f'<p><a href="/t{i}">Teaser headline number {i} about the city and its many new projects</a></p>'
        for i in range(6)
    )
    chunks = "".join(
        f"<div class='article__body'><p>{p}</p><p>{p.upper()}</p></div><div class='grid'>{teasers}</div>"
        for p in PARAGRAPHS
    )
    page = f"<html><body><main>{chunks}</main><footer><p>Contact us at the newsroom, every day, from eight to eight.</p></footer></body></html>"
    text = clean("https://daily.example/a", html=page).text
    assert text.split("\n\n") == [q for p in PARAGRAPHS for q in (p, p.upper())]


def test_json_ld_article_body_filters_captions() -> None:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "articleBody": "\n".join(PARAGRAPHS)}
    head = f'<script type="application/ld+json">{orjson.dumps(data).decode()}</script>'
    extra = "<p>Photo gallery: twelve pictures of the new night buses parked at the central depot.</p>"
    cleaned = clean("https://daily.example/a", html=article_page(head=head, extra_body=extra))
    assert cleaned.text == "\n\n".join(PARAGRAPHS)


def test_json_ld_article_body_replaces_a_teaser_dom() -> None:
    data = {"@type": "Article", "articleBody": "\n".join(PARAGRAPHS)}
    head = f'<script type="application/ld+json">{orjson.dumps(data).decode()}</script>'
    page = article_page(PARAGRAPHS[:1], head=head)
    assert clean("https://daily.example/a", html=page).text == "\n\n".join(PARAGRAPHS)


def test_inline_link_teasers_and_camel_case_captions_are_dropped() -> None:
    teaser = '<p><a href="/x">Tram strike: what it means for commuters</a> [VIDEO]</p>'
    caption = '<span class="newsCaption">The depot at night, before the first trial run</span>'
    for extra in (teaser, caption):
        text = clean("https://daily.example/a", html=article_page(extra_body=extra)).text
        assert text == "\n\n".join(PARAGRAPHS)


def test_a_container_class_outweighs_a_boilerplate_word_beside_it() -> None:
    # WordPress marks a "read more" story as ``entry-content entry-content-read-more``; the
    # story is short next to the teasers around it, and must not be pruned as a read-more link.
    teasers = "".join(
        f"<div class='teaser'><h3>Teaser headline {i} about the plans of the city council</h3>"
        f"<div class='excerpt'>The council met again on Monday to talk about the plans for the "
        f"new bridge, the harbour and the tram line number {i}.</div></div>"
        for i in range(8)
    )
    story = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:2])
    page = (f"<html><body><div class='post'>{teasers}"
            f"<div class='entry-content entry-content-read-more'>{story}</div></div></body></html>")
    text = clean("https://daily.example/a", html=page).text
    for paragraph in PARAGRAPHS[:2]:
        assert paragraph in text
