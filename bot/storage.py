"""All SQL of evbot: feeds and their fetch state, stories, chats, subscriptions, the outbox.

The database decides what is new: seen entries have a unique key per feed, and
a story, its sources, its seen entries and its outbox rows are written in one
transaction, so a crash leaves either all of them or none.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import schema as t
from bot.db import create_engine, upgrade
from bot.delivery_times import DEFAULT_TIMEZONE, DeliveryPrefs, prefs_from_columns, release_time
from bot.personal_keywords import EXCLUDED, KeywordMatchers, compile_keywords, keyword_decision
from rules import match_key

# Chat columns holding delivery preferences, settable through `update_chat`.
PREF_COLUMNS = frozenset(
    {"timezone", "digest_mode", "digest_time", "quiet_start", "quiet_end", "link_preview"}
)
# Most keywords one chat may have (each is matched against every new story).
MAX_KEYWORDS = 50


@dataclass(frozen=True)
class FeedRow:
    """A feed as the scheduler sees it."""

    id: str
    name: str
    url: str
    language: str
    interval: int | None
    enabled: bool
    in_catalog: bool
    validators: str | None
    first_success_at: datetime | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_status: str | None
    last_error: str | None
    last_error_kind: str | None
    consecutive_failures: int
    last_duration: float | None
    next_poll_at: datetime | None
    moved_to: str | None
    disabled_reason: str | None

    @property
    def fetch_url(self) -> str:
        """Where to fetch: the permanent redirect target when there is one."""
        return self.moved_to or self.url


@dataclass(frozen=True)
class CatalogFeed:
    """What the catalog says about one feed."""

    id: str
    name: str
    url: str
    language: str
    interval: int | None
    enabled: bool


@dataclass(frozen=True)
class FetchRecord:
    """The outcome of one poll, as stored on the feed."""

    status: str
    success: bool
    duration: float
    next_poll_at: datetime
    validators: str | None = None
    error: str | None = None
    error_kind: str | None = None
    moved_to: str | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True)
class NewItem:
    """A story to insert, with its classification."""

    identities: tuple[str, ...]
    title: str
    summary: str
    link: str | None
    canonical_link: str | None
    title_key: str
    published_at: datetime | None
    categories: tuple[str, ...]
    topics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    matches: dict[str, list[str]] = field(default_factory=dict)
    alert: bool = True
    # Index of an earlier NewItem of the same batch that is the same story.
    same_as_batch_index: int | None = None


@dataclass(frozen=True)
class SeenAgain:
    """An entry that is a story already stored (another source, or a re-published one)."""

    identities: tuple[str, ...]
    story_id: int
    link: str | None


@dataclass(frozen=True)
class StoredBatch:
    """What storing a batch created."""

    item_ids: list[int]
    outbox_rows: int


@dataclass(frozen=True)
class KnownStoryRow:
    """A recent story, for cross-source dedupe."""

    story_id: int
    canonical_link: str | None
    title_key: str
    first_seen: datetime


@dataclass(frozen=True)
class ItemRow:
    """A stored story."""

    id: int
    feed_id: str | None
    title: str
    summary: str
    link: str | None
    published_at: datetime | None
    first_seen_at: datetime
    categories: tuple[str, ...]
    topics: tuple[str, ...]
    entities: tuple[str, ...]
    matches: dict[str, list[str]]
    sources: tuple[str, ...]  # feed names, first one first


@dataclass(frozen=True)
class ChatRow:
    """A Telegram chat the bot talks to."""

    id: int
    type: str
    title: str | None
    language: str
    active: bool
    paused: bool
    inactive_reason: str | None
    # Delivery preferences (see bot.delivery_times); NULL time zone = the service default.
    timezone: str | None = None
    digest_mode: str = "off"
    digest_time: str | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    link_preview: bool = False


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row with what is needed to render it."""

    id: int
    chat_id: int
    kind: str
    attempts: int
    reason: dict[str, Any]
    chat_language: str
    chat_type: str
    item: ItemRow | None
    # What the renderer needs from the chat's preferences.
    chat_timezone: str | None = None
    link_preview: bool = False


@dataclass(frozen=True)
class ChatStats:
    """What /stats shows."""

    chats: int
    receiving: int  # active and not paused
    per_category: dict[str, int]  # subscriptions of receiving chats
    sent_since: int
    queue: int  # pending outbox rows


