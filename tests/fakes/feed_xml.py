"""Builders for small RSS 2.0 and Atom 1.0 documents used by tests.

The output is deliberately plain and predictable so a test can reason about
exactly what a parser will see. Anything hostile (broken XML, wrong charset,
entity bombs) is built by hand in the test that needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

__all__ = ["FeedItem", "atom_xml", "feed_xml", "rss_xml"]


@dataclass
class FeedItem:
    """One entry of a test feed. ``None`` fields are left out of the XML."""

    title: str
    link: str | None = None
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None


def _rfc822(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(value.astimezone(UTC), usegmt=True)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rss_xml(
    items: Sequence[FeedItem],
    *,
    title: str = "Test feed",
    link: str = "http://example.test/",
    encoding: str = "utf-8",
) -> str:
    """An RSS 2.0 document; items are written in the order given."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title>",
        f"<link>{escape(link)}</link>",
        "<description>test</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.link is not None:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.guid is not None:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        if item.summary:
            parts.append(f"<description>{escape(item.summary)}</description>")
        if item.published is not None:
            parts.append(f"<pubDate>{_rfc822(item.published)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


def atom_xml(
    items: Sequence[FeedItem],
    *,
    title: str = "Test feed",
    link: str = "http://example.test/",
    updated: datetime | None = None,
) -> str:
    """An Atom 1.0 document; items are written in the order given."""
    stamp = _iso(updated or datetime(2024, 1, 1, tzinfo=UTC))
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title>",
        f'<link href="{escape(link)}"/>',
        f"<id>{escape(link)}</id>",
        f"<updated>{stamp}</updated>",
    ]
    for item in items:
        parts.append("<entry>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.link is not None:
            parts.append(f'<link rel="alternate" href="{escape(item.link)}"/>')
        if item.guid is not None:
            parts.append(f"<id>{escape(item.guid)}</id>")
        if item.summary:
            parts.append(f'<summary type="html">{escape(item.summary)}</summary>')
        if item.published is not None:
            parts.append(f"<published>{_iso(item.published)}</published>")
            parts.append(f"<updated>{_iso(item.published)}</updated>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts)


def feed_xml(kind: str, items: Sequence[FeedItem], *, title: str = "Test feed") -> str:
    """``rss_xml`` or ``atom_xml`` by name ("rss" / "atom")."""
    if kind == "atom":
        return atom_xml(items, title=title)
    if kind == "rss":
        return rss_xml(items, title=title)
    raise ValueError(f"unknown feed kind {kind!r}")
