"""The catalog sync under concurrency: replicas starting together all sync the same catalog."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.models import CatalogFeed
from bot.storage import Storage
from tests.support import database

FEEDS = 200


def catalog(url_prefix: str) -> list[CatalogFeed]:
    return [
        CatalogFeed(f"feed-{n:03d}", f"Feed {n}", f"{url_prefix}/{n}.xml", "tr", None, True)
        for n in range(FEEDS)
    ]


async def test_three_replicas_sync_the_catalog_at_once_on_a_fresh_database(
    tmp_path: Path,
) -> None:
    async with database("postgresql", str(tmp_path)) as target:
        replicas = [await Storage.open(target.url, schema=target.schema) for _ in range(3)]
        try:
            # Each replica's own engine and transaction, all at the same moment: the
            # read-then-insert sync failed here with a duplicate key on feeds_pkey.
            await asyncio.gather(*(r.sync_catalog(catalog("http://a.example")) for r in replicas))
            feeds = await replicas[0].feeds()
            assert [f.id for f in feeds] == [f"feed-{n:03d}" for n in range(FEEDS)]
            # Again at once, with a changed address: every row follows the catalog.
            await asyncio.gather(*(r.sync_catalog(catalog("http://b.example")) for r in replicas))
            assert {f.url.split("/")[2] for f in await replicas[1].feeds()} == {"b.example"}
        finally:
            for replica in replicas:
                await replica.close()
