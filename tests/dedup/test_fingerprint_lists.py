"""Runs of short lines (a recipe's ingredients, a list's items) are shingled; a short line
alone, or a menu, costs nothing. Pages in ``data/pages/``."""

from __future__ import annotations

import numpy as np
import pytest

from stream.dedup import fingerprint
from stream.dedup.decide import MIN_SIZE, THRESHOLD, score
from stream.dedup.fingerprint import Fingerprint
from tests.dedup.conftest import read

RECIPE = read("pages/recipe-lentil-soup.txt")
OTHER_RECIPE = read("pages/recipe-tomato-pasta.txt")
LIST = read("pages/listicle-garden.txt")
NEWS = read("pages/news-with-short-lines.txt")


def matches(a: Fingerprint, b: Fingerprint) -> float:
    return score(a, b.signature, b.size)


def with_ads(text: str, every: int = 3) -> str:
    """An ad line after every ``every``-th line."""
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        out.append(line)
        if line and i % every == 0:
            out.append("ADVERTISEMENT")
    return "\n".join(out)


def test_a_list_page_is_shingled_from_its_items() -> None:
    intro, items = LIST.splitlines()[0], [line for line in LIST.splitlines()[2:] if line]
    # a copy with a new introduction, an ad line among the items and an attribution line
    copy = "\n".join(["Twelve jobs for the spring garden, from our archive.", "", *items[:6], "Advertisement",
                      *items[6:], "This article originally appeared on garden.example."])
    original = fingerprint(LIST)
    assert original.size >= MIN_SIZE > fingerprint(intro).size  # the items count, not only the intro
    assert matches(fingerprint(copy), original) >= THRESHOLD


def test_a_recipe_copy_with_ads_among_the_ingredients_matches() -> None:
    copy = "WATCH: Red lentil soup\n\n" + with_ads(RECIPE) + "\n\nRead more at food.example"
    assert matches(fingerprint(copy), fingerprint(RECIPE)) >= THRESHOLD


def test_an_abridged_recipe_copy_matches() -> None:
    lines = RECIPE.splitlines()
    abridged = "\n".join(lines[: lines.index("Method")] + ["Read more at food.example"])
    assert matches(fingerprint(abridged), fingerprint(RECIPE)) >= THRESHOLD


def test_recipes_that_share_ingredient_lines_stay_apart() -> None:
    shared = set(RECIPE.splitlines()) & set(OTHER_RECIPE.splitlines()) - {"", "Ingredients", "Method"}
    assert len(shared) >= 4
    assert matches(fingerprint(RECIPE), fingerprint(OTHER_RECIPE)) < 0.3


def test_a_lone_short_line_never_counts() -> None:
    # between two steps (long lines) of a recipe: not part of a run
    steps = RECIPE.splitlines()
    i = steps.index("Method") + 3  # after the first step (blank lines separate paragraphs)
    with_ad = "\n".join([*steps[:i], "Sponsored content", *steps[i:]])
    assert np.array_equal(fingerprint(with_ad).signature, fingerprint(RECIPE).signature)


def test_short_lines_of_a_prose_page_cost_nothing() -> None:
    # a news page: a byline, a time and a share button are a run, but no list
    edited = NEWS.replace("By Maria Lopez\nUpdated 21:40", "By M. Lopez\nSponsored content\nUpdated 22:15\nShare")
    assert edited != NEWS
    assert np.array_equal(fingerprint(edited).signature, fingerprint(NEWS).signature)


MENU = """Home
World
Politics
Business
Health
Eye Health
Heart Disease
Sleep Disorders
Diabetes
Science
Technology
Sports
Football
Tennis
Weather
Travel
Food & Drink
Recipes
Opinion
Podcasts
Video
Culture
Books
Music
Film
Education
Cars
Property
Sign in"""
FOOTER = "About us\nContact\nCareers\nPrivacy Policy\nTerms of Use\nAdvertise\nSitemap"


@pytest.mark.parametrize("page", [NEWS, RECIPE], ids=["news", "recipe"])
def test_a_flattened_pages_menu_costs_nothing(page: str) -> None:
    # a text scrape of the whole page: the site's menu above the article, its links below;
    # runs of short lines, but of a word or two a line: no list
    scrape = "\n".join([MENU, page, FOOTER])
    assert np.array_equal(fingerprint(scrape).signature, fingerprint(page).signature)
