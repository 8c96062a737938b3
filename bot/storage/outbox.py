"""The outbox: queued alerts, broadcasts and notices until they end.

A row ends sent, dead (errors), cancelled (the chat is gone) or skipped (no
longer wanted when due); `last_error` says why.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    AlertReason,
    Delivery,
    ItemRow,
    OutboxKind,
    OutboxStatus,
)
from bot.storage import schema as t
from bot.storage.base import StorageBase, alert_reason


class OutboxStore(StorageBase):
    """Outbox rows from queued to done."""

    async def enqueue_broadcast(self, text: str, now: datetime) -> int:
        """Queue `text` for every receiving chat (active, not paused); returns how many.

        Channels are left out: an operator's message to the bot's users is not
        something to publish to every subscriber of someone else's channel.
        """
        receiving = select(t.chats.c.id).where(
            t.chats.c.active.is_(True),
            t.chats.c.paused.is_(False),
            t.chats.c.type != "channel",
        )
        return await self._enqueue_text(receiving, OutboxKind.BROADCAST, text, now)

    async def enqueue_notice(self, chat_ids: Collection[int], text: str, now: datetime) -> int:
        """Queue an operator notice for these chats (those the bot knows and can reach)."""
        known = select(t.chats.c.id).where(
            t.chats.c.id.in_(list(chat_ids)), t.chats.c.active.is_(True)
        )
        return await self._enqueue_text(known, OutboxKind.NOTICE, text, now)

    async def _enqueue_text(
        self, chats_query: Any, kind: OutboxKind, text: str, now: datetime
    ) -> int:
        async with self.engine.begin() as conn:
            ids = [int(r[0]) for r in await conn.execute(chats_query)]
            if ids:
                await conn.execute(
                    insert(t.outbox),
                    [
                        {
                            "item_id": None,
                            "chat_id": chat_id,
                            "kind": kind.value,
                            "text": text,
                            "status": OutboxStatus.PENDING.value,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                        for chat_id in ids
                    ],
                )
        return len(ids)

    async def due_deliveries(
        self, now: datetime, *, max_chats: int = 100, exclude_chats: Collection[int] = ()
    ) -> list[Delivery]:
        """Every due row of up to `max_chats` chats, the longest-waiting chats first.

        A chat's rows come together so the worker can combine a burst into one
        message; chats still inside their pacing interval are left for later.
        """
        due_filter = [
            t.outbox.c.status == OutboxStatus.PENDING.value,
            t.outbox.c.next_attempt_at <= now,
        ]
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
                t.chats.c.active.label("chat_active"),
                t.chats.c.paused.label("chat_paused"),
                t.chats.c.topics.label("chat_topics_on"),
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
            chat_ids = sorted({int(r.chat_id) for r in rows})
            follows: dict[int, set[str]] = {}
            terms: dict[int, list[str]] = {}
            if chat_ids:
                for chat_id, category in await conn.execute(
                    select(t.subscriptions.c.chat_id, t.subscriptions.c.category).where(
                        t.subscriptions.c.chat_id.in_(chat_ids)
                    )
                ):
                    follows.setdefault(int(chat_id), set()).add(category)
                for chat_id, term in await conn.execute(
                    select(t.chat_keywords.c.chat_id, t.chat_keywords.c.term).where(
                        t.chat_keywords.c.chat_id.in_(chat_ids)
                    )
                ):
                    terms.setdefault(int(chat_id), []).append(term)
            threads = await self._threads(conn, {int(r.chat_id) for r in rows if r.chat_topics_on})
        return [
            Delivery(
                id=r.id,
                chat_id=r.chat_id,
                kind=OutboxKind(r.kind),
                attempts=r.attempts,
                reason=alert_reason(r),
                chat_language=r.chat_language,
                chat_type=r.chat_type,
                item=items.get(r.item_id) if r.item_id is not None else None,
                chat_timezone=r.chat_timezone,
                link_preview=bool(r.chat_link_preview),
                text=r.text,
                chat_active=bool(r.chat_active),
                chat_paused=bool(r.chat_paused),
                chat_categories=frozenset(follows.get(int(r.chat_id), ())),
                chat_keywords=tuple(terms.get(int(r.chat_id), ())),
                chat_threads=tuple(threads.get(int(r.chat_id), ())),
            )
            for r in rows
        ]

    async def _threads(
        self, conn: AsyncConnection, chat_ids: Collection[int]
    ) -> dict[int, list[tuple[str, int]]]:
        """(category, thread id) of the forum topics of chats that have topics on."""
        threads: dict[int, list[tuple[str, int]]] = {}
        if not chat_ids:
            return threads
        rows = await conn.execute(
            select(t.chat_topics.c.chat_id, t.chat_topics.c.category, t.chat_topics.c.thread_id)
            .where(t.chat_topics.c.chat_id.in_(sorted(chat_ids)))
            .order_by(t.chat_topics.c.chat_id, t.chat_topics.c.category)
        )
        for chat_id, category, thread_id in rows:
            threads.setdefault(int(chat_id), []).append((str(category), int(thread_id)))
        return threads

    async def mark_sent_many(
        self, delivery_ids: Sequence[int], message_id: int | None, now: datetime
    ) -> None:
        """Record several rows delivered by one (combined) message."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id.in_(list(delivery_ids)))
                .values(
                    status=OutboxStatus.SENT.value,
                    sent_at=now,
                    sent_message_id=message_id,
                    attempts=t.outbox.c.attempts + 1,
                    last_error=None,
                )
            )

    async def next_delivery_time(self) -> datetime | None:
        """When the earliest pending row becomes due."""
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(
                    select(func.min(t.outbox.c.next_attempt_at)).where(
                        t.outbox.c.status == OutboxStatus.PENDING.value
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
                .values(
                    status=OutboxStatus.DEAD.value,
                    attempts=t.outbox.c.attempts + 1,
                    last_error=error,
                )
            )

    async def mark_skipped(self, delivery_ids: Sequence[int], why: str) -> None:
        """End rows that are no longer wanted (the chat paused, unsubscribed…), keeping why."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.outbox)
                .where(
                    t.outbox.c.id.in_(list(delivery_ids)),
                    t.outbox.c.status == OutboxStatus.PENDING.value,
                )
                .values(status=OutboxStatus.SKIPPED.value, last_error=why)
            )

    async def outbox_counts(self) -> dict[str, int]:
        """Rows per status."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.outbox.c.status, func.count()).group_by(t.outbox.c.status)
            )
            return {status: int(n) for status, n in rows}

    async def delivery_reason(self, chat_id: int, item_id: int) -> AlertReason | None:
        """Why a story was queued for a chat (None if it never was)."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(t.outbox).where(
                        t.outbox.c.chat_id == chat_id, t.outbox.c.item_id == item_id
                    )
                )
            ).first()
        return None if row is None else alert_reason(row)

    async def outbox_pending_stats(self) -> tuple[int, datetime | None]:
        """How many outbox rows are pending, and when the oldest of them was created."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(func.count(), func.min(t.outbox.c.created_at)).where(
                        t.outbox.c.status == OutboxStatus.PENDING.value
                    )
                )
            ).one()
        count, oldest = row
        return int(count), oldest

    async def release_held(self, chat_id: int, at: datetime) -> int:
        """Re-time a chat's held (digest) rows to `at` (now after /quiet off); returns how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t.outbox)
                .where(
                    t.outbox.c.chat_id == chat_id,
                    t.outbox.c.status == OutboxStatus.PENDING.value,
                    t.outbox.c.kind == OutboxKind.ALERT.value,
                    t.outbox.c.attempts == 0,
                    t.outbox.c.held.is_(True),
                )
                .values(next_attempt_at=at)
            )
        return int(result.rowcount or 0)
