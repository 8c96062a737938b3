"""Each feed on its own clock: a hanging feed delays nobody, due times keep, stop is clean."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli.feed_report import feed_table
from bot.models import CatalogFeed
from tests.bot.test_ingest import REGULATION, SAME_ELSEWHERE, Rig, make_rig
from tests.fakes.feed_xml import FeedItem, rss_xml
from tests.support import FakeClock

HANGING = b"<rss version='2.0'><channel><title>slow</title></channel></rss>"


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Rig]:
    async with make_rig("sqlite", tmp_path, clock) as made:
        made.ingestor.tick_seconds = 0.05
        yield made


async def hang_b(rig: Rig) -> asyncio.Event:
    """Feed b's server stops answering (until the returned gate is set)."""
    gate = asyncio.Event()
    rig.feeds.set_raw("/b.xml", body=HANGING, gate=gate)
    return gate


async def test_a_hanging_feed_does_not_hold_another_feeds_alerts(rig: Rig) -> None:
    alerted = asyncio.Event()
    rig.ingestor.on_alerts = alerted.set
    await rig.poll()  # the backlog of both feeds
    gate = await hang_b(rig)
    rig.feeds.add_entry("/a.xml", REGULATION)
    one_pass = asyncio.create_task(rig.ingestor.poll_due())
    try:
        await rig.feeds.wait_for_requests("/b.xml", 2)
        # Stored and the delivery worker woken while b still hangs.
        async with asyncio.timeout(5):
            await alerted.wait()
        assert await rig.queued() == [REGULATION.title]
        assert not one_pass.done()
    finally:
        gate.set()
        await one_pass


async def test_stopping_cancels_a_hanging_fetch_cleanly_and_frees_its_feed(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await rig.poll()
    gate = await hang_b(rig)
    stop = asyncio.Event()
    loop = asyncio.create_task(rig.ingestor.run(stop))
    try:
        await rig.feeds.wait_for_requests("/b.xml", 2)
        stop.set()
        async with asyncio.timeout(5):
            await loop
            await rig.ingestor.close()
    finally:
        gate.set()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
    # Its lease is given back: polled at once after a restart, not ten minutes later.
    assert "b" in [f.id for f in await rig.storage.claim_due_feeds(rig.clock.now())]


async def test_a_feed_in_flight_is_not_fetched_twice_even_after_its_lease(rig: Rig) -> None:
    await rig.poll()
    gate = await hang_b(rig)
    stop = asyncio.Event()
    loop = asyncio.create_task(rig.ingestor.run(stop))
    try:
        await rig.feeds.wait_for_requests("/b.xml", 2)
        for _ in range(2):
            await rig.ingestor.settled("a")
            before = rig.feeds.request_count("/a.xml")
            rig.clock.advance(3600)  # far beyond b's lease; a is due again
            await rig.feeds.wait_for_requests("/a.xml", before + 1)
        assert rig.feeds.request_count("/b.xml") == 2
    finally:
        stop.set()
        await loop
        await rig.ingestor.close()
        gate.set()


async def test_the_next_poll_is_due_plus_interval_not_end_of_fetch_plus_interval(
    rig: Rig,
) -> None:
    await rig.ingestor.poll_due()
    a = await rig.storage.feed("a")
    assert a is not None and a.next_poll_at is not None
    due = a.next_poll_at
    rig.clock.current = due + timedelta(seconds=0.7)  # the tick came late
    await rig.ingestor.poll_due()
    a = await rig.storage.feed("a")
    assert a is not None
    assert a.next_poll_at == due + timedelta(seconds=60)


async def test_a_story_republished_just_inside_twice_the_window_is_not_alerted_again(
    rig: Rig,
) -> None:
    await rig.poll()
    rig.feeds.add_entry("/a.xml", REGULATION)
    await rig.poll()
    [story] = await rig.storage.latest_items()
    # Feed b lists the story 95 h later, dated 47 h after we first saw it: within
    # the window of its own date, so still the same story.
    rig.clock.current = story.first_seen_at + timedelta(hours=95)
    late = FeedItem(
        SAME_ELSEWHERE.title,
        link=SAME_ELSEWHERE.link,
        guid=SAME_ELSEWHERE.guid,
        published=story.first_seen_at + timedelta(hours=47),
    )
    rig.feeds.add_entry("/b.xml", late)
    await rig.poll()
    assert await rig.queued() == [REGULATION.title]
    [story] = await rig.storage.latest_items()
    assert story.sources == ("Kaynak A", "Kaynak B")


async def test_intervals_follow_the_feed_and_feeds_list_says_why(rig: Rig) -> None:
    now = rig.clock.now()
    busy = [
        FeedItem(f"Kısa haber {i}", guid=f"w{i}", published=now - timedelta(minutes=3 * i))
        for i in range(30)
    ]
    rig.feeds.add_feed("/wire.xml", entries=list(reversed(busy)))
    ttl_feed = rss_xml([FeedItem("Bir haber", guid="t1")]).replace(
        "<description>test</description>", "<description>test</description><ttl>60</ttl>"
    )
    rig.feeds.set_raw("/b.xml", body=ttl_feed.encode())
    rig.feeds.set_raw("/limited.xml", status=429, headers={"Retry-After": "900"})
    await rig.storage.sync_catalog(
        [
            CatalogFeed("a", "Kaynak A", rig.feeds.url("/a.xml"), "tr", 120, True, adaptive=False),
            CatalogFeed("b", "Kaynak B", rig.feeds.url("/b.xml"), "tr", None, True),
            CatalogFeed("wire", "Ajans", rig.feeds.url("/wire.xml"), "tr", 300, True),
            CatalogFeed("limited", "Sınırlı", rig.feeds.url("/limited.xml"), "tr", None, True),
        ]
    )
    await rig.ingestor.poll_due()
    feeds = {f.id: f for f in await rig.storage.feeds()}
    assert (feeds["a"].current_interval, feeds["a"].interval_reason) == (120, "pinned")
    assert (feeds["b"].current_interval, feeds["b"].interval_reason) == (3600, "ttl 60 min")
    wire = feeds["wire"]
    assert wire.current_interval is not None and wire.current_interval <= 60
    assert wire.interval_reason is not None and wire.interval_reason.startswith("adaptive: ")
    assert feeds["limited"].interval_reason == "retry-after"
    limited = feeds["limited"].next_poll_at
    assert limited is not None and limited >= now + timedelta(seconds=900)

    lines = feed_table(list(feeds.values()), now=now).splitlines()
    table = {line.split()[0]: line for line in lines}
    assert "pinned" in table["a"] and "2 min" in table["a"]
    assert "ttl 60 min" in table["b"] and "1 h" in table["b"]
    assert "entries/day" in table["wire"]
    assert "retry-after" in table["limited"]