def _json_list(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()


def _feed_row(row: Row[Any]) -> FeedRow:
    m = row._mapping
    return FeedRow(**{name: m[name] for name in FeedRow.__dataclass_fields__})


def _chat_row(row: Row[Any]) -> ChatRow:
    m = row._mapping
    return ChatRow(**{name: m[name] for name in ChatRow.__dataclass_fields__})


class Storage:
    """The one gateway to the database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # The time zone of chats that chose none (the service sets EVBOT_TIMEZONE here).
        self.default_timezone = DEFAULT_TIMEZONE
        self._matchers: dict[tuple[str, ...], KeywordMatchers] = {}

    @classmethod
    async def open(cls, url: str, *, schema: str | None = None, migrate: bool = True) -> Storage:
        """Connect and (by default) bring the schema up to date."""
        engine = create_engine(url, schema=schema)
        if migrate:
            await upgrade(engine)
        return cls(engine)

    async def close(self) -> None:
        """Release every connection."""
        await self.engine.dispose()

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    def _insert_ignore(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        return sqlite.insert(table).on_conflict_do_nothing()

    # ---- feeds -------------------------------------------------------------

    async def sync_catalog(self, catalog: Sequence[CatalogFeed]) -> None:
        """Make the feeds table follow the catalog; feeds no longer listed stop being polled."""
        async with self.engine.begin() as conn:
            existing = {
                r.id: r for r in (await conn.execute(select(t.feeds.c.id, t.feeds.c.url))).all()
            }
            for spec in catalog:
                values = {
                    "name": spec.name,
                    "url": spec.url,
                    "language": spec.language,
                    "interval": spec.interval,
                    "enabled": spec.enabled,
                    "in_catalog": True,
                }
                old = existing.get(spec.id)
                if old is None:
                    await conn.execute(
                        insert(t.feeds).values(id=spec.id, consecutive_failures=0, **values)
                    )
                    continue
                if old.url != spec.url:
                    # A new address from the operator replaces any redirect we learned
                    # and any "gone" verdict about the old one.
                    values.update(moved_to=None, disabled_reason=None, validators=None)
                await conn.execute(update(t.feeds).where(t.feeds.c.id == spec.id).values(**values))
            listed = [spec.id for spec in catalog]
            await conn.execute(
                update(t.feeds).where(t.feeds.c.id.not_in(listed)).values(in_catalog=False)
            )

    async def feeds(self) -> list[FeedRow]:
        """Every known feed, catalog order aside, by id."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(t.feeds).order_by(t.feeds.c.id))).all()
        return [_feed_row(r) for r in rows]

    async def feed(self, feed_id: str) -> FeedRow | None:
        """One feed by id."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t.feeds).where(t.feeds.c.id == feed_id))).first()
        return None if row is None else _feed_row(row)

    async def due_feeds(self, now: datetime, limit: int = 100) -> list[FeedRow]:
        """Enabled catalog feeds whose next poll time has come, oldest due first."""
        query = (
            select(t.feeds)
            .where(
                t.feeds.c.enabled.is_(True),
                t.feeds.c.in_catalog.is_(True),
                t.feeds.c.disabled_reason.is_(None),
                or_(t.feeds.c.next_poll_at.is_(None), t.feeds.c.next_poll_at <= now),
            )
            .order_by(t.feeds.c.next_poll_at.is_(None).desc(), t.feeds.c.next_poll_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_feed_row(r) for r in rows]

    async def claim_due_feeds(
        self, now: datetime, *, lease: timedelta = timedelta(minutes=5), limit: int = 100
    ) -> list[FeedRow]:
        """Take the due feeds for this process: each is leased so no other replica fetches it.

        On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets replicas claim side by side
        without waiting on each other; recording the poll clears the lease, and a
        replica that dies mid-poll only holds its feeds until the lease runs out.
        """
        due = (
            select(t.feeds.c.id)
            .where(
                t.feeds.c.enabled.is_(True),
                t.feeds.c.in_catalog.is_(True),
                t.feeds.c.disabled_reason.is_(None),
                or_(t.feeds.c.next_poll_at.is_(None), t.feeds.c.next_poll_at <= now),
                or_(t.feeds.c.lease_until.is_(None), t.feeds.c.lease_until <= now),
            )
            .order_by(t.feeds.c.next_poll_at.is_(None).desc(), t.feeds.c.next_poll_at)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        async with self.engine.begin() as conn:
            ids = [r[0] for r in await conn.execute(due)]
            if not ids:
                return []
            await conn.execute(
                update(t.feeds).where(t.feeds.c.id.in_(ids)).values(lease_until=now + lease)
            )
            rows = (await conn.execute(select(t.feeds).where(t.feeds.c.id.in_(ids)))).all()
        order = {feed_id: i for i, feed_id in enumerate(ids)}
        return sorted((_feed_row(r) for r in rows), key=lambda f: order[f.id])

    async def next_poll_time(self) -> datetime | None:
        """When the earliest enabled feed is due (None: one is due now or none exist)."""
        query = select(func.min(t.feeds.c.next_poll_at)).where(
            t.feeds.c.enabled.is_(True),
            t.feeds.c.in_catalog.is_(True),
            t.feeds.c.disabled_reason.is_(None),
        )
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar()
        return value  # type: ignore[no-any-return]

    async def record_fetch(self, feed_id: str, record: FetchRecord, now: datetime) -> None:
        """Store a poll that added no stories (304, unchanged, or a failure)."""
        async with self.engine.begin() as conn:
            await self._record_fetch(conn, feed_id, record, now)

    async def _record_fetch(
        self, conn: AsyncConnection, feed_id: str, record: FetchRecord, now: datetime
    ) -> None:
        values: dict[str, Any] = {
            "lease_until": None,
            "last_attempt_at": now,
            "last_status": record.status,
            "last_duration": record.duration,
            "next_poll_at": record.next_poll_at,
        }
        if record.success:
            values.update(
                last_success_at=now,
                last_error=None,
                last_error_kind=None,
                consecutive_failures=0,
                first_success_at=func.coalesce(t.feeds.c.first_success_at, now),
            )
            if record.validators is not None:
                values["validators"] = record.validators
        else:
            values.update(
                last_error=record.error,
                last_error_kind=record.error_kind,
                consecutive_failures=t.feeds.c.consecutive_failures + 1,
            )
        if record.moved_to is not None:
            values["moved_to"] = record.moved_to
        if record.disabled_reason is not None:
            values["disabled_reason"] = record.disabled_reason
        await conn.execute(update(t.feeds).where(t.feeds.c.id == feed_id).values(**values))

    # ---- stories -----------------------------------------------------------

    async def seen_identities(self, feed_id: str, identities: Iterable[str]) -> set[str]:
        """Which of these identities this feed has already produced (tombstones included)."""
        # Identities are stored without NUL characters (schema.CleanText); answer in
        # the caller's spelling so an entry with one is still recognised next time.
        asked: dict[str, list[str]] = {}
        for identity in identities:
            asked.setdefault(identity.replace("\x00", ""), []).append(identity)
        wanted = list(asked)
        found: set[str] = set()
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = await conn.execute(
                    select(t.feed_entries.c.identity).where(
                        t.feed_entries.c.feed_id == feed_id,
                        t.feed_entries.c.identity.in_(chunk),
                    )
                )
                for row in rows:
                    found.update(asked.get(row[0], ()))
        return found

    async def recent_stories(self, since: datetime) -> list[KnownStoryRow]:
        """Stories first seen since `since`, for cross-source dedupe."""
        query = select(
            t.items.c.id, t.items.c.canonical_link, t.items.c.title_key, t.items.c.first_seen_at
        ).where(t.items.c.first_seen_at >= since)
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
                if entry.alert:
                    outbox_rows += await self._enqueue_alert(conn, story_id, entry, now)
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

    async def _enqueue_alert(
        self, conn: AsyncConnection, story_id: int, entry: NewItem, now: datetime
    ) -> int:
        """One outbox row per receiving chat: by category, or by the chat's own keyword.

        A chat's `-term` exclusion that the story matches suppresses it for that
        chat, categories or not. A chat in quiet hours or on a digest gets its
        row held until release (bot.delivery_times) and marked `"digest": true`.
        """
        per_chat: dict[int, list[str]] = {}
        if entry.categories:
            rows = await conn.execute(
                select(t.subscriptions.c.chat_id, t.subscriptions.c.category)
                .join(t.chats, t.chats.c.id == t.subscriptions.c.chat_id)
                .where(
                    t.subscriptions.c.category.in_(list(entry.categories)),
                    t.chats.c.active.is_(True),
                    t.chats.c.paused.is_(False),
                )
            )
            for chat_id, category in rows:
                per_chat.setdefault(int(chat_id), []).append(category)
        keyword_hits: dict[int, str] = {}
        for chat_id, terms in (await self._receiving_keywords(conn)).items():
            match = keyword_decision(self._keyword_matchers(terms), entry.title, entry.summary)
            if match is EXCLUDED:
                per_chat.pop(chat_id, None)
            elif isinstance(match, str):
                keyword_hits[chat_id] = match
                per_chat.setdefault(chat_id, [])
        if not per_chat:
            return 0
        prefs = await self._delivery_prefs(conn, list(per_chat))
        rows_out = []
        for chat_id, cats in per_chat.items():
            reason: dict[str, Any] = {"categories": sorted(cats)}
            if chat_id in keyword_hits:
                reason["keyword"] = keyword_hits[chat_id]
            at = now
            if chat_id in prefs:
                at = release_time(prefs[chat_id], now)
                if at > now:
                    reason["digest"] = True
            rows_out.append(
                {
                    "item_id": story_id,
                    "chat_id": chat_id,
                    "kind": "alert",
                    "reason": json.dumps(reason, ensure_ascii=False),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": now,
                }
            )
        await conn.execute(self._insert_ignore(t.outbox), rows_out)
        return len(rows_out)

    async def _sources(
        self, conn: AsyncConnection, item_ids: Sequence[int]
    ) -> dict[int, list[str]]:
        if not item_ids:
            return {}
        rows = await conn.execute(
            select(t.item_sources.c.item_id, t.feeds.c.name, t.feeds.c.id)
            .join(t.feeds, t.feeds.c.id == t.item_sources.c.feed_id, isouter=True)
            .where(t.item_sources.c.item_id.in_(list(item_ids)))
            .order_by(t.item_sources.c.seen_at, t.item_sources.c.feed_id)
        )
        names: dict[int, list[str]] = {}
        for item_id, name, feed_id in rows:
            names.setdefault(int(item_id), []).append(name or feed_id)
        return names

    def _item_row(self, row: Row[Any], sources: dict[int, list[str]]) -> ItemRow:
        m = row._mapping
        return ItemRow(
            id=m["id"],
            feed_id=m["feed_id"],
            title=m["title"],
            summary=m["summary"],
            link=m["link"],
            published_at=m["published_at"],
            first_seen_at=m["first_seen_at"],
            categories=_json_list(m["categories"]),
            topics=_json_list(m["topics"]),
            entities=_json_list(m["entities"]),
            matches=json.loads(m["matches"] or "{}"),
            sources=tuple(sources.get(m["id"], ())),
        )

    async def latest_items(
        self, *, category: str | None = None, limit: int = 10, offset: int = 0
    ) -> list[ItemRow]:
        """The most recently seen stories, optionally of one category."""
        query = select(t.items)
        if category is not None:
            query = query.join(t.item_categories, t.item_categories.c.item_id == t.items.c.id)
            query = query.where(t.item_categories.c.category == category)
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

    # ---- chats and subscriptions -------------------------------------------

    async def ensure_chat(
        self,
        chat_id: int,
        *,
        type: str,
        title: str | None,
        language: str,
        now: datetime,
    ) -> tuple[ChatRow, bool]:
        """Get the chat, creating it (active, unpaused) if new; returns (chat, created)."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(select(t.chats).where(t.chats.c.id == chat_id))).first()
            if row is not None:
                if not row.active:
                    # The chat talks to us again: it unblocked or re-added the bot.
                    await conn.execute(
                        update(t.chats)
                        .where(t.chats.c.id == chat_id)
                        .values(active=True, inactive_reason=None, updated_at=now)
                    )
                    row = (await conn.execute(select(t.chats).where(t.chats.c.id == chat_id))).one()
                return _chat_row(row), False
            await conn.execute(
                self._insert_ignore(t.chats).values(
                    id=chat_id,
                    type=type,
                    title=title,
                    language=language,
                    active=True,
                    paused=False,
                    created_at=now,
                    updated_at=now,
                )
            )
            row = (await conn.execute(select(t.chats).where(t.chats.c.id == chat_id))).one()
            return _chat_row(row), True

    async def chat(self, chat_id: int) -> ChatRow | None:
        """One chat by id."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t.chats).where(t.chats.c.id == chat_id))).first()
        return None if row is None else _chat_row(row)

    async def update_chat(self, chat_id: int, now: datetime, **values: Any) -> None:
        """Change chat columns (language, paused, active, inactive_reason, title)."""
        allowed = {
            "language",
            "paused",
            "active",
            "inactive_reason",
            "title",
            "type",
            *PREF_COLUMNS,
        }
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"not chat settings: {sorted(unknown)}")
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.chats).where(t.chats.c.id == chat_id).values(updated_at=now, **values)
            )

    async def deactivate_chat(self, chat_id: int, reason: str, now: datetime) -> int:
        """Mark a chat inactive and cancel its pending deliveries; returns how many."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.chats)
                .where(t.chats.c.id == chat_id)
                .values(active=False, inactive_reason=reason, updated_at=now)
            )
            result = await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.chat_id == chat_id, t.outbox.c.status == "pending")
                .values(status="cancelled", last_error=reason)
            )
        return int(result.rowcount or 0)

    async def subscriptions(self, chat_id: int) -> set[str]:
        """The categories a chat receives."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.subscriptions.c.category).where(t.subscriptions.c.chat_id == chat_id)
            )
            return {r[0] for r in rows}

    async def set_subscriptions(self, chat_id: int, categories: Iterable[str]) -> set[str]:
        """Replace a chat's categories; returns the new set."""
        wanted = set(categories)
        async with self.engine.begin() as conn:
            await conn.execute(delete(t.subscriptions).where(t.subscriptions.c.chat_id == chat_id))
            if wanted:
                await conn.execute(
                    insert(t.subscriptions),
                    [{"chat_id": chat_id, "category": c} for c in sorted(wanted)],
                )
        return wanted

    async def change_subscriptions(
        self, chat_id: int, *, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> set[str]:
        """Turn categories on and off; returns the new set."""
        add_list, remove_list = sorted(set(add)), sorted(set(remove))
        async with self.engine.begin() as conn:
            if remove_list:
                await conn.execute(
                    delete(t.subscriptions).where(
                        t.subscriptions.c.chat_id == chat_id,
                        t.subscriptions.c.category.in_(remove_list),
                    )
                )
            if add_list:
                await conn.execute(
                    self._insert_ignore(t.subscriptions),
                    [{"chat_id": chat_id, "category": c} for c in add_list],
                )
            rows = await conn.execute(
                select(t.subscriptions.c.category).where(t.subscriptions.c.chat_id == chat_id)
            )
            return {r[0] for r in rows}

    # ---- chat preferences and keywords -------------------------------------
    # Delivery preferences live on `chats` (PREF_COLUMNS, changed with
    # `update_chat`); personal keywords in `chat_keywords`. Also the read-only
    # counts behind /stats and the broadcast fan-out.

    def _keyword_matchers(self, terms: Sequence[str]) -> KeywordMatchers:
        key = tuple(sorted(terms))
        found = self._matchers.get(key)
        if found is None:
            if len(self._matchers) > 10_000:
                self._matchers.clear()
            found = self._matchers[key] = compile_keywords(key)
        return found

    async def _receiving_keywords(self, conn: AsyncConnection) -> dict[int, list[str]]:
        """Keywords of every chat that currently receives alerts."""
        rows = await conn.execute(
            select(t.chat_keywords.c.chat_id, t.chat_keywords.c.term)
            .join(t.chats, t.chats.c.id == t.chat_keywords.c.chat_id)
            .where(t.chats.c.active.is_(True), t.chats.c.paused.is_(False))
        )
        terms: dict[int, list[str]] = {}
        for chat_id, term in rows:
            terms.setdefault(int(chat_id), []).append(term)
        return terms

    async def _delivery_prefs(
        self, conn: AsyncConnection, chat_ids: Sequence[int]
    ) -> dict[int, DeliveryPrefs]:
        """Preferences of the chats that hold alerts (digest or quiet hours) among these."""
        found: dict[int, DeliveryPrefs] = {}
        c = t.chats.c
        for start in range(0, len(chat_ids), 500):
            rows = await conn.execute(
                select(
                    c.id, c.timezone, c.digest_mode, c.digest_time, c.quiet_start, c.quiet_end
                ).where(
                    c.id.in_(list(chat_ids[start : start + 500])),
                    or_(c.digest_mode != "off", c.quiet_start.is_not(None)),
                )
            )
            for r in rows:
                found[int(r.id)] = prefs_from_columns(
                    timezone=r.timezone,
                    digest_mode=r.digest_mode,
                    digest_time=r.digest_time,
                    quiet_start=r.quiet_start,
                    quiet_end=r.quiet_end,
                    default_timezone=self.default_timezone,
                )
        return found

    def delivery_prefs(self, chat: ChatRow) -> DeliveryPrefs:
        """A chat's delivery preferences, parsed (the service's time zone if it chose none)."""
        return prefs_from_columns(
            timezone=chat.timezone,
            digest_mode=chat.digest_mode,
            digest_time=chat.digest_time,
            quiet_start=chat.quiet_start,
            quiet_end=chat.quiet_end,
            default_timezone=self.default_timezone,
        )

    async def release_held(self, chat_id: int, at: datetime) -> int:
        """Re-time a chat's held (digest) rows to `at` (now after /quiet off); returns how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t.outbox)
                .where(
                    t.outbox.c.chat_id == chat_id,
                    t.outbox.c.status == "pending",
                    t.outbox.c.kind == "alert",
                    t.outbox.c.attempts == 0,
                    t.outbox.c.reason.like('%"digest": true%'),
                )
                .values(next_attempt_at=at)
            )
        return int(result.rowcount or 0)

    async def keywords(self, chat_id: int) -> list[str]:
        """A chat's keyword terms (exclusions start with '-'), alphabetically."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.chat_keywords.c.term)
                .where(t.chat_keywords.c.chat_id == chat_id)
                .order_by(t.chat_keywords.c.term)
            )
            return [r[0] for r in rows]

    async def add_keyword(self, chat_id: int, term: str) -> bool:
        """Add a term; False if the chat already has it (compared case- and accent-blind)."""
        async with self.engine.begin() as conn:
            existing = await conn.execute(
                select(t.chat_keywords.c.term).where(t.chat_keywords.c.chat_id == chat_id)
            )
            if any(match_key(r[0]) == match_key(term) for r in existing):
                return False
            await conn.execute(
                self._insert_ignore(t.chat_keywords).values(chat_id=chat_id, term=term)
            )
        return True

    async def remove_keyword(self, chat_id: int, term: str) -> str | None:
        """Remove a term (compared case- and accent-blind); returns the stored form removed."""
        async with self.engine.begin() as conn:
            existing = await conn.execute(
                select(t.chat_keywords.c.term).where(t.chat_keywords.c.chat_id == chat_id)
            )
            stored = next((r[0] for r in existing if match_key(r[0]) == match_key(term)), None)
            if stored is None:
                return None
            await conn.execute(
                delete(t.chat_keywords).where(
                    t.chat_keywords.c.chat_id == chat_id, t.chat_keywords.c.term == stored
                )
            )
        return str(stored)

    async def _copy_chat_rows(
        self, conn: AsyncConnection, table: Any, column: str, old_id: int, new_id: int
    ) -> None:
        """Copy a chat's rows of a (chat_id, `column`) table to another chat id."""
        rows = await conn.execute(select(table.c[column]).where(table.c.chat_id == old_id))
        values = [r[0] for r in rows]
        if values:
            await conn.execute(
                self._insert_ignore(table),
                [{"chat_id": new_id, column: value} for value in values],
            )

    async def chat_stats(self, since: datetime) -> ChatStats:
        """Counts for /stats: chats, receiving chats, subscriptions, sent since `since`, queue."""
        c = t.chats.c
        receiving = and_(c.active.is_(True), c.paused.is_(False))
        async with self.engine.connect() as conn:
            chats = int(
                (await conn.execute(select(func.count()).select_from(t.chats))).scalar_one()
            )
            active = int(
                (
                    await conn.execute(select(func.count()).select_from(t.chats).where(receiving))
                ).scalar_one()
            )
            per_category = {
                str(category): int(n)
                for category, n in await conn.execute(
                    select(t.subscriptions.c.category, func.count())
                    .join(t.chats, c.id == t.subscriptions.c.chat_id)
                    .where(receiving)
                    .group_by(t.subscriptions.c.category)
                )
            }
            sent = int(
                (
                    await conn.execute(
                        select(func.count()).where(
                            t.outbox.c.status == "sent", t.outbox.c.sent_at >= since
                        )
                    )
                ).scalar_one()
            )
            queue = int(
                (
                    await conn.execute(select(func.count()).where(t.outbox.c.status == "pending"))
                ).scalar_one()
            )
        return ChatStats(chats, active, per_category, sent, queue)

    async def enqueue_broadcast(self, text: str, now: datetime) -> int:
        """Queue `text` for every receiving chat (active, not paused); returns how many."""
        receiving = select(t.chats.c.id).where(
            t.chats.c.active.is_(True), t.chats.c.paused.is_(False)
        )
        return await self._enqueue_text(receiving, "broadcast", text, now)

    async def enqueue_notice(self, chat_ids: Collection[int], text: str, now: datetime) -> int:
        """Queue an operator notice for these chats (those the bot knows and can reach)."""
        known = select(t.chats.c.id).where(
            t.chats.c.id.in_(list(chat_ids)), t.chats.c.active.is_(True)
        )
        return await self._enqueue_text(known, "notice", text, now)

    async def _enqueue_text(self, chats_query: Any, kind: str, text: str, now: datetime) -> int:
        async with self.engine.begin() as conn:
            ids = [int(r[0]) for r in await conn.execute(chats_query)]
            if ids:
                await conn.execute(
                    insert(t.outbox),
                    [
                        {
                            "item_id": None,
                            "chat_id": chat_id,
                            "kind": kind,
                            "reason": json.dumps({"text": text}, ensure_ascii=False),
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                        for chat_id in ids
                    ],
                )
        return len(ids)

    # ---- outbox ------------------------------------------------------------

    async def due_deliveries(
        self, now: datetime, *, max_chats: int = 100, exclude_chats: Collection[int] = ()
    ) -> list[Delivery]:
        """Every due row of up to `max_chats` chats, the longest-waiting chats first.

        A chat's rows come together so the worker can combine a burst into one
        message; chats still inside their pacing interval are left for later.
        """
        due_filter = [t.outbox.c.status == "pending", t.outbox.c.next_attempt_at <= now]
        if exclude_chats:
            due_filter.append(t.outbox.c.chat_id.not_in(list(exclude_chats)))
        chats_due = (
            select(t.outbox.c.chat_id, func.min(t.outbox.c.id).label("first_id"))
            .where(*due_filter)
            .group_by(t.outbox.c.chat_id)
            .order_by(func.min(t.outbox.c.id))
            .limit(max_chats)
            .subquery()
        )
        query = (
            select(
                t.outbox,
                t.chats.c.language.label("chat_language"),
                t.chats.c.type.label("chat_type"),
                t.chats.c.timezone.label("chat_timezone"),
                t.chats.c.link_preview.label("chat_link_preview"),
            )
            .join(chats_due, chats_due.c.chat_id == t.outbox.c.chat_id)
            .join(t.chats, t.chats.c.id == t.outbox.c.chat_id)
            .where(*due_filter)
            .order_by(chats_due.c.first_id, t.outbox.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            item_ids = sorted({r.item_id for r in rows if r.item_id is not None})
            items: dict[int, ItemRow] = {}
            if item_ids:
                item_rows = (
                    await conn.execute(select(t.items).where(t.items.c.id.in_(item_ids)))
                ).all()
                sources = await self._sources(conn, item_ids)
                items = {r.id: self._item_row(r, sources) for r in item_rows}
        return [
            Delivery(
                id=r.id,
                chat_id=r.chat_id,
                kind=r.kind,
                attempts=r.attempts,
                reason=json.loads(r.reason or "{}"),
                chat_language=r.chat_language,
                chat_type=r.chat_type,
                item=items.get(r.item_id) if r.item_id is not None else None,
                chat_timezone=r.chat_timezone,
                link_preview=bool(r.chat_link_preview),
            )
            for r in rows
        ]

    async def mark_sent_many(
        self, delivery_ids: Sequence[int], message_id: int | None, now: datetime
    ) -> None:
        """Record several rows delivered by one (combined) message."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id.in_(list(delivery_ids)))
                .values(
                    status="sent",
                    sent_at=now,
                    sent_message_id=message_id,
                    attempts=t.outbox.c.attempts + 1,
                    last_error=None,
                )
            )

    async def migrate_chat(self, old_id: int, new_id: int, now: datetime) -> None:
        """A group became a supergroup: move the chat, its subscriptions and pending rows."""
        async with self.engine.begin() as conn:
            old = (await conn.execute(select(t.chats).where(t.chats.c.id == old_id))).first()
            if old is None:
                return
            exists = (
                await conn.execute(select(t.chats.c.id).where(t.chats.c.id == new_id))
            ).first()
            if exists is None:
                values = dict(old._mapping)
                values.update(id=new_id, type="supergroup", updated_at=now)
                await conn.execute(insert(t.chats).values(**values))
            await self._copy_chat_rows(conn, t.subscriptions, "category", old_id, new_id)
            await self._copy_chat_rows(conn, t.chat_keywords, "term", old_id, new_id)
            # Rows the new id already has (same story) win; the old ones are dropped.
            taken = select(t.outbox.c.item_id).where(
                t.outbox.c.chat_id == new_id, t.outbox.c.item_id.is_not(None)
            )
            await conn.execute(
                delete(t.outbox).where(
                    t.outbox.c.chat_id == old_id,
                    t.outbox.c.status == "pending",
                    t.outbox.c.item_id.in_(taken),
                )
            )
            await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.chat_id == old_id, t.outbox.c.status == "pending")
                .values(chat_id=new_id, next_attempt_at=now)
            )
            await conn.execute(
                update(t.chats)
                .where(t.chats.c.id == old_id)
                .values(active=False, inactive_reason=f"migrated to {new_id}", updated_at=now)
            )

    async def next_delivery_time(self) -> datetime | None:
        """When the earliest pending row becomes due."""
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(
                    select(func.min(t.outbox.c.next_attempt_at)).where(
                        t.outbox.c.status == "pending"
                    )
                )
            ).scalar()
        return value  # type: ignore[no-any-return]

    async def mark_retry(self, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
        """Record a failed attempt that will be tried again."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id == delivery_id)
                .values(
                    attempts=t.outbox.c.attempts + 1,
                    last_error=error,
                    next_attempt_at=next_attempt_at,
                )
            )

    async def mark_dead(self, delivery_id: int, error: str) -> None:
        """Give up on a row, keeping the reason."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id == delivery_id)
                .values(status="dead", attempts=t.outbox.c.attempts + 1, last_error=error)
            )

    async def outbox_counts(self) -> dict[str, int]:
        """Rows per status."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.outbox.c.status, func.count()).group_by(t.outbox.c.status)
            )
            return {status: int(n) for status, n in rows}

    async def delivery_reason(self, chat_id: int, item_id: int) -> dict[str, Any] | None:
        """Why a story was queued for a chat (None if it never was)."""
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(
                    select(t.outbox.c.reason).where(
                        t.outbox.c.chat_id == chat_id, t.outbox.c.item_id == item_id
                    )
                )
            ).scalar()
        return None if value is None else dict(json.loads(value))

    # ---- metrics -------------------------------------------------------------
    # Read-only queries behind the scrape-time gauges of bot/metrics.py.

    async def outbox_pending_stats(self) -> tuple[int, datetime | None]:
        """How many outbox rows are pending, and when the oldest of them was created."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(func.count(), func.min(t.outbox.c.created_at)).where(
                        t.outbox.c.status == "pending"
                    )
                )
            ).one()
        count, oldest = row
        return int(count), oldest

    # ---- retention -----------------------------------------------------------

    async def prune(
        self, *, items_before: datetime, tombstones_before: datetime
    ) -> tuple[int, int]:
        """Delete old stories (keeping their seen identities as tombstones) and very old tombstones.

        A story with alerts still pending is kept until they are done. Returns
        (stories deleted, tombstones deleted).
        """
        async with self.engine.begin() as conn:
            pending = select(t.outbox.c.item_id).where(
                t.outbox.c.status == "pending", t.outbox.c.item_id.is_not(None)
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
