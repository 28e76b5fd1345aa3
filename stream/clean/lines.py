"""Line-level rules shared by HTML and text pages: what a boilerplate line looks like.

A *line* is one paragraph candidate (a block of the page, or a line of a flattened text).
The rules are generic, never per site: short lines made of UI words (share, subscribe,
advertisement, read more...), copyright and cookie notices, breadcrumbs, bylines and dates
at the edges of the article, a short line repeated on the same page (ads, captions: on
flattened text only), and the markers after which only teasers and comment forms follow
("Check Also", "Leave a Reply"...). On an HTML page, headings and items (list items, table
cells) are known as such, and neither trimmed for being short nor taken for an end marker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
from types import MappingProxyType

_NO_KINDS: Mapping[str, str] = MappingProxyType({})
SHORT_WORDS = 12  # a line of at most this many words may be boilerplate by its words
END_AFTER = 0.4  # share of the page's text an end marker must come after to end the article
_DECORATION = " \t|•·*-–—:>»›▶►✓.…!"  # stripped before matching UI words

_UI = re.compile(
    r"^(?:advertisements?|advert|ad|sponsored(?: content)?|promoted|anzeige|publicidad|"
    r"publicité|pubblicità|реклама|read more|read also|see also|more|show more|load more|"
    r"continue reading.*|tap here.*|see more:.*|read more:.*|"
    r"this (?:slideshow|video|content) requires javascript.*|tell us what you think.*|"
    r"share(?: this)?(?: article| story| post| on \w+)?|"
    r"share via.*|tweet|email|print|copy link|copied|comments?|\d+ comments?|"
    r"leave a (?:reply|comment)|post a comment|add a comment|view comments|show comments|"
    r"\[?related\b.*|recommended(?: for you)?|like this (?:story|article|post)\b.*|"
    r"search(?: in \w+)?|learn more|back to .{0,30}|"
    r"(?:previous|next|prev|older|newer)\b.{0,25}\b(?:news|posts?|articles?|stor(?:y|ies)|pages?|entry|entries)|"
    r"trending(?: now)?|most (?:read|popular|viewed)|popular(?: posts)?|latest(?: news| posts)?|"
    r"you (?:may|might) also like|also read|don't miss|must read|more (?:from|in|on) .{0,60}|"
    r"also on .{0,60}|follow us.*|like us on .*|sign (?:up|in)(?: for .*)?|log ?in|register|"
    r"subscribe\b.*|newsletter|get (?:the|our) .{0,40}newsletter.*|"
    r"(?:photo|image|picture|foto|video|source|credit|credits|caption|getty images|reuters|ap|afp)"
    r"(?: ?: .{0,80})?|image \d+ of \d+|\d+ of \d+|close|menu|search|home|skip to .*|"
    r"back to top|top|next|previous|prev|next article|previous article|loading.*|"
    r"(?:this|our) (?:web)?site uses cookies.*|accept(?: all)?(?: cookies)?|"
    r"we use cookies.*|privacy policy|terms of (?:use|service)|contact us|about us|"
    r"impressum|datenschutz.*|mehr zum thema.*|weiterlesen|lesen sie auch.*|werbung|teilen|"
    r"(?:artikel )?(?:teilen|drucken|versenden)|kommentare?|kontakt|nutzungsbedingungen|"
    r"mehr (?:lesen|dazu|artikel)|zum artikel|newsletter abonnieren|"
    r"partager|imprimer|commentaires?|lire (?:la suite|aussi|plus)|mentions légales|"
    r"politique de confidentialité|s'abonner|publicité|"
    r"compartir|imprimir|comentarios?|leer (?:más|también)|aviso legal|"
    r"política de (?:privacidad|privacidade|cookies)|suscríbete|"
    r"condividi|stampa|commenti|leggi (?:anche|tutto)|pubblicità|iscriviti|"
    r"compartilhar|comentários|leia (?:também|mais)|assine|"
    r"поделиться|комментари[йи]|читать (?:далее|также)|подписаться|"
    r"udostępnij|komentarze|czytaj (?:też|także|więcej)|reklama|"
    r"delen|reageer|lees (?:ook|meer)|advertentie|"
    r"tags?:.*|topics?:.*|filed under:?.*|categor(?:y|ies):.*|posted in .*|written by .*|"
    r"(?:published|updated|posted)(?: on| at)?:?\s*(?:\d|\||(?:jan|feb|mar|apr|may|jun|jul|aug|sep|"
    r"oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*\b).*|published|updated|"
    r"last (?:updated|modified).*|all rights reserved.*|copyright .*|\(c\) \d{4}.*)$",
)
_FORM_MARKS = (
    "email address will not be published", "required fields are marked",
    "save my name, email", "notify me of new", "notify me of follow-up",
    "must be logged in to post",
)
# A cookie notice: "cookie", the site speaking of itself ("we use", "our site", "by
# continuing"), and what it asks of the reader (consent, a policy, settings); any length.
# A line about cookies in an article (a how-to, a ruling) lacks one of the last two.
_COOKIE_SITE = re.compile(
    r"\b(?:we use|we and our|our (?:site|website|use of|partners)|this (?:web)?site|"
    r"by (?:using|continuing|clicking|choosing|browsing|accepting)|"
    r"nous utilisons|ce site|wir (?:verwenden|nutzen|setzen)|diese (?:website|webseite|seite)|"
    r"utilizamos|usamos|este (?:sitio|site)|utilizziamo|usiamo|questo sito|nostro sito|"
    r"мы используем|этот сайт|używamy|wij gebruiken)\b")
_COOKIE_ASK = re.compile(
    r"consent|agree|accept|polic|privacy|settings|preferences|opt.?out|continu|assum|"
    r"zustimm|einverstanden|datenschutz|akzept|einstellungen|accepte|paramètres|"
    r"acept|consentimiento|política|consenso|accett|informativa|aceit|"
    r"соглас|политик|zgod|akceptuj|toestemming|akkoord")
_CONTACT = re.compile(r"\S+@\S+\.\w+|\bfollow (?:us|him|her|them|me)\b")
_CONTACT_VERB = re.compile(r"^(?:write to|e-?mail|contact|follow|tips?:|reach)\b")
_COPYRIGHT_MARKS = (
    "©", "copyright", "all rights reserved", "alle rechte vorbehalten",
    "todos los derechos reservados", "tous droits réservés",
)
_BYLINE = re.compile(r"^(?i:by|von|por|par|di|door|av|przez|автор:?)\s+[A-ZÀ-ÞА-Я]")  # "By Jane Doe"
_CLICK = re.compile(r"\bclick(?:ing)? here\b")
_AGENCIES = ("associated press", "reuters", "afp", "getty images", "shutterstock", "ap photo")
_CREDIT = re.compile(r"\b(?:" + "|".join(_AGENCIES) + ")$")  # a whole word at the end
_CREDIT_TAIL = " \t)]|-–—,;:'\"”’*"  # what may follow the name
# The patterns above and below are lower case and matched against lower-cased lines:
# re.IGNORECASE makes such alternations ~20x slower. The marks are plain substrings:
# `in` finds them ~2x faster than one regex alternation of them ("©" is checked first).
_MARKS = tuple(mark for mark in (*_FORM_MARKS, *_COPYRIGHT_MARKS) if mark != "©")
_END_MARKERS = re.compile(
    r"^(?:check also|related(?: articles| stories| posts| news)?|read (?:also|more|next)|"
    r"see also|you (?:may|might) also like|more (?:stories|news|articles)(?: from .*)?|"
    r"(?:our )?(?:latest|top|popular|trending) (?:stories|news|articles|posts)|"
    r"recommended(?: for you)?|leave a (?:reply|comment)|comments?|\d+ comments?|"
    r"post a comment|about the author|share this(?: article| story)?|tags?:?|"
    r"(?:также|читайте также|смотрите также)|lesen sie auch|mehr zum thema|"
    r"à lire aussi|lire aussi|leggi anche|lee también|veja também)\s*:?$",
)
_DATE_LINE = re.compile(
    r"^[\W\d_]*(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}|"
    r"\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*,? \d{4})[\w\W]{0,40}$",
)
_BREADCRUMB = re.compile(r"^[^/>»›]{1,40}(?:\s(?:/|>|»|›|→)\s[^/>»›]{1,120}){2,8}$")
_CRUMB_SEPARATOR = re.compile(r"[/>»›→]")  # most lines have none: ~4x cheaper than _BREADCRUMB failing
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_FIELDS = re.compile(r"\s(?:-|\||·|•)\s")
SENTENCE_END = tuple(".!?…\"'”’»)]:;。！？")
_ATTRIBUTION = re.compile(
    r"\b(?:originally|first)\s+(?:appeared|published|posted|ran)\s+(?:on|in|at|by)\s+"
    r"(?:the\s+website\s+(?:of\s+)?)?(.{2,80}?)(?:\s+(?:on|and|under|as|with)\s+|[,;(]|\.(?:\s|$)|$)",
    re.IGNORECASE,  # only reached by the rare lines that contain "riginally" or "irst"
)


def words(line: str) -> int:
    """Number of words of a line; for scripts written without spaces, about chars / 3.

    Lines are white space collapsed (single spaces, none at the ends): the words are the
    spaces plus one, counted without splitting. Lines over 1,000 characters are only
    known to be long (every threshold is far lower).
    """
    if len(line) > 1_000:
        return len(line) // 6
    if not line:
        return 0
    count = line.count(" ") + 1
    return count if len(line) < 12 * count else max(count, len(line) // 3)


def is_sentence(line: str) -> bool:
    """A line that reads like prose: several words and a terminal punctuation mark."""
    return words(line) >= 5 and line.rstrip().endswith(SENTENCE_END)


def is_boilerplate(line: str, count: int | None = None) -> bool:
    """A line that is boilerplate by its own words, wherever it appears."""
    count = words(line) if count is None else count
    return count <= 30 and _boilerplate(line, line.lower(), count)


def _boilerplate(line: str, low: str, count: int) -> bool:
    """:func:`is_boilerplate` of a line of at most 30 words, given lower-cased as ``low``."""
    if _marked(low) or cookie_notice(low):
        return True
    if _CONTACT_VERB.match(low) and _CONTACT.search(low):  # "Write to X at x@y.com"
        return True
    if count > SHORT_WORDS:
        return _breadcrumb(line)
    if count <= 8 and _BYLINE.match(line) and not is_sentence(line):
        return True
    return bool(_UI.match(low.strip(_DECORATION)) or "click" in low and _CLICK.search(low)
                or _credit(low) or _breadcrumb(line))


def _credit(low: str) -> bool:
    """Ends with a photo agency's name: "Jane Doe | Bloomberg | Getty Images"."""
    end = low.rstrip(_CREDIT_TAIL)
    return end.endswith(_AGENCIES) and bool(_CREDIT.search(end))


