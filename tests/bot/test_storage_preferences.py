"""Chat preferences in storage (SQLite and PostgreSQL): keywords, holding, stats, broadcast."""

from __future__ import annotations

from bot.delivery.times import chat_prefs, release_time
from bot.models import AlertReason, OutboxKind
from bot.storage import Storage
from tests.bot.test_storage import chat, feed, item, ok
from tests.support import FakeClock, store


async def test_keywords_reach_outside_categories_and_exclusions_suppress(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, ("competition",))
    await chat(storage, clock, 2, ("regulation",))
    assert await storage.add_keyword(1, "Story")
    assert not await storage.add_keyword(1, "STORY")  # same term, case-blind
    assert await storage.add_keyword(2, "-story")
    await store(
        storage,
        "f1",
        new=[item("a", ("regulation",))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    [row] = await storage.due_deliveries(clock.now())
    assert row.chat_id == 1
    assert row.reason == AlertReason(categories=(), keyword="Story")
    assert await storage.remove_keyword(1, "story") == "Story"
    assert await storage.keywords(1) == []


async def test_quiet_chats_get_held_rows_released_on_demand(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, ("regulation",))
    await chat(storage, clock, 2, ("regulation",))
    # 09:00 UTC is 12:00 in Istanbul.
    await storage.update_chat(1, clock.now(), quiet_start="11:00", quiet_end="14:00")
    await store(
        storage,
        "f1",
        new=[item("a", ("regulation",))],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    [now_row] = await storage.due_deliveries(clock.now())
    assert now_row.chat_id == 2 and not now_row.reason.held
    held = await storage.chat(1)
    assert held is not None
    release = release_time(chat_prefs(held), clock.now())
    assert await storage.next_delivery_time() == clock.now()
    assert (release - clock.now()).total_seconds() == 2 * 3600
    await storage.mark_sent_many([now_row.id], 1, clock.now())
    assert await storage.next_delivery_time() == release
    assert await storage.release_held(1, clock.now()) == 1
    [row] = await storage.due_deliveries(clock.now())
    assert row.chat_id == 1 and row.reason.held


async def test_stats_and_broadcast(storage: Storage, clock: FakeClock) -> None:
    await storage.sync_catalog([feed()])
    await chat(storage, clock, 1, ("regulation", "ev-market"))
    await chat(storage, clock, 2, ("regulation",))
    await storage.update_chat(2, clock.now(), paused=True)
    assert await storage.enqueue_broadcast("hello", clock.now()) == 1
    stats = await storage.chat_stats(clock.now())
    assert (stats.chats, stats.receiving, stats.queue) == (2, 1, 1)
    assert stats.per_category == {"regulation": 1, "ev-market": 1}
    [row] = await storage.due_deliveries(clock.now())
    assert (row.kind, row.item, row.text) == (OutboxKind.BROADCAST, None, "hello")
