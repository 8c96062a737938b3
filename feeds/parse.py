"""Parse feed bytes into normalised entries, or fail with a clear reason.

``parse_feed`` is synchronous and CPU-bound; call it off the event loop
(:mod:`feeds.poller` does). Before feedparser sees anything:

* an empty body, an HTML page and any document that declares XML entities
  (``<!ENTITY``: billion laughs and external-entity tricks; real feeds never
  need them) are refused with :class:`FeedParseError`;
* the bytes are decoded with the first charset that fits, in this order: BOM,
  the HTTP ``charset``, the XML declaration, UTF-8, windows-1254 (the Turkish
  Windows code page, a superset of Latin-5 for the letters that matter). A
  declared charset that does not decode is the common Turkish failure, so
  instead of feedparser's windows-1252 guess (``Þarj``) we get ``Şarj`` and a
  warning. The text is re-encoded as UTF-8 for feedparser.

Malformed XML: feedparser falls back to a lenient parser. A document that is
complete (its closing root tag is there) but has a local error, e.g. an
undefined ``&nbsp;``, is accepted with a warning; a truncated document, or
one from which no feed could be recovered, is a :class:`FeedParseError`.

Fast path: after the checks and decoding above, well-formed RSS 2.0 and Atom
1.0 documents are parsed with the standard library's expat parser
(:mod:`feeds.fastparse`, whose docstring lists exactly what it accepts); it
yields the same raw values feedparser would, and both paths build entries
with the same code below. Anything it is not sure about goes to feedparser.
``ParsedFeed.parser`` says which path was used (``"fast"``/``"feedparser"``).
"""

from __future__ import annotations

import calendar
import codecs
import re
import time
import xml.sax
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeds.entries import MAX_TITLE_CHARS, Entry, make_entry
from feeds.fastparse import RawEntry, RawFeed, fast_parse
from feeds.hints import FeedHints, feed_hints
from feeds.text import TextKind, to_text

__all__ = ["MAX_ENTRIES", "FeedParseError", "ParsedFeed", "parse_feed"]

MAX_ENTRIES = 500

# Benchmarks and the equivalence tests switch this off to compare the fast
# path with feedparser alone; production code leaves it on.
FAST_PATH_ENABLED = True

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
_XML_DECL_ENC = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([A-Za-z0-9._:-]+)", re.I)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_ROOT_CLOSE = re.compile(rb"</(?:rss|feed|rdf:rdf|rdf|channel)\s*>\s*$", re.I)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


# (codec, where its zero bytes are) for the first ASCII character: 1 marks
# the character's byte, 0 a zero byte.
_WIDE_PATTERNS: tuple[tuple[str, tuple[int, int, int, int]], ...] = (
    ("utf-32-be", (0, 0, 0, 1)),
    ("utf-32-le", (1, 0, 0, 0)),
    ("utf-16-be", (0, 1, 0, 1)),
    ("utf-16-le", (1, 0, 1, 0)),
)


# Character references that may name a surrogate or lie beyond U+10FFFF
# (feedparser's lenient parser crashes on both, losing the whole feed).
_BIG_CHARREF = re.compile(r"&#(?:[xX]0*([0-9A-Fa-f]{4,})|0*([0-9]{5,}));")


def _fix_charref(match: re.Match[str]) -> str:
    hexa, dec = match.groups()
    code = int(hexa, 16) if hexa else int(dec)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return "&#xFFFD;"
    return match.group(0)


class FeedParseError(Exception):
    """The body is not a usable feed; ``str(e)`` says why in one line."""


@dataclass(frozen=True)
class ParsedFeed:
    """Feed title, its entries in document order, and non-fatal warnings."""

    title: str | None
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...]
    parser: str = "feedparser"
    # ttl, skipHours/skipDays and the WebSub hub (feeds.hints)
    hints: FeedHints = field(default_factory=FeedHints)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _sniff_wide(head: bytes) -> str | None:
    """UTF-16/32 byte order of a document without BOM, from its first character (XML 1.0 F.1).

    An XML document starts with ``<`` or whitespace, so its first four bytes
    show where the zero bytes are.
    """
    if len(head) < 4 or 0 not in head[:4]:
        return None
    first = head[:4]
    for codec, pattern in _WIDE_PATTERNS:
        if all((b == 0) == (p == 0) for b, p in zip(first, pattern, strict=True)):
            char = first[pattern.index(1)]
            if char in b"<\t\r\n ":
                return codec
    return None


