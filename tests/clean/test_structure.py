"""Article text the cleaner used to cut (issue #17), one small page written for each cause.

Each page wraps its article in a site's furniture (header, menu, footer) and checks that
the article comes out whole and the furniture does not. Most of these failed before the
issue's changes; those for ``<br>`` text in cells, text in ``<div>``s, pages with little
markup and non-Latin or right-to-left scripts keep what already worked.
"""

from __future__ import annotations

import pytest

from stream.clean import clean
from stream.errors import BadRecord

URL = "https://site.example/page"
MENU = ("<header><a href='/'>Site</a></header><div class='topbar'><ul>"
        "<li><a href='/a'>Home</a></li><li><a href='/b'>Recipes</a></li><li><a href='/c'>Travel</a></li>"
        "<li><a href='/d'>Forum</a></li><li><a href='/e'>Contact</a></li></ul></div>")
FOOTER = "<footer><p>© 2024 Site Example. All rights reserved.</p></footer>"


def _page(body: str, *, lang: str = "en", attrs: str = "") -> str:
    return (f"<!DOCTYPE html><html lang='{lang}'{attrs}><head><meta charset='utf-8'><title>Page</title>"
            f"</head><body>{MENU}{body}{FOOTER}</body></html>")


def _lines(page: str) -> list[str]:
    return clean(URL, html=page).text.split("\n\n")


def test_an_article_in_sections_comes_out_whole_and_the_teasers_stay_out() -> None:
    # Each section: a heading, an image with a caption, one or two paragraphs. The best
    # scored container is one section; its ancestor holds them all.
    sections = "".join(
        f"<div class='step'><h2>Step {n}</h2><figure><img src='{n}.jpg'><figcaption>Photo {n}</figcaption></figure>"
        f"<div class='content'><p>{text}</p></div></div>"
        for n, text in enumerate([
            "Measure the jar and cut the foam about two centimetres smaller than its base.",
            "Press the plants into the foam and cover the gaps with a layer of fresh moss.",
            "Set the glass dome over the plants and keep the jar out of direct sunlight.",
        ], 1))
    teasers = "".join(
        f"<div class='card'><a href='/t{n}'><h3>Ten more ideas for a small balcony garden {n}</h3></a>"
        f"<a href='/t{n}'>Read the story about the balcony garden number {n}</a></div>"
        for n in range(4))
    page = _page(f"<main><article>{sections}</article><section class='more'>{teasers}</section></main>")
    lines = _lines(page)
    assert [line for line in lines if line.startswith(("Measure", "Press", "Set"))] == [
        "Measure the jar and cut the foam about two centimetres smaller than its base.",
        "Press the plants into the foam and cover the gaps with a layer of fresh moss.",
        "Set the glass dome over the plants and keep the jar out of direct sunlight.",
    ]
    assert "Step 1" in lines and "Step 3" in lines
    assert not any("balcony" in line for line in lines)


def test_a_recipe_keeps_its_short_list_items() -> None:
    # Little paragraph text: the steps vote as list items; the ingredients are too short
    # to vote but are text blocks of the recipe's container.
    page = _page("""<div class='recipe'><h1>Lemon cake</h1><p>A light sponge soaked in lemon syrup.</p>
        <h2>Ingredients</h2><ul><li>225 g butter</li><li>225 g caster sugar</li><li>4 eggs</li></ul>
        <h2>Method</h2><ol><li>Heat the oven to 180C and line a loaf tin with baking paper.</li>
        <li>Beat the butter and the sugar until pale, then add the eggs one at a time.</li>
        <li>Bake for 45 minutes, until a skewer pushed into the middle comes out clean.</li></ol></div>""")
    lines = _lines(page)
    assert lines[lines.index("Ingredients"):] == [
        "Ingredients", "225 g butter", "225 g caster sugar", "4 eggs", "Method",
        "Heat the oven to 180C and line a loaf tin with baking paper.",
        "Beat the butter and the sugar until pale, then add the eggs one at a time.",
        "Bake for 45 minutes, until a skewer pushed into the middle comes out clean.",
    ]


def test_headings_and_a_closing_table_are_not_trimmed_as_bylines() -> None:
    # Short lines at the edges of the article used to go as bylines or datelines: a
    # heading opening it, list items and table rows closing it.
    page = _page("""<main><h2>Lisbon</h2>
        <p>We started in Lisbon, where the old trams climb the hills between the districts.</p>
        <p>In Porto we walked along the river and crossed the iron bridge at sunset.</p>
        <ul><li>Try the custard tarts</li><li>Visit the bookshop early</li></ul>
        <table><tr><th>Month</th><th>Weather</th></tr><tr><td>May</td><td>Warm and dry</td></tr></table>
        </main>""")
    lines = _lines(page)
    assert lines[0] == "Lisbon"
    assert lines[-4:] == ["Try the custard tarts", "Visit the bookshop early", "Month Weather", "May Warm and dry"]


