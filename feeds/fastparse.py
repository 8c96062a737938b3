"""Fast path for well-formed RSS 2.0 and Atom 1.0: expat via ElementTree, no feedparser.

:func:`fast_parse` returns exactly the raw values feedparser's *strict* (SAX)
parser would hand to :func:`feeds.parse.parse_feed` — entry guid, link,
title, summary, published/updated dates and the feed title — or ``None``
("decline") whenever it cannot be sure of that; the caller then runs
feedparser as before. It is called on the text ``parse_feed`` has already
checked (not empty, not HTML, no ``<!ENTITY``) and decoded; it parses the
same UTF-8 bytes feedparser would (XML declaration replaced the same way).

Used only when all of these hold:

* expat parses the document without error, and it has no ``<!DOCTYPE``;
* the root is ``<rss version="2.0">`` (no namespace) with exactly one
  ``<channel>`` child, or an Atom 1.0 ``<feed>``
  (``http://www.w3.org/2005/Atom``);
* no element anywhere has a ``base`` / ``xml:base`` attribute;
* no declared namespace prefix collides with one feedparser gives a meaning
  to (e.g. ``xmlns:dc`` bound to anything but Dublin Core), and no prefix is
  bound to two different URIs;
* outside the entries, nothing that could change the feed title or create
  entries: the only ``title`` elements are the direct feed/channel title and
  the titles inside a plain RSS ``<image>``/``<textInput>``, and no element
  named item, entry, source, channel, feed, rss, rdf, svg or math (any
  namespace) appears outside the expected places;
* every entry child is in a whitelist, is a leaf (no nested elements, so no
  inline HTML/XHTML), has only whitelisted attributes, and the elements that
  carry fields appear at most once per entry:

  - RSS ``<item>``: ``title link guid description pubDate category comments
    author enclosure``, ``content:encoded``, ``dc:date dc:creator
    dc:subject``, ``media:thumbnail media:content`` (leaves only),
    ``slash:comments``, ``wfw:commentRss``;
  - Atom ``<entry>``: ``title id link summary content published updated
    category``, ``author``/``contributor`` (with leaf ``name email uri``);
    text constructs must be ``type`` text or html (no xhtml, no ``src``, no
    ``mode``), links must carry ``href``.

It declines on everything else: RSS 0.9x/1.0 (RDF), Atom 0.3, parse errors
(truncated, undefined entities), ``xml:base``, XHTML or nested markup in
entries, unknown elements or namespaces inside entries, duplicated fields,
odd attributes. Dates are parsed by feedparser's own date parser, and each
text value goes through the same post-processing as in feedparser's
``_FeedParserMixin.pop`` (strip, ``_urljoin`` fix-up for URI elements, the
UTF-8-as-Latin-1 repair, the windows-1252 code-point map, the ``&amp;``
repair of entry links), so declining is the only way the paths can differ.
What is borrowed from feedparser (private names, copied logic, the release it
was checked against) lives in :mod:`feeds.feedparser_compat`; this module
owns deciding whether a document is safe to read and reading it.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from feeds import feedparser_compat as compat
from feeds.feedparser_compat import (
    CHECKED_FEEDPARSER_VERSION,
    RESERVED_PREFIXES,
    canonical_prefix,
    fix_uri,
    installed_feedparser,
    map_content_type,
    parse_date,
    pop_text,
    utf8_declaration,
)
from feeds.text import TextKind

# Whether the fast path runs: the installed feedparser is the checked release
# (see feeds.feedparser_compat). A name of this module so tests can switch it off.
ENABLED = compat.ENABLED

__all__ = ["CHECKED_FEEDPARSER_VERSION", "ENABLED", "RawEntry", "RawFeed", "fast_parse"]

ATOM = "http://www.w3.org/2005/Atom"
_A = "{" + ATOM + "}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_MEDIA_NS = ("{http://search.yahoo.com/mrss/}", "{http://search.yahoo.com/mrss}")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_DANGEROUS = frozenset(
    {
        "item",
        "entry",
        "title",
        "source",
        "channel",
        "feed",
        "rss",
        "rdf",
        "image",
        "textinput",
        "svg",
        "math",
    }
)
_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
_TEXTINPUT_CHILDREN = frozenset({"title", "link", "description", "name"})
_SAFE_TEXT_TYPES = frozenset({"text", "plain", "html", "text/plain", "text/html"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")

# RSS item children: tag -> field name (None: harmless, ignored).
_RSS_FIELDS: dict[str, str | None] = {
    "title": "title",
    "link": "link",
    "guid": "guid",
    "description": "summary",
    "pubDate": "published",
    _CONTENT + "encoded": "content",
    _DC + "date": "updated",
    "category": None,
    "comments": None,
    "author": None,
    "enclosure": None,
    _DC + "creator": None,
    _DC + "subject": None,
    "{http://purl.org/rss/1.0/modules/slash/}comments": None,
    "{http://wellformedweb.org/CommentAPI/}commentRss": None,
    **{ns + "thumbnail": None for ns in _MEDIA_NS},
    **{ns + "content": None for ns in _MEDIA_NS},
}
# Attributes allowed per RSS item child (any for the ones listed as None).
_RSS_ATTRS: dict[str, frozenset[str] | None] = {
    "guid": frozenset({"isPermaLink", _XML_LANG}),
    "category": frozenset({"domain", _XML_LANG}),
    "enclosure": None,
    **{ns + "thumbnail": None for ns in _MEDIA_NS},
    **{ns + "content": None for ns in _MEDIA_NS},
}
_ONLY_LANG = frozenset({_XML_LANG})

_ATOM_FIELDS: dict[str, str | None] = {
    _A + "title": "title",
    _A + "id": "guid",
    _A + "summary": "summary",
    _A + "content": "content",
    _A + "published": "published",
    _A + "updated": "updated",
    _A + "link": None,
    _A + "category": None,
    _A + "author": None,
    _A + "contributor": None,
}
_ATOM_TEXT_ATTRS = frozenset({"type", _XML_LANG})
_ATOM_LINK_ATTRS = frozenset({"href", "rel", "type", "hreflang", "title", "length", _XML_LANG})
_ATOM_CATEGORY_ATTRS = frozenset({"term", "scheme", "label", _XML_LANG})
_ATOM_PERSON_CHILDREN = frozenset({_A + "name", _A + "email", _A + "uri"})


class _Decline(Exception):
    """The fast path cannot guarantee feedparser's result."""


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry's values as ``parse_feed`` reads them from feedparser."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None
    published: time.struct_time | None
    updated: time.struct_time | None
    # RSS titles are guessed and RSS descriptions are HTML; Atom says.
    title_kind: TextKind = "guess"
    summary_kind: TextKind = "html"


