"""Plain-text helpers: feed text to what a reader sees, and the title key used for dedupe.

Feed text comes in three kinds (:data:`TextKind`):

* ``"html"`` — markup (RSS ``description``, Atom ``type="html"``/``"xhtml"``):
  :func:`html_to_text` removes tags (``script``/``style`` content dropped,
  block elements become spaces), decodes entities, and makes a *second* pass
  only when the first one uncovered what is evidently double-encoded markup
  (``&lt;p&gt;…&lt;/p&gt;``, common in Turkish feeds) or entities
  (``&amp;quot;``). A lone ``<Batarya>`` or ``<marquee>`` that the first pass
  uncovered is a word the author escaped on purpose and stays. Text inside
  ``<code>``, ``<pre>``, ``<kbd>``, ``<samp>``, ``<tt>`` is never re-parsed
  (``<code>&lt;br /&gt;</code>`` shows ``<br />``). Inline SVG markup is
  dropped but its ``<title>``/``<desc>``/``<text>`` text is kept.
* ``"text"`` — plain text (Atom ``type="text"``, the default): literal
  ``<…>`` words are kept; only entity references written out
  (``&amp;#39;``, a common double-encoding) are decoded.
* ``"guess"`` — RSS titles, which the spec calls plain text but publishers
  fill with both: treated as HTML only if they carry an evident HTML tag
  (a closing tag or a void tag of a known HTML element, or a known element
  with attributes) or an entity reference; otherwise as plain text.

Every result also goes through :func:`clean_text`: C0/C1 control characters
are removed (PostgreSQL refuses NUL, Telegram shows the others as boxes) and
lone surrogates (from ``&#xD800;``: they cannot even be encoded as UTF-8)
become U+FFFD. Whitespace is folded to single spaces.

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

import html
import re
import unicodedata
from html.parser import HTMLParser
from typing import Literal

__all__ = ["TextKind", "clean_text", "html_to_text", "plain_to_text", "title_key", "to_text"]

TextKind = Literal["text", "html", "guess"]

_WS = re.compile(r"\s+")
# Tab, LF and CR are whitespace the caller folds; every other C0/C1 control
# (and DEL) goes. ``_CONTROL_ALL`` is for identifiers and links.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")
_CONTROL_ALL = re.compile("[\x00-\x1f\x7f-\x9f]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template"})
# Inside an inline SVG these carry its text (accessible name, description).
_SVG_TEXT = frozenset({"title", "desc"})
# SVG text blocks are placed apart on the canvas: a space between them.
_SVG_BLOCK = frozenset({"title", "desc", "text"})
_LITERAL = frozenset({"code", "pre", "kbd", "samp", "tt"})
_BLOCK = frozenset(
    {
        "br",
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "section",
        "article",
        "figure",
        "figcaption",
        "hr",
        "img",
        "table",
        "svg",
        "pre",
    }
)
# Elements whose tags, once uncovered in text, mean "this is markup".
_HTML_ELEMENTS = frozenset(
    {
        "a",
        "abbr",
        "acronym",
        "address",
        "article",
        "aside",
        "audio",
        "b",
        "big",
        "blink",
        "blockquote",
        "body",
        "br",
        "button",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "embed",
        "figcaption",
        "figure",
        "font",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hr",
        "html",
        "i",
        "iframe",
        "img",
        "input",
        "ins",
        "kbd",
        "label",
        "li",
        "link",
        "main",
        "mark",
        "marquee",
        "meta",
        "nav",
        "noscript",
        "object",
        "ol",
        "option",
        "p",
        "picture",
        "pre",
        "q",
        "s",
        "samp",
        "script",
        "section",
        "select",
        "small",
        "source",
        "span",
        "strike",
        "strong",
        "style",
        "sub",
        "summary",
        "sup",
        "svg",
        "table",
        "tbody",
        "td",
        "textarea",
        "tfoot",
        "th",
        "thead",
        "time",
        "title",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "video",
        "wbr",
    }
)
_VOID = frozenset({"br", "hr", "img", "wbr", "embed", "source", "input", "meta", "link"})
_CLOSE_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9]*)\s*>")
_OPEN_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9]*)(\s+[A-Za-z_:][-\w:.]*\s*=|\s*/?>)")


def clean_text(value: str, *, keep_whitespace: bool = True) -> str:
    """``value`` without control characters; lone surrogates become U+FFFD.

    With ``keep_whitespace`` tab, LF and CR stay (for text that is folded
    afterwards); without it they go too (identifiers, links).
    """
    if value.isascii():
        if value.isprintable():
            return value
    elif _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return (_CONTROL if keep_whitespace else _CONTROL_ALL).sub("", value)


def _looks_like_markup(text: str) -> bool:
    """True when ``text`` evidently holds HTML tags rather than words in brackets."""
    for match in _CLOSE_TAG.finditer(text):
        if match.group(1).lower() in _HTML_ELEMENTS:
            return True
    for match in _OPEN_TAG.finditer(text):
        name = match.group(1).lower()
        if name in _VOID or (name in _HTML_ELEMENTS and "=" in match.group(2)):
            return True
    return False


class _TextExtractor(HTMLParser):
    """Collects visible text as ``(text, literal)`` runs; literal runs are code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, bool]] = []
        self._skip_depth = 0
        self._svg_depth = 0
        self._literal_depth = 0

    def _skips(self, tag: str) -> bool:
        return tag in _SKIP and not (self._svg_depth and tag in _SVG_TEXT)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self._svg_depth += 1
        if self._skips(tag):
            self._skip_depth += 1
        elif tag in _BLOCK or (self._svg_depth and tag in _SVG_BLOCK):
            self.parts.append((" ", False))
        if tag in _LITERAL:
            self._literal_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._skips(tag):
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK or (self._svg_depth and tag in _SVG_BLOCK):
            self.parts.append((" ", False))
        if tag in _LITERAL:
            self._literal_depth = max(0, self._literal_depth - 1)
        if tag == "svg":
            self._svg_depth = max(0, self._svg_depth - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <title/>, <code/>, <svg/>: an empty element, not an unclosed one.
        if tag in _BLOCK:
            self.parts.append((" ", False))

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append((data, self._literal_depth > 0))


def _extract(text: str) -> list[tuple[str, bool]]:
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    # Merge neighbours of the same kind so the second pass sees whole runs.
    runs: list[tuple[str, bool]] = []
    for part, literal in parser.parts:
        if runs and runs[-1][1] == literal:
            runs[-1] = (runs[-1][0] + part, literal)
        else:
            runs.append((part, literal))
    return runs


def _decode_entities(text: str) -> str:
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text) if "&" in text else text


def _fold(text: str) -> str:
    # NBSP and friends are whitespace to a reader.
    return _WS.sub(" ", clean_text(text).replace("\u00a0", " ")).strip()


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment; ``""`` for None (see module docstring)."""
    if not value:
        return ""
    if "<" not in value and "&" not in value:
        return _fold(value)
    out: list[str] = []
    for run, literal in _extract(value):
        if literal:
            out.append(run)
        elif _looks_like_markup(run):
            # Double-encoded markup: the first pass uncovered real tags.
            out.extend(part for part, _ in _extract(run))
        else:
            out.append(_decode_entities(run))
    return _fold("".join(out))


def plain_to_text(value: str | None) -> str:
    """A plain-text value as shown: entity references decoded, ``<…>`` kept."""
    if not value:
        return ""
    return _fold(_decode_entities(value))


def to_text(value: str | None, kind: TextKind) -> str:
    """Reader's text of ``value`` of the given kind (see module docstring)."""
    if not value:
        return ""
    if kind == "html":
        return html_to_text(value)
    if kind == "guess" and (_ENTITY.search(value) or _looks_like_markup(value)):
        return html_to_text(value)
    return plain_to_text(value)


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
