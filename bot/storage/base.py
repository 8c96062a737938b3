"""The connection every storage aggregate shares.

Also the steps that one aggregate takes inside another's transaction: a
batch of stories records its feed's fetch and writes its outbox rows in the
same transaction, and outbox rows are read back with their stories.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models import (
    AlertIntent,
    AlertReason,
    ChatRow,
    FeedRow,
    FetchRecord,
    ItemRow,
    OutboxKind,
    OutboxStatus,
)
from bot.storage import schema as t
from bot.storage.db import create_engine, upgrade


def json_list(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()


def reason_columns(reason: AlertReason) -> dict[str, Any]:
    return {
        "reason_categories": ",".join(reason.categories),
        "reason_keyword": reason.keyword,
        "held": reason.held,
    }


def alert_reason(row: Row[Any]) -> AlertReason:
    m = row._mapping
    categories = m["reason_categories"] or ""
    return AlertReason(
        categories=tuple(c for c in categories.split(",") if c),
        keyword=m["reason_keyword"],
        held=bool(m["held"]),
    )


def feed_row(row: Row[Any]) -> FeedRow:
    m = row._mapping
    return FeedRow(**{name: m[name] for name in FeedRow.__dataclass_fields__})


def chat_row(row: Row[Any]) -> ChatRow:
    m = row._mapping
    return ChatRow(**{name: m[name] for name in ChatRow.__dataclass_fields__})


class StorageBase:
    """The engine and what every aggregate needs from it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    async def open(cls, url: str, *, schema: str | None = None, migrate: bool = True) -> Self:
        """Connect and (by default) bring the schema up to date."""
        threads_before = set(threading.enumerate())
        engine = create_engine(url, schema=schema)
        try:
            if migrate:
                await upgrade(engine)
        except BaseException:
            await engine.dispose()
            await _stopped(set(threading.enumerate()) - threads_before)
            raise
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
        for column in ("interval_reason", "entries_per_day", "publisher_hints"):
            if getattr(record, column) is not None:
                values[column] = getattr(record, column)
        if record.interval is not None:
            values["current_interval"] = record.interval
        if record.brought_new:
            values["last_new_at"] = now
        if record.moved_to is not None:
            values["moved_to"] = record.moved_to
        if record.disabled_reason is not None:
            values["disabled_reason"] = record.disabled_reason
        await conn.execute(update(t.feeds).where(t.feeds.c.id == feed_id).values(**values))

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
            categories=json_list(m["categories"]),
            topics=json_list(m["topics"]),
            entities=json_list(m["entities"]),
            matches=json.loads(m["matches"] or "{}"),
            sources=tuple(sources.get(m["id"], ())),
        )

    async def _enqueue_alerts(
        self, conn: AsyncConnection, story_id: int, intents: Sequence[AlertIntent], now: datetime
    ) -> int:
        """One outbox row per intent (decided by bot.delivery.planner)."""
        if not intents:
            return 0
        await conn.execute(
            self._insert_ignore(t.outbox),
            [
                {
                    "item_id": story_id,
                    "chat_id": intent.chat_id,
                    "kind": OutboxKind.ALERT.value,
                    **reason_columns(intent.reason),
                    "status": OutboxStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": intent.due,
                    "created_at": now,
                }
                for intent in intents
            ],
        )
        return len(intents)


async def _stopped(threads: set[threading.Thread], within: float = 2.0) -> None:
    """Wait for the worker threads a failed open started to finish.

    aiosqlite stops a connection that failed to open without waiting for its
    thread, which then answers on the event loop; if the caller meanwhile exits
    (`evbot run` refusing to start), that answer finds the loop closed and the
    thread dies with a traceback beside the one-line error.
    """
    for thread in threads:
        # Only aiosqlite's (named after their target); pool workers started
        # meanwhile (a PostgreSQL host name looked up) live on and are not waited for.
        if thread.name.endswith("(_connection_worker_thread)") and thread.is_alive():
            await asyncio.to_thread(thread.join, within)
