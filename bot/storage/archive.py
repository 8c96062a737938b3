"""The public archive's reads: categorised stories newest first, one story, full-text search.

Only stories with at least one category are public. Pages are keyed by story
id ("older than id N") rather than by offset, so page 500 costs what page 1
does; ids grow with `first_seen_at` because every story is inserted when it
is first seen.

Search runs on the index of migration 0007: SQLite FTS5 or PostgreSQL's
full-text search over Turkish-folded text. `search_terms` folds the reader's
words the same way (`rules.match_key`: ş→s, ı→i, İ→i, …), and every word
is matched as a prefix, so "istasyon" also finds "istasyonları".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage import schema as t
from bot.storage.base import StorageBase, json_list
from rules.text import match_key

#: A search uses at most this many words, each at most this long: a pasted
#: paragraph must not become a query that walks the whole index.
MAX_TERMS = 8
MAX_TERM_LENGTH = 40

#: How many of the newest stories a PostgreSQL search checks before using its index.
RECENT_WINDOW = 5000

# Plain SQL, run on every archive request: nothing to compile, same on both databases.
_VERSION_SQL = (
    "SELECT (SELECT max(id) FROM items), (SELECT min(id) FROM items), "
    "(SELECT max(seen_at) FROM item_sources)"
)

# Letters and digits only: nothing of the FTS5 or tsquery syntax gets through.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SourceRef:
    """One feed that carried a story, with its own link to it."""

    name: str
    link: str | None


@dataclass(frozen=True)
class ArchiveStory:
    """A categorised story as the archive shows it."""

    id: int
    title: str
    summary: str
    link: str | None
    published_at: datetime | None
    first_seen_at: datetime
    categories: tuple[str, ...]
    matches: dict[str, list[str]]
    sources: tuple[SourceRef, ...]  # the first feed first


def search_terms(query: str) -> list[str]:
    """The folded words of a reader's query, as the search index holds them."""
    words = _WORD.findall(match_key(query))
    return [w[:MAX_TERM_LENGTH] for w in dict.fromkeys(words)][:MAX_TERMS]


def _categorised() -> Any:
    return exists().where(t.item_categories.c.item_id == t.items.c.id)