def test_a_table_column_named_comment_does_not_end_the_article() -> None:
    rows = "".join(f"<tr><td><p>state {n}</p></td><td><p>Retried after {n} minutes.</p></td></tr>"
                   for n in range(3))
    paragraphs = [
        "The scheduler keeps every task in one of a few states, each with its own timeout and its own rule.",
        "A task that fails is retried with a growing delay, so one broken job cannot flood the queues.",
        "After the last retry the task is parked, and an engineer is paged to look at what went wrong.",
    ]
    page = _page(f"<article><p>{paragraphs[0]}</p><p>{paragraphs[1]}</p>"
                 f"<table><tr><th><p>State</p></th><th><p>Comment</p></th></tr>{rows}</table>"
                 f"<p>{paragraphs[2]}</p></article>")
    text = clean(URL, html=page).text
    assert paragraphs[2] in text and "Retried after 2 minutes." in text


def test_forum_posts_written_with_br_in_table_cells() -> None:
    posts = [
        ("hiker72", "I am planning two weeks in the Alps in August and my old tent is falling apart.<br>"
                    "Is a single wall tent enough, or should I take a double wall one for the storms?"),
        ("bergfex", "Take the double wall one. Condensation in a single wall tent at altitude is miserable.<br>"
                    "I used a light tunnel tent last summer and it was fine, even in the storms."),
    ]
    rows = "".join(f"<tr><td class='author'>{who}<br>Posts: 341</td><td class='post'>{text}</td></tr>"
                   for who, text in posts)
    text = clean(URL, html=_page(f"<div id='content'><h1>Which tent?</h1><table>{rows}</table></div>")).text
    for _, post in posts:
        for sentence in post.split("<br>"):
            assert sentence in text


def test_text_in_divs_without_paragraphs() -> None:
    sentences = [
        "Le festival de musique de la ville revient cet été pour sa dixième édition, avec quarante concerts.",
        "Les organisateurs ont annoncé la programmation mardi, lors d'une conférence de presse à la mairie.",
        "Les billets seront en vente à partir du premier mai, au prix de vingt euros la journée.",
    ]
    page = _page("<div class='main'><div class='texte'>" + "".join(f"<div>{s}</div>" for s in sentences)
                 + "</div></div>", lang="fr")
    assert _lines(page) == sentences


def test_a_page_with_little_markup_is_read_whole() -> None:
    page = ("<html><head><title>Notice</title></head><body><b>Annual general meeting</b><br><br>"
            "The annual meeting of the association takes place on 12 March at the town hall.<br><br>"
            "All members are invited. The agenda has the board's report and the accounts.<br></body></html>")
    assert clean(URL, html=page).text.split("\n\n")[-2:] == [
        "The annual meeting of the association takes place on 12 March at the town hall.",
        "All members are invited. The agenda has the board's report and the accounts.",
    ]


@pytest.mark.parametrize(("lang", "attrs", "paragraphs"), [
    ("zh", "", ["市政府周二在市中心开放了一座新的公共图书馆，馆内藏书超过两万册。",
                "市长表示，图书馆每天上午九点至晚上八点开放，市民可以免费借阅。",
                "图书馆设有儿童阅览室和自习室，一楼还有一家小咖啡馆。"]),
    ("ar", " dir='rtl'", ["افتتحت البلدية يوم الثلاثاء مكتبة عامة جديدة في وسط المدينة، تضم أكثر من عشرين ألف كتاب.",
                          "وقال رئيس البلدية إن المكتبة ستفتح أبوابها كل يوم من التاسعة صباحا حتى الثامنة مساء.",
                          "وتضم المكتبة قاعة للأطفال وأخرى للدراسة، إضافة إلى مقهى صغير في الطابق الأرضي."]),
])
def test_non_latin_and_right_to_left_articles(lang: str, attrs: str, paragraphs: list[str]) -> None:
    page = _page("<article>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article>", lang=lang, attrs=attrs)
    cleaned = clean(URL, html=page)
    assert cleaned.text.split("\n\n") == paragraphs
    assert cleaned.lang == lang


def test_when_the_chosen_container_leaves_nothing_the_page_is_read_whole() -> None:
    # The only paragraphs are a cookie notice; the page's own text is short items.
    notice = ("<div class='notice'><p>This website uses cookies to improve your experience.</p>"
              "<p>We use cookies to personalise content and to analyse our traffic.</p></div>")
    items = ["Open Monday to Friday", "Closed on public holidays", "Call us on 555 0100"]
    page = _page(notice + "<div class='hours'><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul></div>")
    assert _lines(page) == items


