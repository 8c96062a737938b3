"""Migration 0003 moves queued alerts' JSON reasons into typed columns, and back on downgrade."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text

from bot.models import AlertReason, OutboxKind
from bot.storage import Storage
from bot.storage.db import create_engine, downgrade, upgrade
from tests.support import DatabaseTarget

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).replace(tzinfo=None)


async def test_queued_rows_keep_their_reason_across_the_migration(db: DatabaseTarget) -> None:
    engine = create_engine(db.url, schema=db.schema)
    await upgrade(engine, "0002")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO chats (id, type, language, active, paused, created_at, updated_at)"
                " VALUES (1, 'private', 'en', true, false, :now, :now)"
            ),
            {"now": NOW},
        )
        await conn.execute(
            text(
                "INSERT INTO items (id, title, summary, title_key, first_seen_at, categories,"
                " topics, entities, matches)"
                " VALUES (5, 'EPDK', '', 'epdk', :now, '[\"regulation\"]', '[]', '[]', '{}')"
            ),
            {"now": NOW},
        )
        reasons = [
            (5, "alert", {"categories": ["regulation"], "keyword": "epdk", "digest": True}),
            (None, "broadcast", {"text": "Merhaba <b>"}),
        ]
        for item_id, kind, reason in reasons:
            await conn.execute(
                text(
                    "INSERT INTO outbox (item_id, chat_id, kind, reason, status, attempts,"
                    " next_attempt_at, created_at) VALUES (:item, 1, :kind, :reason, 'pending',"
                    " 0, :now, :now)"
                ),
                {"item": item_id, "kind": kind, "reason": json.dumps(reason), "now": NOW},
            )
    await upgrade(engine)
    await engine.dispose()

    storage = await Storage.open(db.url, schema=db.schema)
    try:
        rows = await storage.due_deliveries(datetime.now(UTC))
        alert = next(r for r in rows if r.kind is OutboxKind.ALERT)
        broadcast = next(r for r in rows if r.kind is OutboxKind.BROADCAST)
        assert alert.reason == AlertReason(("regulation",), keyword="epdk", held=True)
        assert broadcast.text == "Merhaba <b>"
        # /quiet off finds the held row by its column, not by matching JSON text.
        assert await storage.release_held(1, datetime.now(UTC)) == 1
    finally:
        await storage.close()

    engine = create_engine(db.url, schema=db.schema)
    await downgrade(engine, "0002")
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT reason FROM outbox ORDER BY id"))).scalars()
        assert [json.loads(r) for r in stored] == [
            {"categories": ["regulation"], "keyword": "epdk", "digest": True},
            {"text": "Merhaba <b>"},
        ]
    await engine.dispose()