class ArchiveStore(StorageBase):
    """What the public archive reads."""

    async def archive_version(self) -> tuple[Any, ...]:
        """A cheap fingerprint that changes whenever anything the archive shows changes.

        A new story raises the newest id, retention raises the oldest, and a
        feed carrying a known story again ("also reported by") raises the
        newest `item_sources.seen_at`. Each is one index probe (migration
        0010 indexes `seen_at`); separate scalar subqueries because SQLite
        only answers a lone min() or max() from an index. Every replica
        reads it from the shared database, so caches keyed by it stay
        correct across processes.
        """
        async with self.engine.connect() as conn:
            row = (await conn.exec_driver_sql(_VERSION_SQL)).one()
        return tuple(row)

    async def archive_stories(
        self, *, category: str | None = None, before: int | None = None, limit: int = 20
    ) -> list[ArchiveStory]:
        """Categorised stories newest first (of one category), older than story `before`."""
        if category is None:
            return await self._page(select(t.items).where(_categorised()), before, limit)
        # Ordered and bounded by item_categories.item_id (the same number as
        # items.id), so the database walks ix_item_categories_category
        # (category, item_id) backwards and stops after `limit` rows; ordering
        # by items.id instead sorted the whole category (0.7 s at 100,000 stories).
        key = t.item_categories.c.item_id
        query = (
            select(t.items)
            .select_from(t.item_categories)
            .join(t.items, t.items.c.id == key)
            .where(t.item_categories.c.category == category)
        )
        if before is not None:
            # The same bound on the joined side: PostgreSQL merge-joins the two
            # id orders and otherwise walks items down from the newest to reach
            # `before` (22 ms instead of 0.3 ms halfway down 100,000 stories).
            query = query.where(t.items.c.id < before)
        return await self._page(query, before, limit, key=key)

    async def archive_search(
        self, terms: Sequence[str], *, before: int | None = None, limit: int = 20
    ) -> list[ArchiveStory]:
        """Categorised stories containing every term (as a word prefix), newest first."""
        if not terms:
            return []
        if self.dialect == "postgresql":
            tsquery = " & ".join(f"{term}:*" for term in terms)
            # items.search_vector: generated by the database (migration 0005), GIN-indexed.
            match = text("items.search_vector @@ to_tsquery('simple', :tsquery)").bindparams(
                tsquery=tsquery
            )
            # PostgreSQL estimates prefix queries poorly and would read every
            # match through the GIN index, then sort: 0.3-0.7 s for a common
            # word at 100,000 stories. The newest RECENT_WINDOW stories are
            # checked first, walking the primary key (cheap with a stored
            # tsvector); only when they hold too few hits does the index search all.
            # A derived table with LIMIT: the match is checked on top of the walk.
            window = (
                select(*t.items.c, literal_column("items.search_vector").label("search_vector"))
                .order_by(t.items.c.id.desc())
                .limit(RECENT_WINDOW)
            )
            if before is not None:
                window = window.where(t.items.c.id < before)
            recent = window.subquery("recent")
            in_recent = select(*[recent.c[c.name] for c in t.items.c]).where(
                text("recent.search_vector @@ to_tsquery('simple', :tsquery)").bindparams(
                    tsquery=tsquery
                ),
                exists().where(t.item_categories.c.item_id == recent.c.id),
            )
            found = await self._page(in_recent, None, limit, key=recent.c.id)
            if len(found) >= limit:
                return found
            query = select(t.items).where(match, _categorised())
        else:
            fts_query = " ".join(f'"{term}"*' for term in terms)
            fts = table("items_fts")
            rowid: Any = literal_column("items_fts.rowid")
            # The FTS table drives, newest rowid first (FTS5 walks it in that
            # order), so the search stops after `limit` categorised hits.
            query = (
                select(t.items)
                .select_from(fts)
                .join(t.items, t.items.c.id == rowid)
                .where(text("items_fts MATCH :fts").bindparams(fts=fts_query), _categorised())
            )
            return await self._page(query, before, limit, key=rowid)
        return await self._page(query, before, limit)

    async def archive_story(self, story_id: int) -> ArchiveStory | None:
        """One categorised story with all its sources; None if unknown or uncategorised."""
        query = select(t.items).where(t.items.c.id == story_id, _categorised())
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            sources = await self._source_refs(conn, [story_id])
        return _story(row, sources)

    async def _page(
        self, query: Select[Any], before: int | None, limit: int, *, key: Any = None
    ) -> list[ArchiveStory]:
        key = t.items.c.id if key is None else key
        if before is not None:
            query = query.where(key < before)
        query = query.order_by(key.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            sources = await self._source_refs(conn, [r.id for r in rows])
        return [_story(r, sources) for r in rows]

    async def _source_refs(
        self, conn: AsyncConnection, item_ids: Sequence[int]
    ) -> dict[int, list[SourceRef]]:
        if not item_ids:
            return {}
        rows = await conn.execute(
            select(
                t.item_sources.c.item_id,
                t.feeds.c.name,
                t.item_sources.c.feed_id,
                t.item_sources.c.link,
            )
            .join(t.feeds, t.feeds.c.id == t.item_sources.c.feed_id, isouter=True)
            .where(t.item_sources.c.item_id.in_(list(item_ids)))
            .order_by(t.item_sources.c.seen_at, t.item_sources.c.feed_id)
        )
        refs: dict[int, list[SourceRef]] = {}
        for item_id, name, feed_id, link in rows:
            refs.setdefault(int(item_id), []).append(SourceRef(name or feed_id, link))
        return refs


def _story(row: Any, sources: dict[int, list[SourceRef]]) -> ArchiveStory:
    m = row._mapping
    categories = json_list(m["categories"])
    return ArchiveStory(
        id=int(m["id"]),
        title=m["title"],
        summary=m["summary"],
        link=m["link"],
        published_at=m["published_at"],
        first_seen_at=m["first_seen_at"],
        categories=categories,
        matches=json.loads(m["matches"] or "{}"),
        sources=tuple(sources.get(int(m["id"]), ())),
    )
