"""Stories in a real database and the archive served on a real port, for the web tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from bot.models import CatalogFeed, FetchRecord, NewItem, SeenAgain
from bot.storage import Storage
from bot.web.site import ArchiveSite
from rules import RuleSet, load_rules

RULES = load_rules()


def record(now: datetime) -> FetchRecord:
    """A successful poll."""
    return FetchRecord(status="ok", success=True, duration=0.1, next_poll_at=now)


def catalog_feed(feed_id: str, name: str) -> CatalogFeed:
    """A catalog row."""
    return CatalogFeed(feed_id, name, f"https://{feed_id}.example/rss", "tr", None, True)


@dataclass(frozen=True)
class Story:
    """A story to seed: its feed, text, categories and why."""

    title: str
    categories: tuple[str, ...] = ("ev-market",)
    summary: str = ""
    feed: str = "aa"
    link: str | None = None
    matches: dict[str, list[str]] | None = None


FEEDS = {"aa": "AA Enerji", "bb": "Yeşil Ekonomi", "cc": "Electrive"}


async def seed(storage: Storage, stories: Sequence[Story], start: datetime) -> list[int]:
    """Store `stories` in order, one minute apart (the last is the newest); their ids."""
    await storage.sync_catalog([catalog_feed(f, n) for f, n in FEEDS.items()])
    ids = []
    for n, s in enumerate(stories):
        now = start + timedelta(minutes=n)
        new = NewItem(
            identities=(f"{s.feed}-{n}",),
            title=s.title,
            summary=s.summary,
            link=s.link if s.link is not None else f"https://{s.feed}.example/news/{n}",
            canonical_link=f"https://{s.feed}.example/news/{n}",
            title_key=f"key {n}",
            published_at=now - timedelta(minutes=5),
            categories=s.categories,
            matches=s.matches
            if s.matches is not None
            else {c: ["elektrikli"] for c in s.categories},
        )
        batch = await storage.store_batch(
            s.feed, new=[new], again=[], seen=[], record=record(now), now=now
        )
        ids.extend(batch.item_ids)
    return ids


async def also_from(storage: Storage, story_id: int, feed: str, now: datetime) -> None:
    """Record that `feed` carried story `story_id` too."""
    again = SeenAgain(
        (f"{feed}-again-{story_id}",), story_id, f"https://{feed}.example/x/{story_id}"
    )
    await storage.store_batch(feed, new=[], again=[again], seen=[], record=record(now), now=now)


@asynccontextmanager
async def serve(
    storage: Storage,
    *,
    bot_username: str | None = "evbot_news_bot",
    rules: Callable[[], RuleSet] = lambda: RULES,
    page_size: int = 20,
) -> AsyncIterator[str]:
    """The archive on a free loopback port; yields its base URL."""
    site = ArchiveSite(storage, rules, bot_username=lambda: bot_username, page_size=page_size)
    app = web.Application()
    site.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def demo_stories() -> list[Story]:
    """The demo's sample stories, classified by the real rules, spread over three feeds."""
    from bot.cli.demo import load_entries

    stories = []
    feeds = list(FEEDS)
    for n, entry in enumerate(load_entries()):
        result = RULES.classify(entry.title, entry.summary).to_json()
        stories.append(
            Story(
                entry.title,
                tuple(result["categories"]),  # type: ignore[arg-type]
                summary=entry.summary,
                feed=feeds[n % len(feeds)],
                matches=result["matches"],  # type: ignore[arg-type]
            )
        )
    return stories
