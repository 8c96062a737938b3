"""The archive's page cache never shows a reader stale news, whichever process stored it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import feedparser
import httpx

from bot.storage import Storage
from bot.web.cache import PageCache
from bot.web.texts import LANG_COOKIE
from tests.support import DatabaseTarget
from tests.web.archive_support import Story, also_from, seed, serve
from tests.web.test_archive_http import titles

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OLD = [
    Story("Belediye yeni şarj istasyonları kurdu", ("municipality",)),
    Story("Togg yeni aracı tanıttı", ("ev-manufacturing", "ev-market")),
]


async def test_a_story_stored_by_another_process_shows_on_the_next_request(
    db: DatabaseTarget,
) -> None:
    # Two Storage objects on one database: the web replica and the ingesting
    # process, which share nothing but the database.
    web = await Storage.open(db.url, schema=db.schema)
    ingest = await Storage.open(db.url, schema=db.schema)
    try:
        await seed(ingest, OLD, START)
        async with serve(web) as base, httpx.AsyncClient(base_url=base) as http:
            home = await http.get("/")
            category = await http.get("/c/municipality")
            feed = await http.get("/feeds/all.atom")
            category_feed = await http.get("/feeds/municipality.atom")
            again = await http.get("/")  # served from the cache
            await seed(
                ingest,
                [Story("Kocaeli belediyesi elektrikli otobüs aldı", ("municipality",))],
                START + timedelta(hours=1),
            )
            home_after = await http.get("/")
            category_after = await http.get("/c/municipality")
            feed_after = await http.get(
                "/feeds/all.atom", headers={"If-None-Match": feed.headers["etag"]}
            )
            category_feed_after = await http.get(
                "/feeds/municipality.atom",
                headers={"If-None-Match": category_feed.headers["etag"]},
            )
    finally:
        await ingest.close()
        await web.close()
    new = "Kocaeli belediyesi elektrikli otobüs aldı"
    assert again.text == home.text
    assert titles(home.text) == ["Togg yeni aracı tanıttı", "Belediye yeni şarj istasyonları kurdu"]
    assert titles(home_after.text)[0] == new
    assert titles(category.text) == ["Belediye yeni şarj istasyonları kurdu"]
    assert titles(category_after.text) == [new, "Belediye yeni şarj istasyonları kurdu"]
    assert feed_after.status_code == 200
    assert feed_after.headers["etag"] != feed.headers["etag"]
    assert feedparser.parse(feed_after.content).entries[0].title == new
    assert category_feed_after.status_code == 200
    assert category_feed_after.headers["etag"] != category_feed.headers["etag"]
    assert feedparser.parse(category_feed_after.content).entries[0].title == new


async def test_one_more_source_for_a_known_story_shows_on_its_pages_at_once(
    storage: Storage,
) -> None:
    ids = await seed(storage, OLD, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        home = await http.get("/")
        story = await http.get(f"/s/{ids[0]}")
        await also_from(storage, ids[0], "cc", START + timedelta(hours=1))
        home_after = await http.get("/")
        story_after = await http.get(f"/s/{ids[0]}")
    assert "Electrive" not in home.text and "Electrive" not in story.text
    assert "Electrive" in home_after.text
    assert "Electrive" in story_after.text


async def test_stories_removed_by_retention_leave_the_pages_and_feeds(storage: Storage) -> None:
    await seed(storage, OLD, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        home = await http.get("/")
        feed = await http.get("/feeds/all.atom")
        await storage.prune(
            items_before=START + timedelta(seconds=30), tombstones_before=START - timedelta(days=1)
        )
        home_after = await http.get("/")
        feed_after = await http.get(
            "/feeds/all.atom", headers={"If-None-Match": feed.headers["etag"]}
        )
    assert "Belediye yeni şarj istasyonları kurdu" in titles(home.text)
    assert titles(home_after.text) == ["Togg yeni aracı tanıttı"]
    assert feed_after.status_code == 200
    assert [e.title for e in feedparser.parse(feed_after.content).entries] == [
        "Togg yeni aracı tanıttı"
    ]


async def test_each_reader_gets_their_own_language_and_cookie_from_a_cached_page(
    storage: Storage,
) -> None:
    await seed(storage, OLD, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        turkish = await http.get("/", headers={"Accept-Language": "tr"})
        english = await http.get("/", headers={"Accept-Language": "en"})
        switched = await http.get("/?lang=en", headers={"Accept-Language": "tr"})
        remembered = http.cookies.get(LANG_COOKIE)
        http.cookies.clear()
        turkish_again = await http.get("/", headers={"Accept-Language": "tr"})
    assert '<html lang="tr">' in turkish.text
    assert '<html lang="en">' in english.text
    assert '<html lang="en">' in switched.text
    assert remembered == "en"
    assert "set-cookie" not in english.headers
    assert turkish_again.text == turkish.text


async def test_readers_arriving_together_share_one_render_and_memory_stays_bounded() -> None:
    version = [1]
    release, started = asyncio.Event(), asyncio.Event()
    renders: list[str] = []

    async def read_version() -> int:
        return version[0]

    def render(key: str) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            renders.append(key)
            started.set()
            await release.wait()
            return f"{key}@{version[0]}"

        return run

    cache: PageCache[str] = PageCache(read_version, size=2)
    together = [asyncio.ensure_future(cache.get("/", render("/"))) for _ in range(5)]
    await asyncio.wait_for(started.wait(), 5)
    release.set()
    assert await asyncio.gather(*together) == ["/@1"] * 5
    assert renders == ["/"]
    for key in ("/a", "/b", "/c"):
        await cache.get(key, render(key))
    await cache.get("/", render("/"))  # evicted as least recently used: rendered again
    assert renders == ["/", "/a", "/b", "/c", "/"]
    version[0] = 2  # a new story: everything renders afresh
    assert await cache.get("/c", render("/c")) == "/c@2"