@dataclass(frozen=True, slots=True)
class RawFeed:
    """Feed title (and its kind) and entries in document order."""

    title: str | None
    entries: tuple[RawEntry, ...]
    title_kind: TextKind = "guess"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _check_namespaces(declarations: Iterator[tuple[str, str]]) -> None:
    bound: dict[str, str] = {}
    for prefix, uri in declarations:
        lowered = prefix.lower()
        if bound.setdefault(lowered, uri) != uri:
            raise _Decline("prefix bound to two namespaces")
        if lowered and lowered in RESERVED_PREFIXES and canonical_prefix(uri) != lowered:
            raise _Decline(f"prefix {prefix!r} bound to an unexpected namespace")


def _check_attrs(element: ET.Element, allowed: frozenset[str] | None) -> None:
    if allowed is None or not element.attrib:
        return
    for key in element.attrib:
        if key not in allowed:
            raise _Decline(f"attribute {key!r} on {element.tag}")


def _leaf_text(element: ET.Element) -> str | None:
    if len(element):
        raise _Decline(f"nested markup in {element.tag}")
    return element.text


def _check_text_construct(element: ET.Element) -> None:
    _check_attrs(element, _ATOM_TEXT_ATTRS)
    kind = element.get("type")
    if kind is not None and kind.lower() not in _SAFE_TEXT_TYPES:
        raise _Decline(f"content type {kind!r}")


def _check_feed_level(element: ET.Element) -> None:
    for node in element.iter():
        if _local(node.tag).lower() in _DANGEROUS:
            raise _Decline(f"{node.tag} outside the expected places")


