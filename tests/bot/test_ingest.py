"""The poll job against a local feed server: what gets stored and queued, and what does not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.ingest.poll import Ingestor
from bot.models import CatalogFeed, StoredBatch
from bot.storage import Storage
from feeds.fetch import build_client
from rules import load_rules
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.support import FakeClock, database

RULES = load_rules()

REGULATION = FeedItem(
    "EPDK şarj hizmeti yönetmeliğinde değişikliğe gitti",
    link="https://a.example/epdk?utm_source=rss",
    guid="a-1",
    summary="Elektrikli araç şarj istasyonu işletmecileri için yeni kurallar.",
)
SAME_ELSEWHERE = FeedItem(
    "EPDK şarj hizmeti yönetmeliğinde değişikliğe gitti",
    link="https://b.example/haber/epdk-sarj",
    guid="b-77",
    summary="AA muhabirinin haberine göre yeni kurallar yürürlüğe girdi.",
)


@dataclass
class Rig:
    feeds: FeedServer
    storage: Storage
    ingestor: Ingestor
    clock: FakeClock

    async def poll(self) -> None:
        await self.ingestor.poll(await self.storage.claim_due_feeds(self.clock.now()))
        self.clock.advance(3600)

    async def queued(self) -> list[str]:
        due = await self.storage.due_deliveries(self.clock.now())
        return [d.item.title for d in due if d.item is not None]


@asynccontextmanager
async def make_rig(kind: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Rig]:
    async with database(kind, str(tmp_path)) as target, FeedServer() as feeds:
        storage = await Storage.open(target.url, schema=target.schema)
        await storage.sync_catalog(
            [
                CatalogFeed("a", "Kaynak A", feeds.url("/a.xml"), "tr", None, True),
                CatalogFeed("b", "Kaynak B", feeds.url("/b.xml"), "tr", None, True),
            ]
        )
        await storage.ensure_chat(1, type="private", title=None, language="tr", now=clock.now())
        await storage.set_subscriptions(1, [c.id for c in RULES.categories])
        feeds.add_feed("/a.xml")
        feeds.add_feed("/b.xml")
        async with build_client() as client:
            ingestor = Ingestor(
                storage,
                client,
                lambda: RULES,
                clock,
                default_interval=60,
                max_bytes=1 << 20,
            )
            yield Rig(feeds, storage, ingestor, clock)
        await storage.close()


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Rig]:
    async with make_rig("sqlite", tmp_path, clock) as made:
        yield made


@pytest.fixture(params=["sqlite", "postgresql"])
async def rig_any_db(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Rig]:
    async with make_rig(request.param, tmp_path, clock) as made:
        yield made


async def test_backlog_is_recorded_then_new_entries_are_queued(rig: Rig) -> None:
    rig.feeds.add_entry("/a.xml", FeedItem("Togg T10X ihracatı başladı", guid="old"))
    await rig.poll()
    assert await rig.queued() == []
    rig.feeds.add_entry("/a.xml", REGULATION)
    await rig.poll()
    assert await rig.queued() == [REGULATION.title]
    await rig.poll()  # nothing new (the server answers 304)
    assert await rig.queued() == [REGULATION.title]
    feed = await rig.storage.feed("a")
    assert feed is not None and feed.last_status == "not_modified"


async def test_same_story_through_a_second_feed_is_a_source_not_an_alert(rig: Rig) -> None:
    await rig.poll()
    rig.feeds.add_entry("/a.xml", REGULATION)
    rig.feeds.add_entry("/b.xml", SAME_ELSEWHERE)
    await rig.poll()
    assert await rig.queued() == [REGULATION.title]
    [story] = await rig.storage.latest_items()
    assert story.sources == ("Kaynak A", "Kaynak B")


async def test_same_story_twice_in_one_feed_is_one_story(rig: Rig) -> None:
    await rig.poll()
    rig.feeds.add_entry("/a.xml", REGULATION)
    rig.feeds.add_entry(
        "/a.xml",
        FeedItem(REGULATION.title, link="https://a.example/epdk-2", guid="a-2"),
    )
    await rig.poll()
    assert await rig.queued() == [REGULATION.title]
    assert len(await rig.storage.latest_items()) == 1


async def test_republished_with_new_guid_and_link_is_not_alerted_again(rig: Rig) -> None:
    await rig.poll()
    rig.feeds.add_entry("/a.xml", REGULATION)
    await rig.poll()
    rig.feeds.set_entries(
        "/a.xml",
        [FeedItem(REGULATION.title, link="https://a.example/yeni-link", guid="a-new")],
    )
    await rig.poll()
    assert await rig.queued() == [REGULATION.title]


async def test_a_broken_feed_does_not_stop_the_others(rig: Rig) -> None:
    await rig.poll()
    rig.feeds.set_raw("/b.xml", status=200, body=b"<html><body>Not a feed</body></html>")
    rig.feeds.add_entry("/a.xml", REGULATION)
    await rig.poll()
    assert await rig.queued() == [REGULATION.title]
    broken = await rig.storage.feed("b")
    assert broken is not None
    assert broken.consecutive_failures == 1 and broken.last_error


async def test_a_gone_feed_is_disabled(rig: Rig) -> None:
    rig.feeds.set_raw("/b.xml", status=410, body=b"gone")
    await rig.poll()
    gone = await rig.storage.feed("b")
    assert gone is not None and gone.disabled_reason
    assert [f.id for f in await rig.storage.claim_due_feeds(rig.clock.now())] == ["a"]


async def test_a_failed_store_is_the_feeds_error_and_backs_off(
    rig_any_db: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch the database refuses shows in /feeds and waits, instead of retrying unseen."""
    rig = rig_any_db
    await rig.poll()
    rig.feeds.add_entry("/a.xml", REGULATION)
    rig.feeds.add_entry("/b.xml", FeedItem("Togg yeni model tanıttı", guid="b-1"))
    real_store = rig.storage.store_batch

    async def refuse_feed_b(feed_id: str, **kwargs: Any) -> StoredBatch:
        if feed_id == "b":
            raise RuntimeError('invalid byte sequence for encoding "UTF8": 0x00')
        return await real_store(feed_id, **kwargs)

    monkeypatch.setattr(rig.storage, "store_batch", refuse_feed_b)
    now = rig.clock.now()
    await rig.ingestor.poll(await rig.storage.claim_due_feeds(now))
    assert await rig.queued() == [REGULATION.title]  # the other feed is unaffected
    broken = await rig.storage.feed("b")
    assert broken is not None
    assert broken.last_error_kind == "storage"
    assert broken.last_error is not None and "0x00" in broken.last_error
    assert broken.consecutive_failures == 1
    # Backed off like any failed poll (not left under its lease), and due again later.
    assert broken.next_poll_at is not None and broken.next_poll_at > now
    later = [f.id for f in await rig.storage.claim_due_feeds(broken.next_poll_at)]
    assert "b" in later