def test_a_box_of_links_inside_the_article_goes() -> None:
    # A tag cloud: a <div> of links with little other text (lists of links went already).
    tags = "".join(f"<a href='/tag/{t}'>{t}</a> " for t in ("buses", "city", "council", "night", "transport"))
    paragraphs = [
        "The council voted on Tuesday to extend the night bus network to the northern districts.",
        "Six new lines will run every twenty minutes between midnight and five in the morning.",
        "Both lines will stop at the main station, the hospital and the airport terminal.",
    ]
    page = _page(f"<article><p>{paragraphs[0]}</p><p>{paragraphs[1]}</p><div class='box'>{tags}</div>"
                 f"<p>{paragraphs[2]}</p></article>")
    assert _lines(page) == paragraphs


@pytest.mark.parametrize("name", ["analysis-commentary", "authority-statement", "multimodal-note", "shared-story"])
def test_class_names_are_read_as_words(name: str) -> None:
    # "commentary" is no comment box, "authority" no author box, "multimodal" no modal,
    # "shared" no share bar: a part of the article named so stays, though it holds little
    # of the article's text.
    paragraphs = [
        "The council voted on Tuesday to extend the night bus network to the northern districts.",
        "Six new lines will run every twenty minutes between midnight and five in the morning.",
        "Critics said the money would be better spent on the day lines, which are often late.",
        "The mayor answered that night workers, nurses and cleaners had waited long enough.",
    ]
    page = _page("<article>" + "".join(f"<p>{p}</p>" for p in paragraphs[:3])
                 + f"<div class='{name}'><p>{paragraphs[3]}</p></div></article>")
    assert _lines(page) == paragraphs


def test_a_line_said_twice_in_the_article_stays() -> None:
    # Short lines seen twice on a page were dropped as ads; on HTML pages the markup tells
    # ads apart, and a refrain, a repeated step or a code line is the article's.
    verse = ["The night bus comes at one,", "the night bus comes at two,", "and home we go."]
    page = _page("<article><h2>The night bus song</h2>"
                 + "".join(f"<p>{'<br>'.join(verse)}</p>" for _ in range(2))
                 + "<p>Children at the Northgate school wrote the song for the new night bus line.</p></article>")
    assert _lines(page).count("and home we go.") == 2


def test_a_short_post_above_a_long_comment_thread() -> None:
    # The five best scored containers are all in the comments: the next ones are looked
    # at, and the post's own container is found (its list with it, the page's welcome
    # box without it).
    post = ["Our quarterly open thread is a place to ask questions about our research and our plans.",
            "Questions we will answer first:", "Methods of the last report", "Data and code", "Next year's plans"]
    comments = "".join(
        f"<li class='comment'><div class='comment-body'><p>Reader {n} asks, at some length, whether the "
        f"estimates, the sources and the methods of the last report will be published, and when.</p>"
        f"<p>Reader {n} also wonders, politely, whether the team could share its data, its code and its notes.</p>"
        f"</div></li>" for n in range(8))
    welcome = "<div class='welcome'><p>Welcome to the blog of a small charity that studies, tests and funds aid.</p></div>"
    page = _page(f"{welcome}<main><article class='post'><div class='entry'><p>{post[0]}</p><p>{post[1]}</p><ul>"
                 + "".join(f"<li>{item}</li>" for item in post[2:])
                 + f"</ul></div></article><ol class='comment-list'>{comments}</ol></main>")
    assert _lines(page) == post


def test_a_latest_stories_heading_ends_the_article() -> None:
    paragraphs = [
        "The harbour authority said on Friday that the old lighthouse would reopen next summer.",
        "Restoration work on the tower, which dates from 1862, took almost four years to finish.",
        "Volunteers will guide the tours, which must be booked in advance on the website.",
    ]
    teasers = "".join(f"<h4>Ferry timetable {n}</h4><p>The winter timetable of ferry line {n} starts on Monday.</p>"
                      for n in range(3))
    page = _page("<article>" + "".join(f"<p>{p}</p>" for p in paragraphs)
                 + f"<h3>Our Latest Stories</h3>{teasers}</article>")
    assert _lines(page) == paragraphs


def test_a_page_without_any_text_is_still_no_content() -> None:
    with pytest.raises(BadRecord) as info:
        clean(URL, html=_page("<div class='gallery'><img src='a.jpg'><img src='b.jpg'></div>"))
    assert info.value.reason == "no_content"