def _check_rss_box(element: ET.Element, allowed: frozenset[str]) -> None:
    """An RSS ``<image>``/``<textInput>``: plain leaves feedparser keeps to itself."""
    for child in element:
        if child.tag not in allowed:
            raise _Decline(f"{child.tag} inside {element.tag}")
        _leaf_text(child)


def _rss_entry(item: ET.Element) -> RawEntry:
    _check_attrs(item, _ONLY_LANG)
    fields: dict[str, ET.Element] = {}
    for child in item:
        tag = child.tag
        if tag not in _RSS_FIELDS:
            raise _Decline(f"unexpected {tag} in an RSS item")
        _leaf_text(child)
        _check_attrs(child, _RSS_ATTRS.get(tag, _ONLY_LANG))
        field = _RSS_FIELDS[tag]
        if field is not None:
            if field in fields:
                raise _Decline(f"repeated {tag} in an RSS item")
            fields[field] = child

    guid = link = None
    if (node := fields.get("guid")) is not None:
        permalink = "true"
        for key, value in node.attrib.items():
            if key.lower() == "ispermalink":
                permalink = value
        is_link = permalink == "true"
        guid = pop_text(node.text, uri=is_link)
        if is_link:
            link = guid
    if (node := fields.get("link")) is not None:
        link = pop_text(node.text, uri=True).replace("&amp;", "&")
        link = _LINK_ENTITY.sub(r"&\g<1>", link)
    return _finish(fields, guid=guid, link=link)


def _atom_entry(entry: ET.Element) -> RawEntry:
    _check_attrs(entry, _ONLY_LANG)
    fields: dict[str, ET.Element] = {}
    alternate: str | None = None
    for child in entry:
        tag = child.tag
        if tag not in _ATOM_FIELDS:
            raise _Decline(f"unexpected {tag} in an Atom entry")
        field = _ATOM_FIELDS[tag]
        if tag in (_A + "author", _A + "contributor"):
            _check_attrs(child, _ONLY_LANG)
            for person in child:
                if person.tag not in _ATOM_PERSON_CHILDREN:
                    raise _Decline(f"{person.tag} in an Atom person")
                _check_attrs(person, _ONLY_LANG)
                _leaf_text(person)
            continue
        _leaf_text(child)
        if tag == _A + "link":
            _check_attrs(child, _ATOM_LINK_ATTRS)
            href = child.get("href")
            if href is None:
                raise _Decline("Atom link without href")
            rel = child.get("rel")
            rel = "alternate" if rel is None else rel.lower()
            kind = child.get("type")
            if kind is None:
                kind = "application/atom+xml" if rel == "self" else "text/html"
            if rel == "alternate" and map_content_type(kind) in _HTML_TYPES:
                alternate = fix_uri(href)
            continue
        if tag == _A + "category":
            _check_attrs(child, _ATOM_CATEGORY_ATTRS)
            continue
        if field in ("title", "summary", "content"):
            _check_text_construct(child)
        else:
            _check_attrs(child, _ONLY_LANG)
        if field is not None:
            if field in fields:
                raise _Decline(f"repeated {tag} in an Atom entry")
            fields[field] = child

    guid = link = None
    if (node := fields.get("guid")) is not None:
        guid = link = pop_text(node.text, uri=True)  # an Atom id counts as a permalink guid
    if alternate is not None:
        link = alternate
    return _finish(fields, guid=guid, link=link, atom=True)


def _atom_kind(node: ET.Element | None) -> TextKind:
    """Kind of an Atom text construct (checked to be text or html)."""
    if node is None:
        return "text"
    return "text" if map_content_type(node.get("type") or "text") == "text/plain" else "html"


