"""Text normalisation shared by rule terms and item text.

Three layers, each with one job:

* :func:`clean_text` turns feed text into plain text (HTML removed, entities
  decoded, whitespace folded, Unicode NFC). This is what users see in
  explanations.
* :func:`fold` lower-cases with Turkish rules (``I``→``ı``, ``İ``→``i``), so
  ``ŞARJ İSTASYONU`` becomes ``şarj istasyonu`` and ``IĞDIR`` ``ığdır``.
* :func:`match_key` is the space the matcher works in: :func:`fold`, then
  diacritics dropped (``ş``→``s``, ``ı``→``i``, ``ç``→``c`` …), typographic
  apostrophes turned into ``'`` and dashes into ``-``. Terms and text go
  through the same function, so ``şarj`` and ``sarj`` are one word.

``match_key`` never changes the length of a cleaned string, so an offset in
the key is the same offset in the cleaned text; that is how an explanation
quotes the words that were actually matched.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["clean_chunks", "clean_text", "fold", "match_key", "tokens"]

_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK_TAG = re.compile(r"<\s*(?:br|/?p|/?div|/?li|/?h[1-6]|/?tr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")


def clean_text(text: str) -> str:
    """Return ``text`` as plain text: no HTML tags or entities, single spaces, NFC."""
    return " ".join(_plain(text).split())


def clean_chunks(text: str) -> tuple[str, list[str]]:
    """``(plain, chunks)``: ``" ".join(chunks) == clean_text(text)``.

    ``plain`` is the text before whitespace folding (same letters as the
    cleaned text); the matcher works on the chunks and never needs the
    joined string unless an explanation is asked for.
    """
    plain = _plain(text)
    return plain, plain.split()


def _plain(text: str) -> str:
    """Everything clean_text does except folding whitespace."""
    if not text:
        return ""
    if "<" in text:
        text = _SCRIPT_STYLE.sub(" ", text)
        # Block-level tags separate words ("<p>a</p><p>b</p>" must not become "ab").
        text = _BLOCK_TAG.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
        # Unescaping can reveal tags that were double-escaped (&lt;b&gt;) - drop those too.
        if "<" in text:
            text = _TAG.sub("", text)
    if text.isascii():
        return text
    if "\u00ad" in text or "\u200b" in text:
        text = text.replace("\u00ad", "").replace("\u200b", "")  # soft hyphen, zero-width space
    return unicodedata.normalize("NFC", text)


_TURKISH_UPPER = str.maketrans({"I": "ı", "İ": "i"})


def fold(text: str) -> str:
    """Lower-case ``text`` the Turkish way (``I``→``ı``, ``İ``→``i``); same length."""
    return text.translate(_TURKISH_UPPER).lower()


def _build_key_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            table[code] = base.lower()
    table.update(
        {
            ord("ı"): "i",
            ord("ø"): "o",
            ord("æ"): "a",
            ord("đ"): "d",
            ord("ł"): "l",
            ord("ß"): "s",
        }
    )
    for apostrophe in "’‘ʼ`´′":
        table[ord(apostrophe)] = "'"
    for dash in "‐‑‒–—―−":
        table[ord(dash)] = "-"
    return table


_KEY_TABLE = _build_key_table()


def match_key(text: str) -> str:
    """Return the matching form of (cleaned) ``text``: folded, without diacritics; same length."""
    if text.isascii():
        # In ASCII the Turkish ``I``→``ı``→``i`` is plain lower-casing and the
        # only character the key table changes is the backtick.
        text = text.lower()
        return text.replace("`", "'") if "`" in text else text
    return fold(text).translate(_KEY_TABLE)


# A word is letters/digits, optionally followed by apostrophe tails ("togg'un").
_TOKEN = re.compile(r"\w+(?:'\w+)*")


def tokens(key: str) -> list[tuple[int, int, str]]:
    """Split a match key into ``(start, end, word)`` tokens."""
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(key)]
