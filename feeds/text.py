"""Plain-text helpers: HTML to text, and the title key used for dedupe.

``html_to_text`` turns a feed's title or summary into what a reader would see:
tags removed (``script``/``style`` content dropped, block elements become
spaces), entities decoded (also double-encoded ones such as ``&amp;quot;``,
which are common in Turkish feeds), whitespace folded to single spaces.

``title_key`` is the form titles are compared in for cross-source dedupe:
Turkish dotted/dotless i folded together (``İ I ı i`` → ``i``), other
diacritics removed (``ş ğ ç ö ü â`` → ``s g c o u a``), case folded,
an apostrophe and the suffix after it dropped (``Togg'un`` → ``togg``,
``Turkey's`` → ``turkey``), any other punctuation turned
into a space, whitespace folded. Syndicated copies differ in exactly these
details (ALL CAPS headlines, typographic quotes, trailing "!"), so the key
makes them equal while keeping the words.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

__all__ = ["html_to_text", "title_key"]

_WS = re.compile(r"\s+")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template"})
_BLOCK = frozenset(
    {"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "section", "article", "figure", "figcaption", "hr", "img", "table"}
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def _strip_once(text: str) -> str:
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML (or already plain) fragment; ``""`` for None."""
    if not value:
        return ""
    text = value
    if "<" in text or "&" in text:
        text = _strip_once(text)
        # Double-encoded markup ("&amp;quot;", "&lt;b&gt;") is common in
        # Turkish feeds: a second pass removes what the first one uncovered.
        if "&" in text or _TAG.search(text):
            text = _strip_once(text)
    # NBSP and friends are whitespace to a reader.
    return _WS.sub(" ", text.replace("\u00a0", " ")).strip()


_I_FOLD = str.maketrans({"İ": "i", "I": "i", "ı": "i"})
# In Turkish an apostrophe separates a proper noun or number from its case
# suffix (Togg'un, 2024'te, İstanbul'da); in English it starts "'s". Either
# way the part after it is grammar, not content.
_APOSTROPHE_SUFFIX = re.compile(r"[’'ʼ`‘]\w*")
_NON_WORD = re.compile(r"[^\w]+|_")


def title_key(title: str) -> str:
    """Normalised title for dedupe (see module docstring)."""
    folded = _APOSTROPHE_SUFFIX.sub("", title).translate(_I_FOLD)
    decomposed = unicodedata.normalize("NFKD", folded)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _WS.sub(" ", _NON_WORD.sub(" ", stripped)).strip()
