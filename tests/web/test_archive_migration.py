"""Migration 0005: the search index covers stories stored before it, and can be taken back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text

from bot.storage import Storage
from bot.storage import schema as t
from bot.storage.archive import search_terms
from bot.storage.db import create_engine, downgrade, upgrade
from tests.support import database

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def search_objects(storage: Storage) -> set[str]:
    """The search index's tables, triggers and indexes that exist."""
    async with storage.engine.connect() as conn:
        if storage.dialect == "sqlite":
            rows = await conn.execute(
                text("SELECT name FROM sqlite_master WHERE name LIKE 'items_fts%'")
            )
            return {r[0] for r in rows}
        indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("items"))
        return {i["name"] for i in indexes if i["name"] == "ix_items_search"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_stories_stored_before_the_migration_are_found_and_it_downgrades(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, str(tmp_path)) as target:
        engine = create_engine(target.url, schema=target.schema)
        await upgrade(engine, "0006")
        async with engine.begin() as conn:
            story = await conn.execute(
                insert(t.items)
                .values(
                    title="Şarj istasyonu ağı İSTANBUL'da büyüyor",
                    summary="",
                    title_key="k",
                    first_seen_at=NOW,
                    categories='["municipality"]',
                )
                .returning(t.items.c.id)
            )
            story_id = story.scalar_one()
            await conn.execute(
                insert(t.item_categories).values(item_id=story_id, category="municipality")
            )
        await upgrade(engine)
        storage = Storage(engine)
        try:
            found = await storage.archive_search(search_terms("sarj istanbul"))
            assert [s.id for s in found] == [story_id]
            assert await search_objects(storage)

            await downgrade(engine, "0006")
            assert not await search_objects(storage)
            await upgrade(engine)
            found = await storage.archive_search(search_terms("ISTANBUL"))
            assert [s.id for s in found] == [story_id]
        finally:
            await storage.close()
