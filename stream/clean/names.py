"""Class and id names that say what an element is: boilerplate, furniture, the article.

Names are matched as words: lower-cased, camelCase split ("newsCaption" is "news
caption"), "-" and "_" read as spaces, and a name must start a word ("ads" is not in
"uploads", "nav" not in "unavailable"). A few longer words are kept out ("commentary",
"authority", "shared"). Every answer is cached by name: names repeat within a page and
across a site.
"""

from __future__ import annotations

import re
from functools import lru_cache

_BOILERPLATE_NAMES = (
    "share(?!d|holder)", "social", "related", "newsletter", "comment(?!ar|at)",
    "sidebar", "breadcrumb", "subscri", "sign ?up", "cookie", "consent", "popup", "modal",
    "promo", "advert", "sponsor", "recommend", "outbrain", "taboola", "byline",
    "author(?!it)", "caption", "credit", "toolbar", "disqus", "rating", "tags", "keywords",
    "dateline", "timestamp", "published", "read ?more", "more stories", "most popular",
    "trending", "banner", "masthead", "sr only", "visually hidden", "screen reader",
    "skip link", "rollover", "tooltip", "popover", "hovercard", "print only", "pagination",
    "pager", "nav", "menu",
)
_BOILERPLATE_CLASS = re.compile(r"(?<![a-z0-9])(?:" + "|".join(_BOILERPLATE_NAMES) + ")")
_BOILERPLATE_ID = re.compile(
    r"(?<![a-z0-9])(?:comment(?!ar|at)|sidebar|related|share(?!d|holder)|social|newsletter)")
# A class that names the article container outweighs a boilerplate word in another of the
# node's classes: WordPress's ``entry-content entry-content-read-more`` is the story itself.
_CONTAINER_CLASS = re.compile(
    r"(?:^|\s)(?:entry-content|article-body|article-content|post-content|post-body|story-body|"
    r"story-content|articleBody)(?:\s|$)")
_FURNITURE = re.compile(
    r"(?<![a-z0-9])(?:comment(?!ar|at)|sidebar|related|footer|recommend|outbrain|taboola|popular)")
_POSITIVE = re.compile(
    r"(?<![a-z0-9])(?:article|body|content|entry|main|post|story|text|blog|prose|rich|markdown|news)")
_NEGATIVE = re.compile(
    r"(?<![a-z0-9])(?:comment(?!ar|at)|related|sidebar|footer|share(?!d|holder)|social|"
    r"promo|sponsor|widget|teaser|card|nav|menu|meta|byline|author(?!it)|caption|ads?(?![a-z])|"
    r"advert|banner|outbrain|taboola|recommend|more|popular|trending|newsletter|subscri|tag)")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=8_192)
def _words(name: str) -> str:
    """A class or id value as the words the patterns above are matched against."""
    if not name:
        return ""
    if name.islower():  # no capital: nothing to split (the regex is the cost)
        return name.replace("-", " ").replace("_", " ")
    return _CAMEL.sub(" ", name).lower().replace("-", " ").replace("_", " ")


@lru_cache(maxsize=8_192)
def boilerplate_name(class_name: str, id_name: str) -> bool:
    """Names of a boilerplate role (share, related, newsletter, byline, caption...) that are
    not also the article container's (WordPress's ``entry-content entry-content-read-more``)."""
    ids = _words(id_name)
    if _CONTAINER_CLASS.search(class_name):
        return bool(_BOILERPLATE_ID.search(ids))
    return bool(_BOILERPLATE_CLASS.search(_words(class_name)) or _BOILERPLATE_ID.search(ids))


@lru_cache(maxsize=8_192)
def furniture_name(class_name: str, id_name: str) -> bool:
    """Names of page furniture whose paragraphs are not the article's (comments, sidebars)."""
    return bool(_FURNITURE.search(_words(f"{class_name} {id_name}")))


@lru_cache(maxsize=8_192)
def name_weight(class_name: str, id_name: str, itemprop: str) -> tuple[bool, float]:
    """Whether the names say "article body", and their weight: -25 boilerplate, +25 content."""
    names = _words(f"{class_name} {id_name} {itemprop}")
    weight = 0.0
    if _NEGATIVE.search(names):
        weight -= 25
    if _POSITIVE.search(names):
        weight += 25
    return "article body" in names or "articlebody" in names, weight
