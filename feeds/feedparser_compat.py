"""What the fast path borrows from feedparser, and the post-processing it reproduces.

:mod:`feeds.fastparse` must hand :func:`feeds.parse.parse_feed` exactly the
values feedparser's strict parser would. It gets there with five of
feedparser's private names (its date parser, the XML-declaration pattern, the
windows-1252 map, the URI fix-up pattern and the namespace table of
``_FeedParserMixin``), all imported here and nowhere else, and with copies of
small pieces of feedparser's logic (``pop``'s text clean-up, content-type
names, canonical namespace prefixes). This module is the whole coupling to
feedparser's internals: the place to re-check when the pinned release moves.

Both were checked against exactly :data:`CHECKED_FEEDPARSER_VERSION`, which
pyproject.toml pins. With any other release installed (a distro package,
``--no-deps``) :data:`ENABLED` is False, the fast path switches itself off and
feedparser alone decides: slower, never different.
"""

from __future__ import annotations

import contextlib
import time
from importlib import metadata

__all__ = [
    "CHECKED_FEEDPARSER_VERSION",
    "ENABLED",
    "RESERVED_PREFIXES",
    "canonical_prefix",
    "fix_uri",
    "installed_feedparser",
    "map_content_type",
    "parse_date",
    "pop_text",
    "utf8_declaration",
]

CHECKED_FEEDPARSER_VERSION = "6.0.14"
_NEW_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"


def installed_feedparser() -> str | None:
    """The installed feedparser release, or None when it is missing."""
    try:
        return metadata.version("feedparser")
    except metadata.PackageNotFoundError:
        return None


try:
    from feedparser.datetimes import _parse_date
    from feedparser.encodings import RE_XML_DECLARATION
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin
    from feedparser.urls import _urifixer
except ImportError:  # pragma: no cover - only with an unchecked feedparser
    ENABLED = False
else:
    ENABLED = installed_feedparser() == CHECKED_FEEDPARSER_VERSION

# Namespace URI (lower-case) -> the prefix feedparser maps it to.
_KNOWN_NS: dict[str, str] = (
    {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()} if ENABLED else {}
)
#: Prefixes that mean something to feedparser: its canonical prefixes and the
#: prefixes of its ``_start_<prefix>_<name>`` handlers.
RESERVED_PREFIXES: frozenset[str] = frozenset(
    {v.lower() for v in _KNOWN_NS.values() if v}
    | {
        name[len("_start_") :].split("_", 1)[0].lower()
        for name in (dir(_FeedParserMixin) if ENABLED else ())
        if name.startswith("_start_") and "_" in name[len("_start_") :]
    }
)


def utf8_declaration(text: str) -> str:
    """``text`` with the XML declaration feedparser's strict parser sees.

    As ``feedparser.encodings.convert_to_utf8`` does: the declaration is
    replaced by a UTF-8 one, or one is put first.
    """
    if RE_XML_DECLARATION.search(text):
        return str(RE_XML_DECLARATION.sub(_NEW_DECLARATION, text))
    return _NEW_DECLARATION + "\n" + text


def fix_uri(value: str) -> str:
    """feedparser's resolve_uri with an empty base: urljoin("", x) is x after this fix-up."""
    return str(_urifixer.sub(r"\1\3", value))


def parse_date(value: str) -> time.struct_time | None:
    """A date as feedparser reads it (every format it knows), or None."""
    parsed: time.struct_time | None = _parse_date(value)
    return parsed


def pop_text(raw: str | None, *, uri: bool = False) -> str:
    """feedparser's ``pop`` post-processing of a text element (strict parser, no base URI)."""
    out = (raw or "").strip()
    if uri and out:
        out = fix_uri(out)
    if out.isascii():
        return out  # both steps below are the identity on ASCII
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        out = out.encode("iso-8859-1").decode("utf-8")
    return out.translate(_cp1252)


def map_content_type(value: str) -> str:
    """A text construct's ``type`` as feedparser names it (``html`` -> ``text/html``)."""
    value = value.lower()
    if value in ("text", "plain"):
        return "text/plain"
    if value == "html":
        return "text/html"
    if value == "xhtml":
        return "application/xhtml+xml"
    return value


def canonical_prefix(uri: str) -> str | None:
    """The prefix feedparser gives a namespace URI ("" for the default RSS one), or None."""
    lowered = uri.lower()
    if "backend.userland.com/rss" in lowered:
        return ""
    return _KNOWN_NS.get(lowered)