def _decode(body: bytes, content_type: str | None, warnings: list[str]) -> str:
    candidates: list[tuple[str, str]] = []
    for bom, codec in _BOMS:
        if body.startswith(bom):
            candidates.append((codec, "BOM"))
            # Off for every candidate: a fallback must not read it as "ï»¿".
            body = body[len(bom) :]
            break
    else:
        # Before the HTTP charset: UTF-16 bytes also "decode" as UTF-8 (NULs
        # are valid UTF-8), into garbage.
        wide = _sniff_wide(body[:4])
        if wide is not None:
            candidates.append((wide, "byte pattern"))
    if content_type:
        match = _CHARSET.search(content_type)
        http_codec = _codec(match.group(1)) if match else None
        if http_codec:
            candidates.append((http_codec, "HTTP charset"))
    decl = _XML_DECL.match(body[:512])
    declared = decl.group(1).decode("ascii", "replace") if decl else None
    decl_codec = _codec(declared)
    if decl_codec:
        candidates.append((decl_codec, "XML declaration"))
    elif declared:
        warnings.append(f"unknown declared charset {declared!r}")
    candidates += [("utf-8", "default"), ("cp1254", "fallback")]

    first_claim = candidates[0]
    for codec, source in candidates:
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if source in ("default", "fallback") and first_claim[1] not in ("default", "fallback"):
            warnings.append(
                f"declared charset {first_claim[0]} ({first_claim[1]}) does not match the bytes;"
                f" decoded as {codec}"
            )
        return text
    warnings.append("undecodable bytes replaced")
    return body.decode("utf-8", "replace")


_MARKUP_SKIP = (("<?", "?>"), ("<!--", "-->"), ("<!", ">"))
_FIRST_NAME = re.compile(r"<([A-Za-z_][\w:.-]*)")


def _looks_like_html(head: str) -> bool:
    """True when the first element of ``head`` is ``<html>``, or only an HTML DOCTYPE is seen.

    Declarations, comments and DOCTYPEs before the root are skipped, so an
    XHTML DOCTYPE in front of ``<rss>`` (seen in the wild) is still a feed.
    """
    pos = 0
    html_doctype = False
    while True:
        pos = len(head) - len(head[pos:].lstrip("\ufeff \t\r\n"))
        for start, end in _MARKUP_SKIP:
            if head.startswith(start, pos):
                if head[pos : pos + 9].lower() == "<!doctype":
                    html_doctype = head[pos + 9 : pos + 15].strip().lower().startswith("html")
                close = head.find(end, pos + len(start))
                if close < 0:
                    return html_doctype
                pos = close + len(end)
                break
        else:
            match = _FIRST_NAME.match(head, pos)
            if match is None:
                return html_doctype
            return match.group(1).lower() == "html"


