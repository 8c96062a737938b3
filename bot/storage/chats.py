"""Chats: who they are, their subscriptions, preferences and keywords, linked channels.

Also the audience of a new story: which chats follow its categories or have
keywords of their own (the planner decides the rest).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    Candidate,
    ChatRow,
    ChatStats,
    OutboxStatus,
)
from bot.storage import schema as t
from bot.storage.base import StorageBase, chat_row
from rules import match_key

# Chat columns holding delivery preferences, settable through `update_chat`.
PREF_COLUMNS = frozenset(
    {"timezone", "digest_mode", "digest_time", "quiet_start", "quiet_end", "link_preview"}
)
# Most keywords one chat may have (each is matched against every new story).
MAX_KEYWORDS = 50


class ChatsStore(StorageBase):
    """Chats and what they asked for."""

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
                return chat_row(row), False
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
            return chat_row(row), True

    async def chat(self, chat_id: int) -> ChatRow | None:
        """One chat by id."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t.chats).where(t.chats.c.id == chat_id))).first()
        return None if row is None else chat_row(row)

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
                .where(
                    t.outbox.c.chat_id == chat_id, t.outbox.c.status == OutboxStatus.PENDING.value
                )
                .values(status=OutboxStatus.CANCELLED.value, last_error=reason)
            )
        return int(result.rowcount or 0)

    async def subscriptions(self, chat_id: int) -> set[str]:
        """The categories a chat receives."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.subscriptions.c.category).where(t.subscriptions.c.chat_id == chat_id)
            )
            return {r[0] for r in rows}

    async def set_subscriptions(
        self, chat_id: int, categories: Iterable[str], *, chosen_at: datetime | None = None
    ) -> set[str]:
        """Replace a chat's categories; returns the new set.

        `chosen_at`: the chat chose them itself (a command or a button) at that
        time, so from then on it counts as started (see `start_chat`). Without
        it the categories are a default given to the chat (a group the bot was
        added to), which its first /start may still replace.
        """
        wanted = set(categories)
        async with self.engine.begin() as conn:
            await self._replace_subscriptions(conn, chat_id, wanted)
            if chosen_at is not None:
                await self._mark_started(conn, chat_id, chosen_at)
        return wanted

    async def change_subscriptions(
        self,
        chat_id: int,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        chosen_at: datetime | None = None,
    ) -> set[str]:
        """Turn categories on and off; returns the new set (`chosen_at` as in set_subscriptions)."""
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
            if chosen_at is not None:
                await self._mark_started(conn, chat_id, chosen_at)
            rows = await conn.execute(
                select(t.subscriptions.c.category).where(t.subscriptions.c.chat_id == chat_id)
            )
            return {r[0] for r in rows}

    async def start_chat(
        self, chat_id: int, categories: Iterable[str], now: datetime
    ) -> set[str] | None:
        """A chat's first /start: mark it started and subscribe it to exactly `categories`.

        Returns the new set, or None when the chat had started before (by
        /start or by choosing categories): its choices, even none, are left alone.
        """
        async with self.engine.begin() as conn:
            # One conditional UPDATE decides, so two first /starts cannot both win.
            if not await self._mark_started(conn, chat_id, now):
                return None
            wanted = set(categories)
            await self._replace_subscriptions(conn, chat_id, wanted)
        return wanted

    async def _replace_subscriptions(
        self, conn: AsyncConnection, chat_id: int, wanted: set[str]
    ) -> None:
        await conn.execute(delete(t.subscriptions).where(t.subscriptions.c.chat_id == chat_id))
        if wanted:
            await conn.execute(
                insert(t.subscriptions),
                [{"chat_id": chat_id, "category": c} for c in sorted(wanted)],
            )

    async def _mark_started(self, conn: AsyncConnection, chat_id: int, now: datetime) -> bool:
        """Record that the chat started now, unless it had; True if this did."""
        result = await conn.execute(
            update(t.chats)
            .where(t.chats.c.id == chat_id, t.chats.c.started_at.is_(None))
            .values(started_at=now, updated_at=now)
        )
        return bool(result.rowcount)

    async def audience(self, categories: Collection[str]) -> list[Candidate]:
        """Active chats that follow any of these categories or have keywords of their own."""
        wanted = sorted(set(categories))
        per_chat: dict[int, set[str]] = {}
        terms: dict[int, list[str]] = {}
        async with self.engine.connect() as conn:
            if wanted:
                rows = await conn.execute(
                    select(t.subscriptions.c.chat_id, t.subscriptions.c.category)
                    .join(t.chats, t.chats.c.id == t.subscriptions.c.chat_id)
                    .where(t.subscriptions.c.category.in_(wanted), t.chats.c.active.is_(True))
                )
                for chat_id, category in rows:
                    per_chat.setdefault(int(chat_id), set()).add(category)
            rows = await conn.execute(
                select(t.chat_keywords.c.chat_id, t.chat_keywords.c.term)
                .join(t.chats, t.chats.c.id == t.chat_keywords.c.chat_id)
                .where(t.chats.c.active.is_(True))
            )
            for chat_id, term in rows:
                terms.setdefault(int(chat_id), []).append(term)
            ids = sorted(set(per_chat) | set(terms))
            chats: dict[int, ChatRow] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for row in await conn.execute(select(t.chats).where(t.chats.c.id.in_(chunk))):
                    chats[int(row.id)] = chat_row(row)
        return [
            Candidate(
                chat=chats[chat_id],
                categories=frozenset(per_chat.get(chat_id, ())),
                keywords=tuple(terms.get(chat_id, ())),
            )
            for chat_id in ids
            if chat_id in chats
        ]

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
            elif old.started_at is not None:
                # The supergroup spoke first (its row has no history): the group had
                # started, so /start there must keep the choices copied below.
                await conn.execute(
                    update(t.chats)
                    .where(t.chats.c.id == new_id, t.chats.c.started_at.is_(None))
                    .values(started_at=old.started_at, updated_at=now)
                )
            await self._copy_chat_rows(conn, t.subscriptions, "category", old_id, new_id)
            await self._copy_chat_rows(conn, t.chat_keywords, "term", old_id, new_id)
            # Rows the new id already has (same story) win; the old ones are dropped.
            taken = select(t.outbox.c.item_id).where(
                t.outbox.c.chat_id == new_id, t.outbox.c.item_id.is_not(None)
            )
            await conn.execute(
                delete(t.outbox).where(
                    t.outbox.c.chat_id == old_id,
                    t.outbox.c.status == OutboxStatus.PENDING.value,
                    t.outbox.c.item_id.in_(taken),
                )
            )
            await conn.execute(
                update(t.outbox)
                .where(
                    t.outbox.c.chat_id == old_id, t.outbox.c.status == OutboxStatus.PENDING.value
                )
                .values(chat_id=new_id, next_attempt_at=now)
            )
            await conn.execute(
                update(t.chats)
                .where(t.chats.c.id == old_id)
                .values(active=False, inactive_reason=f"migrated to {new_id}", updated_at=now)
            )

    async def link_channel(
        self, chat_id: int, user_id: int, username: str | None, now: datetime
    ) -> None:
        """Record that `user_id` (a channel administrator) linked it; linking again is harmless."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(t.channel_links).where(
                    t.channel_links.c.chat_id == chat_id, t.channel_links.c.user_id == user_id
                )
            )
            await conn.execute(
                insert(t.channel_links).values(
                    chat_id=chat_id, user_id=user_id, username=username, linked_at=now
                )
            )

    async def linked_channels(self, user_id: int) -> list[tuple[ChatRow, str | None]]:
        """The channels this user linked (active or not) with their @username, by title."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.chats, t.channel_links.c.username)
                .join(t.channel_links, t.channel_links.c.chat_id == t.chats.c.id)
                .where(t.channel_links.c.user_id == user_id)
                .order_by(t.chats.c.title, t.chats.c.id)
            )
            return [(chat_row(row), row.username) for row in rows]

    async def channel_linkers(self, chat_id: int) -> list[int]:
        """Who linked this channel (the users told when the bot loses it)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.channel_links.c.user_id)
                .where(t.channel_links.c.chat_id == chat_id)
                .order_by(t.channel_links.c.linked_at)
            )
            return [int(r[0]) for r in rows]

    async def unlink_channel(self, chat_id: int, reason: str, now: datetime) -> int:
        """Forget every link of a channel and deactivate it; returns cancelled deliveries.

        The chat row and its categories stay, so linking it again restores them.
        """
        async with self.engine.begin() as conn:
            await conn.execute(delete(t.channel_links).where(t.channel_links.c.chat_id == chat_id))
        return await self.deactivate_chat(chat_id, reason, now)

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
                            t.outbox.c.status == OutboxStatus.SENT.value,
                            t.outbox.c.sent_at >= since,
                        )
                    )
                ).scalar_one()
            )
            queue = int(
                (
                    await conn.execute(
                        select(func.count()).where(t.outbox.c.status == OutboxStatus.PENDING.value)
                    )
                ).scalar_one()
            )
        return ChatStats(chats, active, per_category, sent, queue)