def _marked(low: str) -> bool:
    """Holds a form or copyright mark; the first "©" counts unless the line has "ã©"
    (UTF-8 "é" read as Latin-1 is "Ã©"), and then only the marks before it do."""
    if "©" in low:
        if "ã©" not in low:
            return True
        low = low[: low.index("©")]
    for mark in _MARKS:
        if mark in low:
            return True
    return False


def cookie_notice(low: str) -> bool:
    """A cookie notice (``low``: the line lower-cased), however long."""
    return "cookie" in low and bool(_COOKIE_SITE.search(low) and _COOKIE_ASK.search(low))


def _breadcrumb(line: str) -> bool:
    return bool(_CRUMB_SEPARATOR.search(line) and _BREADCRUMB.match(line)) and not is_sentence(line)


def is_end_marker(line: str) -> bool:
    """A heading after which an article page only has teasers, comments or footer."""
    return bool(_END_MARKERS.match(line.lower().strip(_DECORATION)))


def is_date_line(line: str) -> bool:
    """A short line that is mostly a date or a time (sidebar and byline dates)."""
    return words(line) <= 8 and bool(_DATE_LINE.match(line.lower()))


def repeated(lines: list[str]) -> set[str]:
    """Short, non-sentence lines that occur more than once on the page (ads, captions)."""
    counts = Counter(lines)
    return {line for line, n in counts.items()
            if n > 1 and (words(line) <= SHORT_WORDS or not is_sentence(line))}


