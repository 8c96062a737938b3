"""Stories: a poll's batch written in one transaction, sources, reading stories back, retention."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    FetchRecord,
    ItemRow,
    KnownStoryRow,
    NewItem,
    OutboxStatus,
    SeenAgain,
    StoredBatch,
)
from bot.storage import schema as t
from bot.storage.base import StorageBase


class StoriesStore(StorageBase):
    """Stories and their sources."""

    async def recent_stories(self, since: datetime, *, after_id: int = 0) -> list[KnownStoryRow]:
        """Stories first seen since `since` (and numbered above `after_id`), for dedupe."""
        query = select(
            t.items.c.id, t.items.c.canonical_link, t.items.c.title_key, t.items.c.first_seen_at
        ).where(t.items.c.first_seen_at >= since, t.items.c.id > after_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [KnownStoryRow(r[0], r[1], r[2], r[3]) for r in rows]

    async def store_batch(
        self,
        feed_id: str,
        *,
        new: Sequence[NewItem],
        again: Sequence[SeenAgain],
        seen: Sequence[str],  # identities of entries already known
        record: FetchRecord,
        now: datetime,
    ) -> StoredBatch:
        """Apply one poll's decisions in one transaction: stories, sources, outbox, fetch state."""
        item_ids: list[int] = []
        outbox_rows = 0
        async with self.engine.begin() as conn:
            for entry in new:
                if entry.same_as_batch_index is not None:
                    story_id = item_ids[entry.same_as_batch_index]
                    item_ids.append(story_id)
                    await self._link_source(
                        conn, story_id, feed_id, entry.identities, entry.link, now
                    )
                    continue
                story_id = await self._insert_item(conn, feed_id, entry, now)
                item_ids.append(story_id)
                outbox_rows += await self._enqueue_alerts(conn, story_id, entry.alerts, now)
            for dup in again:
                await self._link_source(conn, dup.story_id, feed_id, dup.identities, dup.link, now)
            if seen:
                await conn.execute(
                    self._insert_ignore(t.feed_entries),
                    [{"feed_id": feed_id, "identity": i, "seen_at": now} for i in seen],
                )
            await self._record_fetch(conn, feed_id, record, now)
        created = [i for i, e in zip(item_ids, new, strict=True) if e.same_as_batch_index is None]
        return StoredBatch(item_ids=created, outbox_rows=outbox_rows)

    async def _insert_item(
        self, conn: AsyncConnection, feed_id: str, entry: NewItem, now: datetime
    ) -> int:
        result = await conn.execute(
            insert(t.items)
            .values(
                feed_id=feed_id,
                title=entry.title,
                summary=entry.summary,
                link=entry.link,
                canonical_link=entry.canonical_link,
                title_key=entry.title_key,
                published_at=entry.published_at,
                first_seen_at=now,
                categories=json.dumps(list(entry.categories)),
                topics=json.dumps(list(entry.topics)),
                entities=json.dumps(list(entry.entities)),
                matches=json.dumps(entry.matches, ensure_ascii=False),
            )
            .returning(t.items.c.id)
        )
        story_id = int(result.scalar_one())
        if entry.categories:
            await conn.execute(
                insert(t.item_categories),
                [{"item_id": story_id, "category": c} for c in entry.categories],
            )
        await self._link_source(conn, story_id, feed_id, entry.identities, entry.link, now)
        return story_id

    async def _link_source(
        self,
        conn: AsyncConnection,
        story_id: int,
        feed_id: str,
        identities: Sequence[str],
        link: str | None,
        now: datetime,
    ) -> None:
        await conn.execute(
            self._insert_ignore(t.item_sources).values(
                item_id=story_id, feed_id=feed_id, link=link, seen_at=now
            )
        )
        await conn.execute(
            self._insert_ignore(t.feed_entries),
            [
                {"feed_id": feed_id, "identity": i, "item_id": story_id, "seen_at": now}
                for i in dict.fromkeys(identities)
            ],
        )

    async def latest_items(
        self,
        *,
        category: str | None = None,
        limit: int = 10,
        offset: int = 0,
        categories: Collection[str] | None = None,
        categorised: bool = False,
    ) -> list[ItemRow]:
        """The most recently seen stories: of any of `categories` (or `category`), or
        with `categorised` only those in some category (the others alerted nobody)."""
        wanted = set(categories or ()) | ({category} if category is not None else set())
        query = select(t.items)
        if wanted:
            query = query.where(
                t.items.c.id.in_(
                    select(t.item_categories.c.item_id).where(
                        t.item_categories.c.category.in_(sorted(wanted))
                    )
                )
            )
        elif categorised:
            query = query.where(t.items.c.id.in_(select(t.item_categories.c.item_id)))
        query = query.order_by(t.items.c.first_seen_at.desc(), t.items.c.id.desc())
        query = query.limit(limit).offset(offset)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            sources = await self._sources(conn, [r.id for r in rows])
        return [self._item_row(r, sources) for r in rows]

    async def item(self, item_id: int) -> ItemRow | None:
        """One story by id."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t.items).where(t.items.c.id == item_id))).first()
            if row is None:
                return None
            sources = await self._sources(conn, [item_id])
        return self._item_row(row, sources)

    async def prune(
        self, *, items_before: datetime, tombstones_before: datetime
    ) -> tuple[int, int]:
        """Delete old stories (keeping their seen identities as tombstones) and very old tombstones.

        A story with alerts still pending is kept until they are done. Returns
        (stories deleted, tombstones deleted).
        """
        async with self.engine.begin() as conn:
            pending = select(t.outbox.c.item_id).where(
                t.outbox.c.status == OutboxStatus.PENDING.value, t.outbox.c.item_id.is_not(None)
            )
            old = select(t.items.c.id).where(
                t.items.c.first_seen_at < items_before, t.items.c.id.not_in(pending)
            )
            ids = [r[0] for r in await conn.execute(old)]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                # Explicit rather than relying on ON DELETE actions, which SQLite
                # only applies when foreign keys are switched on for the connection.
                await conn.execute(
                    update(t.feed_entries)
                    .where(t.feed_entries.c.item_id.in_(chunk))
                    .values(item_id=None)
                )
                for table in (t.outbox, t.item_sources, t.item_categories):
                    await conn.execute(delete(table).where(table.c.item_id.in_(chunk)))
                await conn.execute(delete(t.items).where(t.items.c.id.in_(chunk)))
            gone = await conn.execute(
                delete(t.feed_entries).where(
                    t.feed_entries.c.item_id.is_(None),
                    t.feed_entries.c.seen_at < tombstones_before,
                )
            )
        return len(ids), int(gone.rowcount or 0)
