"""The headline a news link spells, for stories that arrive without one.

Most news sites build an article's address from its headline
(``/karsan-bursaya-elektrikli-otobus-teslim-etti-h160489.html``). When a feed
or a stored page gives no headline, those words are the closest thing to it,
and a reader who sees the link reads them as one. The words lose their
diacritics and apostrophes, which the matcher drops anyway (see
:func:`rules.text.match_key`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

__all__ = ["item_title", "link_headline"]

# A headline has several words; a section name ("otomotiv", "news/world") does not.
MIN_WORDS = 3
MAX_CHARS = 300
_EXTENSION = re.compile(r"\.(?:s?html?|php|aspx?|jsp|cms|amp)$", re.IGNORECASE)
# Anything but letters, digits and an apostrophe inside a word ("Türkiye'de")
# separates words: hyphens, underscores, quotes, commas.
_SEPARATORS = re.compile(r"(?:[^\w'’]|_|(?<!\w)['’]|['’](?!\w))+")
# Article ids and hashes stuck to the slug ("h160489", "haberd3a6ac8e", "85") carry digits;
# a year or a count is lost with them, which a rule never needs from a headline.
_NOT_A_WORD = re.compile(r".*\d.*|amp|html?|php")


def _words(segment: str) -> list[str]:
    segment = _EXTENSION.sub("", segment)
    return [w for w in _SEPARATORS.split(segment) if w and not _NOT_A_WORD.fullmatch(w.lower())]


def link_headline(link: str | None) -> str:
    """The words of the link's longest headline-like path segment, or "" when it has none."""
    if not link:
        return ""
    try:
        path = unquote(urlsplit(link.strip()).path)
    except ValueError:  # an unparseable link (a bad IPv6 host) spells nothing
        return ""
    best: list[str] = []
    for segment in path.split("/"):
        words = _words(segment)
        if len(words) >= MIN_WORDS and len(" ".join(words)) > len(" ".join(best)):
            best = words
    return " ".join(best)[:MAX_CHARS]


def item_title(item: Mapping[str, object]) -> str:
    """An item's headline: its ``title``, else what its ``link`` or ``source`` spells."""
    title = item.get("title")
    if isinstance(title, str) and title.strip():
        return title
    link = item.get("link") or item.get("source")
    return link_headline(link) if isinstance(link, str) else ""