def trim_edges(lines: list[str], structured: Collection[str] = ()) -> list[str]:
    """Drop bylines, datelines and other non-prose lines before the first and after the last paragraph.

    ``structured`` lines (headings, list items, table cells) go only when they are a date
    or a "Posted by X - Category: Y" line: short ones are the article's own.
    """
    start, end = 0, len(lines)
    while start < end and _edge_noise(lines[start], lines[start] in structured):
        start += 1
    while end > start and _edge_noise(lines[end - 1], lines[end - 1] in structured):
        end -= 1
    return lines[start:end]


def _edge_noise(line: str, structured: bool = False) -> bool:
    """Bylines, datelines, "Posted by X - Category: Y - Tags: Z" and address lines."""
    count = words(line)
    date = count <= 8 and bool(_DATE_LINE.match(line.lower()))  # is_date_line, words counted once
    if line.endswith(SENTENCE_END) and not date:
        return False
    if date or count <= 40 and len(_FIELDS.findall(line)) >= 3:
        return True
    return not structured and (count <= 4 or count <= 12 and bool(_YEAR.search(line)))


def attribution(lines: list[str]) -> str | None:
    """The publication named by an "originally appeared on ..." line, if any."""
    for line in lines:
        if "riginally" not in line and "irst" not in line:
            continue
        if words(line) <= 60 and (match := _ATTRIBUTION.search(line)):  # case kept for the name
            name = match.group(1).strip(" .\"'“”‘’*_").removeprefix("the ")
            if name:
                return name
    return None


