"""Atom 1.0 documents (RFC 4287) for the archive's feeds.

Entry ids are tag: URIs (RFC 4151) made of the archive's authority, the day
the story was first seen and its id, so a feed reader never sees the same
story twice however often it polls, and never mistakes two stories for one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from bot.storage.archive import ArchiveStory

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"
CONTENT_TYPE = "application/atom+xml"
#: `updated` of a feed with no entries yet: any fixed time keeps its ETag stable.
EMPTY_FEED_UPDATED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedInfo:
    """What a feed says about itself."""

    tag: str  # "all" or a category id
    title: str
    self_url: str
    html_url: str
    lang: str
    authority: str  # a DNS name for the tag: URIs


def story_tag(authority: str, story: ArchiveStory) -> str:
    """The stable Atom id of a story."""
    return f"tag:{authority},{story.first_seen_at.astimezone(UTC):%Y-%m-%d}:story/{story.id}"


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def atom_feed(
    info: FeedInfo,
    stories: Sequence[ArchiveStory],
    *,
    category_name: Callable[[str], str],
    story_url: Callable[[int], str],
    category_scheme: str,
    safe_link: Callable[[str | None], str | None],
) -> bytes:
    """The feed document, newest story first."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {f"{{{XML_NS}}}lang": info.lang})
    _sub(feed, "id", f"tag:{info.authority},2026:feed/{info.tag}")
    _sub(feed, "title", info.title, type="text")
    updated = max((s.first_seen_at for s in stories), default=EMPTY_FEED_UPDATED)
    _sub(feed, "updated", _time(updated))
    _sub(feed, "link", rel="self", type=CONTENT_TYPE, href=info.self_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=info.html_url)
    author = _sub(feed, "author")
    _sub(author, "name", "evbot")
    _sub(feed, "generator", "evbot")
    for story in stories:
        entry = _sub(feed, "entry")
        _sub(entry, "id", story_tag(info.authority, story))
        _sub(entry, "title", story.title, type="text")
        _sub(entry, "updated", _time(story.first_seen_at))
        _sub(entry, "published", _time(story.published_at or story.first_seen_at))
        original = safe_link(story.link)
        page = story_url(story.id)
        _sub(entry, "link", rel="alternate", type="text/html", href=original or page)
        if original:
            _sub(entry, "link", rel="related", type="text/html", href=page)
        if story.sources:
            source_author = _sub(entry, "author")
            _sub(source_author, "name", story.sources[0].name)
        for category in story.categories:
            _sub(
                entry,
                "category",
                term=category,
                scheme=category_scheme,
                label=category_name(category),
            )
        if story.summary:
            _sub(entry, "summary", story.summary, type="text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
