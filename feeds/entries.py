"""Normalised feed entries and their identities.

Identity rules (per feed; the first that applies is ``Entry.identity``):

1. ``guid:<guid>`` — the entry's guid/id as written in the feed (not resolved
   against the feed URL, so a feed that moves keeps its identities);
2. ``link:<canonical link>`` — see :mod:`feeds.urls`;
3. ``hash:<sha256 of title_key + "|" + published date as written>``
   (also listed as an alias when the entry has a date).

``Entry.identities`` lists every key that applies (primary first). Record all
of them as seen: an entry whose guid changes but whose link (or title and
date) does not is then still recognised as already seen, even after its story
left the dedupe window.

Every text handed out (title, summary, guid, link) is free of control
characters and lone surrogates (see :func:`feeds.text.clean_text`): one
``&#0;`` must not fail a PostgreSQL batch.

Publication time is aware UTC. A date in the future is clamped to ``now``
(the hash identity uses the date as written, so clamping never changes the
identity). A missing date is ``None``: the caller uses first-seen time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from feeds.text import TextKind, clean_text, title_key, to_text
from feeds.urls import canonical_link, resolve_link

__all__ = ["Entry", "make_entry"]

# Titles longer than this are cut: some feeds put the whole article there.
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 4000


@dataclass(frozen=True)
class Entry:
    """One normalised entry. ``title``/``summary`` are plain text."""

    identity: str
    guid: str | None
    link: str | None
    canonical_link: str | None
    title: str
    summary: str
    published: datetime | None
    title_key: str
    identities: tuple[str, ...] = field(default=())
    #: False when the feed gave no title and ``title`` is the summary's start:
    #: rules anchored to a headline must not read a lead sentence as one.
    has_title: bool = True


def _hash_identity(key: str, date_text: str) -> str:
    digest = hashlib.sha256(f"{key}|{date_text}".encode()).hexdigest()[:32]
    return f"hash:{digest}"


def make_entry(
    *,
    guid: str | None,
    link: str | None,
    title: str | None,
    summary: str | None,
    published: datetime | None,
    base_url: str,
    now: datetime,
    title_kind: TextKind = "guess",
    summary_kind: TextKind = "html",
) -> Entry | None:
    """Build a normalised :class:`Entry`; None if there is nothing to show.

    ``title`` and ``summary`` are of the given kinds (see :mod:`feeds.text`:
    RSS titles are guessed, RSS descriptions are HTML, Atom says which).
    ``published`` must be aware.
    An entry without a title borrows the start of its summary; an entry with
    neither title, summary nor link is dropped.
    """
    guid = clean_text(guid).strip() if guid else None
    clean_guid = guid or None
    abs_link = resolve_link(clean_text(link, keep_whitespace=False) if link else None, base_url)
    canon = canonical_link(abs_link)
    text_title = to_text(title, title_kind)
    text_summary = to_text(summary, summary_kind)[:MAX_SUMMARY_CHARS]
    has_title = bool(text_title)
    if not text_title:
        text_title = text_summary[:120]
    if not text_title and abs_link is None:
        return None
    text_title = text_title[:MAX_TITLE_CHARS]
    key = title_key(text_title)
    date_text = published.isoformat() if published is not None else ""
    if published is not None and published > now:
        published = now

    identities: list[str] = []
    if clean_guid is not None:
        identities.append(f"guid:{clean_guid}")
    if canon is not None:
        identities.append(f"link:{canon}")
    # A dateless title hash only stands in when nothing better exists: as an
    # alias it would make tomorrow's "Günün özeti" look like today's.
    if not identities or published is not None:
        identities.append(_hash_identity(key, date_text))
    return Entry(
        identity=identities[0],
        guid=clean_guid,
        link=abs_link,
        canonical_link=canon,
        title=text_title,
        summary=text_summary,
        published=published,
        title_key=key,
        identities=tuple(identities),
        has_title=has_title,
    )