def clean_lines(lines: list[str], kinds: Mapping[str, str] = _NO_KINDS, *, repeats: bool = True) -> list[str]:
    """Apply the page-level line rules: boilerplate, repeats, end markers, edges.

    ``kinds``: the lines that are a ``heading`` or an ``item`` (list item, table cell) on
    an HTML page. Neither is trimmed at the edges for being short; an item never ends the
    article ("Comment" heading a table column is not a comment section). ``repeats``: drop
    short lines seen twice on the page (for flattened text, where nothing else tells an
    ad from the article).
    """
    noise = repeated(lines) if repeats else set()
    kept: list[str] = []
    total = sum(len(line) for line in lines) or 1
    seen = 0
    for line in lines:
        seen += len(line)
        count = words(line)
        if count > 30:  # too long for any rule but the repeats and a cookie notice
            if line not in noise and not ("ookie" in line and cookie_notice(line.lower())):
                kept.append(line)
            continue
        if count <= 8 and seen > END_AFTER * total and is_end_marker(line) and _has_prose(kept) \
                and kinds.get(line) != "item":
            break
        low = line.lower()  # once for is_boilerplate and is_date_line
        if line in noise or _boilerplate(line, low, count) or count <= 8 and _DATE_LINE.match(low):
            continue
        kept.append(line)
    return trim_edges(kept, kinds)


def _has_prose(lines: list[str]) -> bool:
    return sum(1 for line in lines if is_sentence(line)) >= 2