def _struct_to_datetime(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _kind(detail: Any, atom: bool, default: TextKind) -> TextKind:
    """Text kind of a feedparser value: Atom says (text or markup); RSS keeps ``default``."""
    if not atom:
        return default
    kind = detail.get("type") if detail else None
    return "text" if kind in (None, "text/plain") else "html"


def _summary_of(raw: Any, atom: bool) -> tuple[str | None, TextKind]:
    summary = raw.get("summary")
    content = raw.get("content")
    if summary:
        # feedparser copies a lone content into the summary without its detail.
        detail = raw.get("summary_detail") or (content[0] if content else None)
        return str(summary), _kind(detail, atom, "html")
    if content:
        value = content[0].get("value")
        return (str(value) if value else None), _kind(content[0], atom, "html")
    return None, "html"


def parse_feed(
    body: bytes, *, base_url: str, now: datetime, content_type: str | None = None
) -> ParsedFeed:
    """Parse ``body`` (fetched from ``base_url``) into a :class:`ParsedFeed`.

    Relative entry links are resolved against ``base_url``; dates in the
    future are clamped to ``now``. Entries repeating an identity already seen
    earlier in the same document are dropped with a warning.

    Raises:
        FeedParseError: empty body, HTML page, entity declarations, malformed
            or truncated XML, or no RSS/Atom/RDF feed found.
    """
    if not body.strip():
        raise FeedParseError("empty body")
    warnings: list[str] = []
    # The checks below read the decoded text: in UTF-16 "<!ENTITY" is not
    # those bytes.
    text = _decode(body, content_type, warnings)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise FeedParseError("empty body")
    if _looks_like_html(text[:2048]):
        raise FeedParseError("not a feed: looks like an HTML page")
    if "<!ENTITY" in text or "<!entity" in text:
        raise FeedParseError("entity expansion refused: the document declares XML entities")

    text = _XML_DECL_ENC.sub(r"\g<1>utf-8", text, count=1)
    if "&#" in text:
        text = _BIG_CHARREF.sub(_fix_charref, text)

    hints = feed_hints(text, base_url)
    fast = fast_parse(text) if FAST_PATH_ENABLED else None
    if fast is not None:
        parsed = _build(fast, fast.entries, warnings, base_url, now, "fast")
    else:
        parsed = _parse_with_feedparser(text, warnings, base_url, now)
    return replace(parsed, hints=hints)


def _parse_with_feedparser(
    text: str, warnings: list[str], base_url: str, now: datetime
) -> ParsedFeed:
    data = text.encode("utf-8")
    parsed = feedparser.parse(
        data,
        response_headers={"content-type": "application/xml; charset=utf-8"},
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    version = parsed.get("version") or ""
    raw_entries = parsed.get("entries") or []
    exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(exc, xml.sax.SAXParseException):
        where = f"malformed XML at line {exc.getLineNumber()}: {exc.getMessage()}"
        if not _ROOT_CLOSE.search(data[-256:]):
            raise FeedParseError(f"{where} (document incomplete: truncated?)")
        if not version:
            raise FeedParseError(where)
        warnings.append(where + " (recovered)")
    elif exc is not None and not isinstance(
        exc, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType
    ):
        warnings.append(f"feedparser: {exc}")
    if not version:
        raise FeedParseError("not a feed: no RSS, Atom or RDF document found")

    # Atom says whether a text is plain or markup; RSS titles are guessed and
    # RSS descriptions are HTML (feedparser's own guess is not used, so the
    # fast path needs none of it).
    atom = version.startswith("atom")
    raws: list[RawEntry] = []
    for raw in raw_entries:
        summary, summary_kind = _summary_of(raw, atom)
        raws.append(
            RawEntry(
                guid=raw.get("id"),
                link=raw.get("link"),
                title=raw.get("title"),
                summary=summary,
                published=raw.get("published_parsed"),
                updated=raw.get("updated_parsed"),
                title_kind=_kind(raw.get("title_detail"), atom, "guess"),
                summary_kind=summary_kind,
            )
        )
    feed = parsed.get("feed", {})
    feed_title = RawFeed(feed.get("title"), (), _kind(feed.get("title_detail"), atom, "guess"))
    return _build(feed_title, raws, warnings, base_url, now, "feedparser")


def _build(
    feed: RawFeed,
    raws: Sequence[RawEntry],
    warnings: list[str],
    base_url: str,
    now: datetime,
    parser: str,
) -> ParsedFeed:
    entries: list[Entry] = []
    seen: set[str] = set()
    for number, raw in enumerate(raws, 1):
        if len(entries) >= MAX_ENTRIES:
            warnings.append(f"more than {MAX_ENTRIES} entries; the rest ignored")
            break
        try:
            entry = make_entry(
                guid=raw.guid,
                link=raw.link,
                title=raw.title,
                summary=raw.summary,
                published=_struct_to_datetime(raw.published) or _struct_to_datetime(raw.updated),
                base_url=base_url,
                now=now,
                title_kind=raw.title_kind,
                summary_kind=raw.summary_kind,
            )
        except Exception as exc:  # one odd entry must not cost the feed its others
            warnings.append(f"entry {number} skipped: {type(exc).__name__}: {exc}"[:300])
            continue
        if entry is None:
            warnings.append("entry with no title, summary or link skipped")
            continue
        if entry.identity in seen:
            warnings.append(f"duplicate entry {entry.identity[:80]} skipped")
            continue
        seen.add(entry.identity)
        entries.append(entry)

    title = to_text(str(feed.title), feed.title_kind)[:MAX_TITLE_CHARS] if feed.title else ""
    return ParsedFeed(
        title=title or None,
        entries=tuple(entries),
        warnings=tuple(warnings),
        parser=parser,
    )