def _finish(
    fields: dict[str, ET.Element], *, guid: str | None, link: str | None, atom: bool = False
) -> RawEntry:
    title = summary = content = None
    if (node := fields.get("title")) is not None:
        title = pop_text(node.text)
    if (node := fields.get("summary")) is not None:
        summary = pop_text(node.text)
    if (node := fields.get("content")) is not None:
        content = pop_text(node.text)
    published = updated = None
    if (node := fields.get("published")) is not None:
        published = parse_date(pop_text(node.text))
    if (node := fields.get("updated")) is not None:
        updated = parse_date(pop_text(node.text))
    title_kind: TextKind = "guess"
    summary_kind: TextKind = "html"
    if atom:
        title_kind = _atom_kind(fields.get("title"))
        summary_kind = _atom_kind(fields.get("summary") if summary else fields.get("content"))
    return RawEntry(
        guid=guid,
        link=link,
        title=title,
        # feedparser copies content into a missing summary; parse_feed then
        # takes the summary, else the content.
        summary=summary or content or None,
        published=published,
        updated=updated,
        title_kind=title_kind,
        summary_kind=summary_kind,
    )


def _feed_title(node: ET.Element | None) -> str | None:
    if node is None:
        return None
    _check_text_construct(node)
    return pop_text(_leaf_text(node))


def _parse_rss(root: ET.Element) -> RawFeed:
    if root.get("version") != "2.0":
        raise _Decline("not RSS 2.0")
    if len(root) != 1 or root[0].tag != "channel":
        raise _Decline("RSS root without exactly one channel")
    channel = root[0]
    for key in channel.attrib:
        if key != _XML_LANG:
            raise _Decline(f"attribute {key!r} on channel")
    title_node: ET.Element | None = None
    entries: list[RawEntry] = []
    for child in channel:
        tag = child.tag
        if tag == "item":
            entries.append(_rss_entry(child))
        elif tag == "title":
            if title_node is not None:
                raise _Decline("two channel titles")
            title_node = child
        elif tag == "image":
            _check_rss_box(child, _IMAGE_CHILDREN)
        elif tag in ("textInput", "textinput"):
            _check_rss_box(child, _TEXTINPUT_CHILDREN)
        else:
            _check_feed_level(child)
    return RawFeed(_feed_title(title_node), tuple(entries))


def _parse_atom(root: ET.Element) -> RawFeed:
    title_node: ET.Element | None = None
    entries: list[RawEntry] = []
    for child in root:
        tag = child.tag
        if tag == _A + "entry":
            entries.append(_atom_entry(child))
        elif tag == _A + "title":
            if title_node is not None:
                raise _Decline("two feed titles")
            title_node = child
        else:
            _check_feed_level(child)
    return RawFeed(_feed_title(title_node), tuple(entries), _atom_kind(title_node))


def _walk_attrs(root: ET.Element) -> None:
    for node in root.iter():
        for key in node.attrib:
            if _local(key).lower() == "base":
                raise _Decline("xml:base")


def _parse(text: str) -> RawFeed:
    if "<!DOCTYPE" in text:
        raise _Decline("DOCTYPE")
    text = utf8_declaration(text)  # the bytes feedparser's strict parser sees
    parser: Any = ET.XMLPullParser(events=("start-ns", "start"))
    try:
        parser.feed(text.encode("utf-8"))
        parser.close()
    except ET.ParseError as exc:
        raise _Decline(f"XML error: {exc}") from None
    root: ET.Element | None = None
    declarations: list[tuple[str, str]] = []
    for event, value in parser.read_events():
        if event == "start-ns":
            declarations.append(value)
        elif root is None:
            root = value
    if root is None:
        raise _Decline("no root element")
    _check_namespaces(iter(declarations))
    _walk_attrs(root)
    if root.tag == "rss":
        return _parse_rss(root)
    if root.tag == _A + "feed":
        return _parse_atom(root)
    raise _Decline(f"root {root.tag}")


def fast_parse(text: str) -> RawFeed | None:
    """Title and raw entries of ``text``, or None when feedparser must decide (see module doc)."""
    if not ENABLED:
        return None
    try:
        return _parse(text)
    except _Decline:
        return None


def decline_reason(text: str) -> str | None:
    """Why :func:`fast_parse` declines ``text`` (None if it does not); for tests and tools."""
    if not ENABLED:
        return f"feedparser {installed_feedparser()} is not {CHECKED_FEEDPARSER_VERSION}"
    try:
        _parse(text)
    except _Decline as exc:
        return str(exc)
    return None
