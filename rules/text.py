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

__all__ = [
    "MAX_SUMMARY_CHARS",
    "MAX_TITLE_CHARS",
    "clean_chunks",
    "clean_text",
    "clip",
    "fold",
    "match_key",
    "tokens",
]

# Each pattern is only run where it cannot scan to the end of the text again and
# again: a tag's ``[^>]*`` runs to the next ">", so the block-tag pattern only sees
# the text up to its last ">" (20,000 characters of "<br " without one cost 80
# million steps), and script/style blocks are found by _drop_blocks.
_BLOCK_TAG = re.compile(r"<\s*(?:br|/?p|/?div|/?li|/?h[1-6]|/?tr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
_OPENS_BLOCK = re.compile(r"<(?:script|style)\b", re.IGNORECASE)
_OPEN_BLOCK: dict[tuple[str, ...], re.Pattern[str]] = {
    kinds: re.compile(rf"<({'|'.join(kinds)})\b[^>]*>", re.IGNORECASE)
    for kinds in (("script", "style"), ("script",), ("style",))
}
_CLOSE_BLOCK = {kind: re.compile(rf"</{kind}\s*>", re.IGNORECASE) for kind in ("script", "style")}
# The start of the last closing tag of each kind: greedy ".*" then one step back at a time.
_LAST_CLOSE = {
    kind: re.compile(rf"(?s:.*)(?=</{kind}\s*>)", re.IGNORECASE) for kind in ("script", "style")
}

# What classify() analyses of an item, at most (see clip): the feeds layer sends
# at most 500 and 4,000 characters, so only other callers ever meet the cap.
MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 10_000


def clip(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, cut back to a space so no word is split."""
    if len(text) <= limit:
        return text
    if text[limit].isspace():
        return text[:limit]
    head = text[:limit]
    # A word cut in two could match a shorter term ("pilot" -> "pil"): drop its start.
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"), head.rfind("\r"))
    return head[:cut] if cut > 0 else ""


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
        if _OPENS_BLOCK.search(text) is not None:
            text = _drop_blocks(text)
        # Block-level tags separate words ("<p>a</p><p>b</p>" must not become "ab").
        end = text.rfind(">") + 1
        if end == len(text):
            text = _BLOCK_TAG.sub(" ", text)
        elif end:
            text = _BLOCK_TAG.sub(" ", text[:end]) + text[end:]
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


def _drop_blocks(text: str) -> str:
    """``text`` with each ``<script>``/``<style>`` block (up to its first closing tag) a space.

    What ``re.sub(r"<(script|style)\\b[^>]*>.*?</\\1\\s*>", " ", text)``
    gives, in linear time: that pattern scanned to the end of the text from
    each of many unclosed ``<style>`` tags. Here a kind with no closing tag
    after an opening tag is not looked for again (no later one can close).
    """
    last: dict[str, int] = {}  # where the last closing tag of each kind starts
    for kind, pattern in _LAST_CLOSE.items():
        found = pattern.match(text)
        if found is not None:
            last[kind] = found.end()
    parts: list[str] = []
    done = at = 0
    # An opening tag runs to the next ">": none after the last ">" is complete.
    end = text.rfind(">") + 1
    alive = tuple(last)
    while alive:
        opening = _OPEN_BLOCK[alive].search(text, at, end)
        if opening is None:
            break
        kind = opening.group(1).lower()
        if last[kind] < opening.end():
            alive = tuple(k for k in alive if k != kind)
            at = opening.start() + 1
            continue
        closing = _CLOSE_BLOCK[kind].search(text, opening.end())
        assert closing is not None  # last[kind] lies after the opening tag
        parts += (text[done : opening.start()], " ")
        done = at = closing.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


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