async def test_an_entry_without_a_title_is_classified_on_its_summary_alone(rig: Rig) -> None:
    """The alert borrows the summary's start as a title, but headline rules do not read it."""
    lead = (
        "Turkey’s Automobile Enterprise Group (TOGG) has launched an eco-friendly"
        " SIRO Silk Road battery producing company."
    )
    await rig.poll()
    rig.feeds.add_entry("/a.xml", FeedItem("", guid="untitled", summary=lead))
    await rig.poll()
    [story] = await rig.storage.latest_items()
    assert story.title.startswith("Turkey’s Automobile Enterprise Group")
    # A Togg *headline* would be EV-manufacturing news; a lead sentence about
    # Togg's battery company is battery news only.
    assert story.categories == ("battery-manufacturing",)


async def test_an_entry_without_a_title_is_classified_on_the_headline_its_link_spells(
    rig: Rig,
) -> None:
    """News sites put the headline in the address: a title-less entry is filed by it."""
    await rig.poll()
    rig.feeds.add_entry(
        "/a.xml",
        FeedItem(
            "",
            guid="untitled-link",
            link="https://haber.example/ekonomi/karsan-romanyaya-elektrikli-otobus-teslim-etti-h4512.html",
            summary="Teslimat töreni dün Bükreş'te yapıldı.",
        ),
    )
    await rig.poll()
    [story] = await rig.storage.latest_items()
    # The alert still shows the feed's own words, not the link's diacritic-less ones.
    assert story.title.startswith("Teslimat töreni")
    assert story.categories == ("commercial-ev-manufacturing",)
