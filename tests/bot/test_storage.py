"""Storage against SQLite and the real PostgreSQL: what the pipeline relies on."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.models import CatalogFeed, FetchRecord, NewItem, SeenAgain
from bot.storage import Storage
from tests.support import DatabaseTarget, FakeClock, store, story

CATS = ("battery-manufacturing", "regulation", "ev-market")


def feed(feed_id: str = "f1", url: str = "http://127.0.0.1/f1.xml") -> CatalogFeed:
    return CatalogFeed(feed_id, f"Feed {feed_id}", url, "tr", None, True)


def ok(clock: FakeClock, validators: str | None = '{"etag": "x"}') -> FetchRecord:
    return FetchRecord(
        status="ok",
        success=True,
        duration=0.1,
        next_poll_at=clock.now() + timedelta(seconds=300),
        validators=validators,
    )


def item(identity: str, categories: tuple[str, ...], **kw: object) -> NewItem:
    return story(identity, categories, **kw)


async def chat(storage: Storage, clock: FakeClock, chat_id: int, cats: tuple[str, ...]) -> None:
    await storage.ensure_chat(chat_id, type="private", title=None, language="en", now=clock.now())
    await storage.set_subscriptions(chat_id, cats)


async def test_migrations_are_idempotent(db: DatabaseTarget) -> None:
    first = await Storage.open(db.url, schema=db.schema)
    await first.close()
    again = await Storage.open(db.url, schema=db.schema)
    try:
        await again.ping()
        assert await again.feeds() == []
    finally:
        await again.close()


async def test_catalog_sync_adds_updates_and_retires_feeds(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed("a"), feed("b")])
    assert [f.id for f in await storage.due_feeds(clock.now())] == ["a", "b"]

    await storage.sync_catalog([feed("a", url="http://127.0.0.1/new.xml")])
    feeds = {f.id: f for f in await storage.feeds()}
    assert feeds["a"].url == "http://127.0.0.1/new.xml"
    assert feeds["b"].in_catalog is False
    assert [f.id for f in await storage.due_feeds(clock.now())] == ["a"]


async def test_feed_is_not_due_until_its_next_poll(storage: Storage, clock: FakeClock) -> None:
    await storage.sync_catalog([feed()])
    await storage.record_fetch("f1", ok(clock), clock.now())
    assert await storage.due_feeds(clock.now()) == []
    clock.advance(301)
    assert [f.id for f in await storage.due_feeds(clock.now())] == ["f1"]
    stored = await storage.feed("f1")
    assert stored is not None
    assert stored.validators == '{"etag": "x"}'
    assert stored.first_success_at == clock.now() - timedelta(seconds=301)


async def test_failures_count_up_and_keep_validators(storage: Storage, clock: FakeClock) -> None:
    await storage.sync_catalog([feed()])
    await storage.record_fetch("f1", ok(clock), clock.now())
    for _ in range(2):
        await storage.record_fetch(
            "f1",
            FetchRecord(
                status="error",
                success=False,
                duration=1.0,
                next_poll_at=clock.now(),
                error="HTTP 500",
                error_kind="http_500",
            ),
            clock.now(),
        )
    stored = await storage.feed("f1")
    assert stored is not None
    assert (stored.consecutive_failures, stored.last_error, stored.validators) == (
        2,
        "HTTP 500",
        '{"etag": "x"}',
    )


async def test_new_story_queues_one_alert_per_subscribed_active_chat(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, ("regulation",))
    await chat(storage, clock, 2, ("battery-manufacturing", "regulation"))
    await chat(storage, clock, 3, ("ev-market",))
    await chat(storage, clock, 4, ("regulation",))
    await storage.update_chat(4, clock.now(), paused=True)

    batch = await store(
        storage,
        "f1",
        new=[item("e1", ("regulation", "battery-manufacturing"))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    assert batch.outbox_rows == 2
    due = await storage.due_deliveries(clock.now())
    assert sorted(d.chat_id for d in due) == [1, 2]
    reasons = {d.chat_id: d.reason.categories for d in due}
    assert reasons[2] == ("battery-manufacturing", "regulation")
    assert await storage.seen_identities("f1", ["e1", "e2"]) == {"e1"}


async def test_backlog_items_are_stored_without_alerts(storage: Storage, clock: FakeClock) -> None:
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, CATS)
    # A first poll's backlog: ingest plans no alerts for it.
    await storage.store_batch(
        "f1",
        new=[item("old", CATS)],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    assert await storage.due_deliveries(clock.now()) == []
    assert [i.title for i in await storage.latest_items()] == ["Story old"]


async def test_same_story_from_second_feed_is_a_source_not_a_new_alert(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed("a"), feed("b")])
    await chat(storage, clock, 1, CATS)
    first = await store(
        storage,
        "a",
        new=[item("x", ("regulation",))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    clock.advance(60)
    await store(
        storage,
        "b",
        new=[],
        again=[SeenAgain(("y",), first.item_ids[0], "https://other.example/y")],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    assert len(await storage.due_deliveries(clock.now())) == 1
    story = await storage.item(first.item_ids[0])
    assert story is not None
    assert story.sources == ("Feed a", "Feed b")
    assert await storage.seen_identities("b", ["y"]) == {"y"}


async def test_same_story_twice_in_one_batch_is_stored_once(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, CATS)
    batch = await store(
        storage,
        "f1",
        new=[item("p", ("regulation",)), item("q", (), same_as_batch_index=0)],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    assert len(batch.item_ids) == 1
    assert len(await storage.latest_items()) == 1
    assert await storage.seen_identities("f1", ["p", "q"]) == {"p", "q"}


async def test_deliveries_interleave_chats_fairly(storage: Storage, clock: FakeClock) -> None:
    await storage.sync_catalog([feed()])
    for chat_id in (1, 2, 3):
        await chat(storage, clock, chat_id, ("regulation",))
    await store(
        storage,
        "f1",
        new=[item(f"s{i}", ("regulation",)) for i in range(3)],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    order = [d.chat_id for d in await storage.due_deliveries(clock.now())]
    # Each chat's burst comes together (to be combined), chats in arrival order.
    assert order == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    limited = await storage.due_deliveries(clock.now(), max_chats=2, exclude_chats=[1])
    assert [d.chat_id for d in limited] == [2, 2, 2, 3, 3, 3]


async def test_sent_retried_dead_and_deactivated(storage: Storage, clock: FakeClock) -> None:
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, ("regulation",))
    await chat(storage, clock, 2, ("regulation",))
    await store(
        storage,
        "f1",
        new=[item("a", ("regulation",)), item("b", ("regulation",))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    due = await storage.due_deliveries(clock.now())
    one = [d for d in due if d.chat_id == 1]
    await storage.mark_sent_many([one[0].id], 77, clock.now())
    await storage.mark_retry(one[1].id, "timeout", clock.now() + timedelta(seconds=30))
    cancelled = await storage.deactivate_chat(2, "blocked", clock.now())
    assert cancelled == 2
    assert await storage.due_deliveries(clock.now()) == []
    clock.advance(31)
    again = await storage.due_deliveries(clock.now())
    assert [(d.chat_id, d.attempts) for d in again] == [(1, 1)]
    await storage.mark_dead(again[0].id, "gave up")
    assert await storage.outbox_counts() == {"sent": 1, "cancelled": 2, "dead": 1}
    stored = await storage.chat(2)
    assert stored is not None and not stored.active
    # A chat that writes to the bot again is active again.
    back, created = await storage.ensure_chat(
        2, type="private", title=None, language="en", now=clock.now()
    )
    assert back.active and not created


async def test_latest_by_category_and_times_are_utc(storage: Storage, clock: FakeClock) -> None:
    await storage.sync_catalog([feed()])
    await store(
        storage,
        "f1",
        new=[item("r", ("regulation",)), item("m", ("ev-market",))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    only = await storage.latest_items(category="ev-market")
    assert [i.title for i in only] == ["Story m"]
    assert only[0].first_seen_at == clock.now()
    assert only[0].first_seen_at.utcoffset() == timedelta(0)


async def test_migrated_group_keeps_subscriptions_and_pending_alerts(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed()])
    await storage.ensure_chat(-5, type="group", title="G", language="tr", now=clock.now())
    await storage.set_subscriptions(-5, ("regulation", "ev-market"))
    await store(
        storage,
        "f1",
        new=[item("a", ("regulation",))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    await storage.migrate_chat(-5, -1005, clock.now())
    assert await storage.subscriptions(-1005) == {"regulation", "ev-market"}
    due = await storage.due_deliveries(clock.now())
    assert [(d.chat_id, d.chat_type, d.chat_language) for d in due] == [(-1005, "supergroup", "tr")]
    old = await storage.chat(-5)
    assert old is not None and not old.active


async def test_a_chat_starts_once_by_start_or_by_its_own_choice(
    storage: Storage, clock: FakeClock
) -> None:
    # A default (a group the bot was added to) does not start the chat: its first /start decides.
    await chat(storage, clock, -5, CATS)
    fresh = await storage.chat(-5)
    assert fresh is not None and fresh.started_at is None
    assert await storage.start_chat(-5, ["regulation"], clock.now()) == {"regulation"}
    started = await storage.chat(-5)
    assert started is not None and started.started_at == clock.now()
    clock.advance(60)
    assert await storage.start_chat(-5, CATS, clock.now()) is None
    assert await storage.subscriptions(-5) == {"regulation"}

    # A chat's own choice, even of nothing, starts it.
    await chat(storage, clock, 1, ())
    await storage.change_subscriptions(1, remove=["regulation"], chosen_at=clock.now())
    assert await storage.start_chat(1, CATS, clock.now()) is None
    assert await storage.subscriptions(1) == set()
    await chat(storage, clock, 2, ())
    await storage.set_subscriptions(2, ["ev-market"], chosen_at=clock.now())
    assert await storage.start_chat(2, CATS, clock.now()) is None
    assert await storage.subscriptions(2) == {"ev-market"}


async def test_a_migrated_group_stays_started_when_the_supergroup_spoke_first(
    storage: Storage, clock: FakeClock
) -> None:
    await chat(storage, clock, -5, ())
    await storage.start_chat(-5, ["regulation"], clock.now())
    # A message of the new supergroup was handled before the migration notice.
    await chat(storage, clock, -1005, ())
    await storage.migrate_chat(-5, -1005, clock.now())
    assert await storage.start_chat(-1005, CATS, clock.now()) is None
    assert await storage.subscriptions(-1005) == {"regulation"}


async def test_a_claimed_feed_is_not_claimed_again_until_polled_or_lease_ends(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed("a"), feed("b")])
    first = await storage.claim_due_feeds(clock.now(), lease=timedelta(seconds=60))
    assert [f.id for f in first] == ["a", "b"]
    assert await storage.claim_due_feeds(clock.now()) == []
    # Recording the poll of "a" releases it; "b" stays leased (its poller died).
    await storage.record_fetch(
        "a",
        FetchRecord(status="ok", success=True, duration=0.1, next_poll_at=clock.now()),
        clock.now(),
    )
    assert [f.id for f in await storage.claim_due_feeds(clock.now())] == ["a"]
    clock.advance(61)
    assert [f.id for f in await storage.claim_due_feeds(clock.now())] == ["b"]


async def test_retention_keeps_tombstones_so_old_entries_stay_seen(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, ("regulation",))
    await store(
        storage,
        "f1",
        new=[item("old", ("regulation",))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    clock.advance(40 * 86400)
    await store(
        storage,
        "f1",
        new=[item("fresh", ("regulation",))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    # "old" was delivered; "fresh" still has its alert pending.
    due = await storage.due_deliveries(clock.now())
    for d in due:
        if d.item is not None and d.item.title == "Story old":
            await storage.mark_sent_many([d.id], 1, clock.now())
    items, tombstones = await storage.prune(
        items_before=clock.now() - timedelta(days=30),
        tombstones_before=clock.now() - timedelta(days=365),
    )
    assert (items, tombstones) == (1, 0)
    assert [i.title for i in await storage.latest_items()] == ["Story fresh"]
    assert await storage.seen_identities("f1", ["old", "fresh"]) == {"old", "fresh"}
    clock.advance(400 * 86400)
    await storage.prune(
        items_before=clock.now() - timedelta(days=3650),
        tombstones_before=clock.now() - timedelta(days=365),
    )
    assert await storage.seen_identities("f1", ["old", "fresh"]) == {"fresh"}


async def test_nul_characters_are_dropped_not_fatal(storage: Storage, clock: FakeClock) -> None:
    """PostgreSQL refuses NUL in text; one such entry used to fail its whole batch."""
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, ("regulation",))
    await storage.add_keyword(1, "şarj\x00")
    batch = await store(
        storage,
        "f1",
        new=[
            item(
                "nul\x00entry",
                ("regulation",),
                title="EPDK\x00 şarj",
                summary="yeni\x00 kurallar",
                link="https://example.org/a\x00b",
                matches={"regulation": ["şarj\x00"]},
            ),
            item("plain", ("regulation",)),
        ],
        again=[],
        seen=["seen\x00too"],
        record=FetchRecord(
            status="parse_error",
            success=False,
            duration=0.1,
            next_poll_at=clock.now() + timedelta(seconds=300),
            error="bad\x00 byte",
        ),
        now=clock.now(),
    )
    assert len(batch.item_ids) == 2 and batch.outbox_rows == 2
    stored = {i.title: i for i in await storage.latest_items()}
    assert set(stored) == {"EPDK şarj", "Story plain"}
    assert stored["EPDK şarj"].summary == "yeni kurallar"
    assert stored["EPDK şarj"].link == "https://example.org/ab"
    # Asked in the feed's own spelling, the entries are known: not new again next poll.
    assert await storage.seen_identities("f1", ["nul\x00entry", "seen\x00too", "x"]) == {
        "nul\x00entry",
        "seen\x00too",
    }
    assert await storage.keywords(1) == ["şarj"]
    row = await storage.feed("f1")
    assert row is not None and row.last_error == "bad byte"
    await storage.enqueue_broadcast("duyuru\x00", clock.now())


async def test_a_crowd_of_writers_on_sqlite_all_succeed_without_waiting_on_locks(
    tmp_path: Path,
) -> None:
    # No busy timeout at all: two writers colliding inside SQLite would fail at
    # once with "database is locked"; the process must queue them itself.
    storage = await Storage.open(f"sqlite:///{tmp_path}/crowd.sqlite3")

    def no_busy_wait(dbapi_conn: Any, _record: object) -> None:
        dbapi_conn.cursor().execute("PRAGMA busy_timeout=0")

    event.listen(storage.engine.sync_engine, "connect", no_busy_wait)
    await storage.engine.dispose()  # new connections get the listener
    clock = FakeClock()
    try:
        await asyncio.gather(
            *(chat(storage, clock, 1000 + n, ("regulation", "municipality")) for n in range(300))
        )
        subscribed = await asyncio.gather(*(storage.subscriptions(1000 + n) for n in range(300)))
        assert all(set(s) == {"regulation", "municipality"} for s in subscribed)
    finally:
        await storage.close()
