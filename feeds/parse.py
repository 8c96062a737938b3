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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeds.entries import Entry, make_entry
from feeds.fastparse import RawEntry, fast_parse

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
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class FeedParseError(Exception):
    """The body is not a usable feed; ``str(e)`` says why in one line."""


@dataclass(frozen=True)
class ParsedFeed:
    """Feed title, its entries in document order, and non-fatal warnings."""

    title: str | None
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...]
    parser: str = "feedparser"


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decode(body: bytes, content_type: str | None, warnings: list[str]) -> str:
    candidates: list[tuple[str, str]] = []
    for bom, codec in _BOMS:
        if body.startswith(bom):
            candidates.append((codec, "BOM"))
            break
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


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"<?xml"):
        # An XHTML page has an XML declaration too.
        end = start.find(b"?>")
        start = start[end + 2 :].lstrip() if end >= 0 else start
    return start.startswith((b"<!doctype html", b"<html"))


def _struct_to_datetime(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _summary_of(raw: Any) -> str | None:
    summary = raw.get("summary")
    if summary:
        return str(summary)
    content = raw.get("content")
    if content:
        value = content[0].get("value")
        return str(value) if value else None
    return None


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
    if _looks_like_html(body[:1024]):
        raise FeedParseError("not a feed: looks like an HTML page")
    if b"<!ENTITY" in body or b"<!entity" in body:
        raise FeedParseError("entity expansion refused: the document declares XML entities")

    warnings: list[str] = []
    text = _decode(body, content_type, warnings)
    text = text.lstrip("\ufeff")
    text = _XML_DECL_ENC.sub(r"\g<1>utf-8", text, count=1)

    fast = fast_parse(text) if FAST_PATH_ENABLED else None
    if fast is not None:
        return _build(fast.title, fast.entries, warnings, base_url, now, "fast")
    return _parse_with_feedparser(text, warnings, base_url, now)


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

    raws = [
        RawEntry(
            guid=raw.get("id"),
            link=raw.get("link"),
            title=raw.get("title"),
            summary=_summary_of(raw),
            published=raw.get("published_parsed"),
            updated=raw.get("updated_parsed"),
        )
        for raw in raw_entries
    ]
    title = parsed.get("feed", {}).get("title")
    return _build(title, raws, warnings, base_url, now, "feedparser")


def _build(
    title: Any,
    raws: Sequence[RawEntry],
    warnings: list[str],
    base_url: str,
    now: datetime,
    parser: str,
) -> ParsedFeed:
    entries: list[Entry] = []
    seen: set[str] = set()
    for raw in raws:
        if len(entries) >= MAX_ENTRIES:
            warnings.append(f"more than {MAX_ENTRIES} entries; the rest ignored")
            break
        entry = make_entry(
            guid=raw.guid,
            link=raw.link,
            title=raw.title,
            summary=raw.summary,
            published=_struct_to_datetime(raw.published) or _struct_to_datetime(raw.updated),
            base_url=base_url,
            now=now,
        )
        if entry is None:
            warnings.append("entry with no title, summary or link skipped")
            continue
        if entry.identity in seen:
            warnings.append(f"duplicate entry {entry.identity[:80]} skipped")
            continue
        seen.add(entry.identity)
        entries.append(entry)

    return ParsedFeed(
        title=(str(title).strip() or None) if title else None,
        entries=tuple(entries),
        warnings=tuple(warnings),
        parser=parser,
    )
