"""Forum topics: which topic of a forum supergroup each category is posted to.

A chat's mapping is kept while its topics are off, so `/topics on` again
reuses the same topics; a topic Telegram says was deleted is forgotten
(`forget_topic`), once, so its alerts fall back to General and the notice
about it is queued once whichever replica sees the error.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from bot.storage import schema as t
from bot.storage.base import StorageBase


class TopicsStore(StorageBase):
    """A forum chat's switch and its category → topic mapping."""

    async def set_topics(self, chat_id: int, on: bool, now: datetime) -> None:
        """Turn a chat's per-category topics on or off (its mapping is kept)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.chats).where(t.chats.c.id == chat_id).values(topics=on, updated_at=now)
            )

    async def chat_topics(self, chat_id: int) -> dict[str, tuple[int, str]]:
        """category → (message_thread_id, topic name) of a chat."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    t.chat_topics.c.category, t.chat_topics.c.thread_id, t.chat_topics.c.name
                ).where(t.chat_topics.c.chat_id == chat_id)
            )
            return {str(c): (int(thread), str(name)) for c, thread, name in rows}

    async def add_topic(
        self, chat_id: int, category: str, thread_id: int, name: str, now: datetime
    ) -> None:
        """Remember the topic created for a category (a later one replaces an earlier one)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(t.chat_topics).where(
                    t.chat_topics.c.chat_id == chat_id, t.chat_topics.c.category == category
                )
            )
            await conn.execute(
                t.chat_topics.insert().values(
                    chat_id=chat_id,
                    category=category,
                    thread_id=thread_id,
                    name=name,
                    created_at=now,
                )
            )

    async def forget_topic(self, chat_id: int, thread_id: int) -> str | None:
        """Forget a deleted topic; its name if this call forgot it, None if it was already gone."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(t.chat_topics.c.name).where(
                        t.chat_topics.c.chat_id == chat_id, t.chat_topics.c.thread_id == thread_id
                    )
                )
            ).first()
            result = await conn.execute(
                delete(t.chat_topics).where(
                    t.chat_topics.c.chat_id == chat_id, t.chat_topics.c.thread_id == thread_id
                )
            )
        if row is None or not result.rowcount:
            return None
        return str(row[0])
