"""The per-domain boilerplate learner: bounded, per domain, used by clean()."""

from __future__ import annotations

import pytest

from stream.clean import BoilerplateLearner, clean
from stream.clean.boilerplate import domain_of, fingerprint
from tests.clean.pages import article_page

SITE_LINE = "Join our Telegram channel for the fastest updates from the valley"
FOOTER = "Valley Courier is an independent newspaper founded by readers in 1998, proudly serving the valley."


_PLACES = ["Ashford", "Brookline", "Carver", "Dunmore", "Elmwood", "Fairview", "Glenrock", "Hillsdale",
           "Ironton", "Juniper"]


def _story(n: int) -> list[str]:
    place = _PLACES[n]
    return [
        f"The county board approved the {place} bridge repairs after a long and heated debate on Monday.",
        f"Work in {place} starts next month and should take most of the summer, the engineers said.",
        f"Residents of {place} can comment on the detour plans until the end of the month, the board added.",
    ]


def _text_page(n: int) -> str:
    story = _story(n)
    return "\n".join([f"{_PLACES[n]} bridge plan approved", story[0], SITE_LINE, story[1], story[2], FOOTER])


def test_fingerprint_ignores_case_digits_and_spacing() -> None:
    assert fingerprint("Page 1 of  12") == fingerprint("page 7 of 3")
    assert fingerprint("Page one") != fingerprint("Page two")


def test_domain_of() -> None:
    assert domain_of("https://www.valley.example/a?b=1") == "valley.example"
    assert domain_of("not a url") == "not a url"


def test_lines_recurring_on_a_domain_are_learned() -> None:
    learner = BoilerplateLearner(min_pages=3)
    url = "https://valley.example/news/{}"
    cold = clean(url.format(0), text=_text_page(0))
    assert SITE_LINE in cold.text  # a line seen once is not boilerplate yet
    for n in range(1, 4):
        clean(url.format(n), text=_text_page(n), learner=learner)
    warm = clean(url.format(9), text=_text_page(9), learner=learner)
    assert SITE_LINE not in warm.text and FOOTER not in warm.text
    assert warm.text == "\n\n".join(_story(9))
    other = clean("https://other.example/x", text=_text_page(9), learner=learner)
    assert SITE_LINE in other.text  # learned per domain


def test_learning_works_on_html_pages() -> None:
    learner = BoilerplateLearner(min_pages=2)
    extra = f"<p>{FOOTER}</p>"
    for n in range(3):
        clean(f"https://valley.example/{n}", html=article_page(_story(n), extra_body=extra), learner=learner)
    warm = clean("https://valley.example/9", html=article_page(_story(9), extra_body=extra), learner=learner)
    assert FOOTER not in warm.text and warm.text == "\n\n".join(_story(9))


def test_a_story_republished_on_the_same_domain_keeps_its_text() -> None:
    learner = BoilerplateLearner(min_pages=2)
    page = _text_page(1)
    for n in range(4):
        clean(f"https://valley.example/copy-{n}", text=page, learner=learner)
    again = clean("https://valley.example/copy-9", text=page, learner=learner)
    assert again.text.startswith(_story(1)[0]) and _story(1)[2] in again.text


def test_furniture_that_is_most_of_a_page_is_learned_too() -> None:
    # a flattened scrape of the whole page: the site's menu and footer outweigh the story
    learner = BoilerplateLearner(min_pages=3)
    furniture = [f"{section} news and analysis from the valley" for section in _PLACES] + [SITE_LINE, FOOTER]

    def scrape(n: int) -> str:
        return "\n".join([*furniture, *_story(n), *furniture[:4]])

    for n in range(4):
        clean(f"https://valley.example/{n}", text=scrape(n), learner=learner)
    story = _story(9)
    assert sum(map(len, story)) < 0.3 * len(scrape(9))
    assert clean("https://valley.example/9", text=scrape(9), learner=learner).text == "\n\n".join(story)


def test_rare_lines_of_a_busy_domain_are_not_boilerplate() -> None:
    learner = BoilerplateLearner(min_pages=3, min_share=0.2)
    url = "https://valley.example/"
    for n in range(20):
        learner.observe(url, [SITE_LINE, f"only here {n}"] + (["seen on three pages"] if n < 3 else []))
    fresh = _story(5)
    assert learner.filter(url, [SITE_LINE, "seen on three pages", *fresh]) == ["seen on three pages", *fresh]


def test_domains_are_bounded_lru() -> None:
    learner = BoilerplateLearner(max_domains=3)
    for name in ("a", "b", "c", "a", "d"):
        learner.observe(f"https://{name}.example/", ["x"])
    assert len(learner) == 3
    assert learner.pages("https://b.example/") == 0  # least recently used, evicted
    assert learner.pages("https://a.example/") == 2


def test_lines_per_domain_are_bounded_and_recurring_lines_survive() -> None:
    learner = BoilerplateLearner(max_lines=64, min_pages=3)
    url = "https://valley.example/"
    for n in range(200):
        learner.observe(url, [SITE_LINE] + [f"unique line {n} {w}" for w in "abcdefghij"])
    counts = learner._domains["valley.example"].counts
    assert len(counts) <= 64
    assert learner.filter(url, [SITE_LINE, *_story(4)]) == _story(4)


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        BoilerplateLearner(min_pages=1)
