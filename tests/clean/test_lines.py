"""The generic line rules: boilerplate by its words, repeats, end markers, edges."""

from __future__ import annotations

import pytest

from stream.clean import lines

PROSE = "The council said the new lines would open in the spring, after a short trial period."


@pytest.mark.parametrize("line", [
    "Advertisement", "Share this article", "Read more", "Related: Ten things to know about buses",
    "[Related: The tram strike, explained]", "Like this story? Share it with a friend!",
    "Leave a Reply", "Your email address will not be published. Required fields are marked *",
    "© 2024 The Daily Example. All rights reserved.", "Home / WORLD / Putin set to address officials",
    "Write to Al Root at allen.root@example.com", "Natalie Naccache | Bloomberg | Getty Images",
    "Previous Auto News", "Back to Gallery", "Impressum", "Subscribe to our newsletter",
    "Photo: Jane Doe", "This website uses cookies to improve your experience.", "By Jane Reporter",
    "PUBLISHED: | UPDATED:", "Published 18 November 2019", "Updated Nov. 19, 2019 at 5:02 p.m.",
])
def test_boilerplate_lines(line: str) -> None:
    assert lines.is_boilerplate(line)


@pytest.mark.parametrize("line", [
    PROSE, "Next steps for the network", "Why the night buses matter",
    "2a etapa: 8 de abril – Curitiba / Alternativa",
    "Le conseil a voté l'extension du rÃ©seau de bus de nuit aux quartiers du nord.",
    "He said he would follow the advice of the transport authority and decide next week.",
    "By 2030 the city will need ten more night lines.", "Subscribers can read the full report online.",
    "Published in 1998, the novel sold a million copies.", "Categories of workers who qualify",
])
def test_article_lines_are_kept(line: str) -> None:
    assert not lines.is_boilerplate(line)


def test_short_repeated_lines_are_noise_long_ones_are_not() -> None:
    page = ["Buy cheap tickets now", PROSE, "Buy cheap tickets now", PROSE + " Again, said the mayor."]
    assert lines.repeated(page) == {"Buy cheap tickets now"}


def test_end_marker_cuts_only_after_the_article() -> None:
    body = [PROSE, "Critics said the money would be better spent on the day lines.",
            "The mayor answered that night workers had waited long enough."]
    page = [*body, "Check Also", "Another story about the harbour teaser …"]
    assert lines.clean_lines(page) == body
    early = ["Comments", *body]
    assert lines.clean_lines(early) == body


def test_edges_lose_bylines_and_dates_but_not_prose() -> None:
    page = ["By Jane Reporter", "05/10/2018 - Posted by: Ann - Category: Health - Tags: x", PROSE,
            "Subheading in the middle", PROSE, "20 Nov, 2019 05:47"]
    assert lines.trim_edges(page) == page[2:5]


def test_words_counts_unspaced_scripts() -> None:
    assert lines.words("先日、不正に改造したiPhoneを販売したとして、商標法違反の疑いで逮捕された") >= 10
    assert lines.words("three short words") == 3


def test_date_only_lines_are_dropped_anywhere() -> None:
    body = [PROSE, "Critics said the money would be better spent on the day lines."]
    assert lines.clean_lines([body[0], "20 Nov, 2019 05:47", "Nov 18, 2019", body[1]]) == body


@pytest.mark.parametrize(("line", "boilerplate"), [
    ("© 2024 Example Media", True),
    ("All rights reserved, rÃ©seau Example", True),  # a mark before the mojibake "Ã©" counts
    ("Le rÃ©seau Example, all rights reserved", False),  # the first "©" is mojibake: marks after it do not
    ("© 2024 rÃ©seau Example", False),
])
def test_copyright_marks_around_mojibake(line: str, boilerplate: bool) -> None:
    assert lines.is_boilerplate(line) is boilerplate


_NOTICES = [
    "We use cookies and similar technologies on our site to measure how you use it, to show you offers "
    "that match your interests and to remember your choices between visits. To find out more or to change "
    "your settings, read our cookie policy; by continuing to browse you agree to our use of cookies.",
    "En poursuivant votre navigation sur ce site, vous acceptez l'utilisation de cookies pour mesurer "
    "l'audience et vous proposer des contenus adaptés à vos centres d'intérêt. En savoir plus et gérer "
    "ces paramètres.",
    "Wir verwenden Cookies, um Inhalte und Anzeigen zu personalisieren und die Zugriffe auf unsere "
    "Website zu analysieren. Informationen zu Ihrer Nutzung der Seite geben wir an unsere Partner für "
    "soziale Medien und Analysen weiter. Mit der Nutzung der Seite erklären Sie sich damit einverstanden.",
]
_ABOUT_COOKIES = [  # article text on cookies: no site speaking of itself, or nothing asked of the reader
    "The court ruled on Tuesday that websites must ask for consent before they place advertising "
    "cookies, and that a box ticked in advance is not consent at all, a decision that regulators in "
    "several member states had long waited for and that publishers had lobbied hard against.",
    "You can clear your cookies in the browser's settings, but every site you were logged in to will "
    "ask for your password again, and some of them will forget the language and the region you chose "
    "on your last visit, which is why many people never do it at all.",
]


@pytest.mark.parametrize("notice", _NOTICES)
def test_cookie_notices_go_however_long(notice: str) -> None:
    assert lines.words(notice) > 30  # past the length any other rule reads
    assert lines.clean_lines([PROSE, notice, PROSE + " Again."]) == [PROSE, PROSE + " Again."]


def test_a_short_cookie_notice_goes_too() -> None:
    assert lines.is_boilerplate("Cookies help us deliver our services. By using our services, you agree to our use of cookies.")


@pytest.mark.parametrize("line", _ABOUT_COOKIES)
def test_lines_about_cookies_stay(line: str) -> None:
    assert lines.clean_lines([PROSE, line]) == [PROSE, line]
