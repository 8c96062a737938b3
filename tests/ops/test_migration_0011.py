"""Migration 0011: every chat known before it counts as started, so /start keeps its choices."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from bot.storage import Storage
from bot.storage.db import create_engine, downgrade, upgrade
from tests.support import DatabaseTarget

CREATED = datetime(2026, 5, 4, 8, 30)
LATER = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALL = ("regulation", "ev-market", "municipality")


async def test_chats_known_before_the_upgrade_keep_their_choices_on_start(
    db: DatabaseTarget,
) -> None:
    engine = create_engine(db.url, schema=db.schema)
    try:
        await upgrade(engine, "0010")
        async with engine.begin() as conn:
            # 7 follows one category; 8 turned everything off.
            for chat_id in (7, 8):
                await conn.execute(
                    text(
                        "INSERT INTO chats (id, type, language, active, paused,"
                        " created_at, updated_at)"
                        " VALUES (:id, 'private', 'tr', true, false, :now, :now)"
                    ),
                    {"id": chat_id, "now": CREATED},
                )
            await conn.execute(
                text("INSERT INTO subscriptions (chat_id, category) VALUES (7, 'regulation')")
            )
    finally:
        await engine.dispose()

    storage = await Storage.open(db.url, schema=db.schema)
    try:
        for chat_id in (7, 8):
            chat = await storage.chat(chat_id)
            assert chat is not None
            assert chat.started_at == CREATED.replace(tzinfo=UTC)
            # Their /start is a known chat's: nothing replaced.
            assert await storage.start_chat(chat_id, ALL, LATER) is None
        assert await storage.subscriptions(7) == {"regulation"}
        assert await storage.subscriptions(8) == set()
        # A chat that arrives after the upgrade has not started until it does.
        await storage.ensure_chat(9, type="private", title=None, language="en", now=LATER)
        assert await storage.start_chat(9, ALL, LATER) == set(ALL)
    finally:
        await storage.close()

    engine = create_engine(db.url, schema=db.schema)
    try:
        await downgrade(engine, "0010")
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT chat_id, category FROM subscriptions ORDER BY chat_id, category")
            )
            kept = [(int(a), str(b)) for a, b in rows.all()]
    finally:
        await engine.dispose()
    # Dropping the column is a plain ALTER TABLE: no cascade empties subscriptions.
    assert kept == [(7, "regulation"), *((9, c) for c in sorted(ALL))]
