"""Upgrading (and stepping back) keeps every chat's choices.

On SQLite a migration in Alembic's batch mode recreates its table; recreating
`chats` cascaded into subscriptions and the outbox (foreign keys are on), so
an upgrade silently unsubscribed every chat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from bot.storage.db import create_engine, downgrade, upgrade
from tests.support import DatabaseTarget

NOW = datetime(2026, 11, 2, 9, 0)


async def subscriptions(db: DatabaseTarget) -> list[tuple[int, str]]:
    engine = create_engine(db.url, schema=db.schema)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT chat_id, category FROM subscriptions"))
            return [(int(a), str(b)) for a, b in rows.all()]
    finally:
        await engine.dispose()


async def test_subscriptions_survive_the_upgrade_to_head_and_back(db: DatabaseTarget) -> None:
    engine = create_engine(db.url, schema=db.schema)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO chats (id, type, language, active, paused, created_at, updated_at)"
                    " VALUES (7, 'private', 'tr', true, false, :now, :now)"
                ),
                {"now": NOW},
            )
            await conn.execute(
                text("INSERT INTO subscriptions (chat_id, category) VALUES (7, 'regulation')")
            )
        await upgrade(engine)
    finally:
        await engine.dispose()
    assert await subscriptions(db) == [(7, "regulation")]

    engine = create_engine(db.url, schema=db.schema)
    try:
        await downgrade(engine, "0007")
    finally:
        await engine.dispose()
    assert await subscriptions(db) == [(7, "regulation")]
