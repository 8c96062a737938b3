"""The leader lease on PostgreSQL: takeover after expiry, fencing, release; the worker's fence.

Expiry is the database's business (`now()`); these tests move it by writing
the lease row, and move the replica's own clock with a fake monotonic one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.delivery.alerts import AlertRenderer
from bot.delivery.render import RenderedMessage
from bot.delivery.worker import DeliveryWorker
from bot.models import CatalogFeed, FetchRecord
from bot.service import Service, ServiceOptions
from bot.settings import Settings
from bot.storage import Storage
from bot.storage.leader import SAFETY_MARGIN, LeaderLease
from rules import load_rules
from tests.support import FakeClock, database, store, story

EMPTY_CATALOG = Path(__file__).with_name("empty_catalog.yaml")


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Storage]:
    async with database("postgresql", str(tmp_path)) as target:
        storage = await Storage.open(target.url, schema=target.schema)
        try:
            yield storage
        finally:
            await storage.close()


async def expire(storage: Storage) -> None:
    """Let the lease run out on the database's clock."""
    async with storage.engine.begin() as conn:
        await conn.execute(text("UPDATE leader_lease SET expires_at = now() - interval '1 s'"))


async def test_one_leader_at_a_time_and_a_standby_takes_over_an_expired_lease(
    pg: Storage,
) -> None:
    ticks = Ticks()
    first = LeaderLease(pg.engine, ttl=10, holder="first", monotonic=ticks)
    second = LeaderLease(pg.engine, ttl=10, holder="second", monotonic=ticks)
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert first.can_act() and not second.can_act()
    # The leader renews: still nobody else.
    assert await first.renew()
    assert not await second.try_acquire()

    # The leader freezes: its lease expires in the database, the standby takes it.
    await expire(pg)
    assert await second.try_acquire()
    assert second.term == 2 and second.can_act()
    # The old leader wakes: its renewal is refused and it knows it is not the leader.
    assert not await first.renew()
    assert not first.held and not first.can_act()
    assert await second.renew()


async def test_a_woken_leader_may_not_act_before_it_has_asked_the_database(pg: Storage) -> None:
    ticks = Ticks()
    lease = LeaderLease(pg.engine, ttl=10, holder="leader", monotonic=ticks)
    assert await lease.try_acquire()
    ticks.now += 10 - SAFETY_MARGIN - 0.01
    assert lease.can_act()
    # Frozen past its lease: locally it stops acting at once, without a round trip.
    ticks.now += 0.02
    assert not lease.can_act()
    # Nobody took over meanwhile: renewing its own term brings it back.
    assert await lease.renew()
    assert lease.can_act()


async def test_a_lease_free_again_after_a_takeover_is_not_renewed_by_the_old_leader(
    pg: Storage,
) -> None:
    ticks = Ticks()
    first = LeaderLease(pg.engine, ttl=10, holder="first", monotonic=ticks)
    second = LeaderLease(pg.engine, ttl=10, holder="second", monotonic=ticks)
    assert await first.try_acquire()
    await expire(pg)
    assert await second.try_acquire()
    await second.release()
    # The term moved on while `first` was away: renewing is refused, acquiring works.
    assert not await first.renew()
    assert await first.try_acquire()
    assert first.term == 3


async def test_release_hands_over_at_once(pg: Storage) -> None:
    first = LeaderLease(pg.engine, ttl=60, holder="first")
    second = LeaderLease(pg.engine, ttl=60, holder="second")
    assert await first.try_acquire()
    await first.release()
    assert not first.held
    assert await second.try_acquire()


async def test_sqlite_is_always_its_own_leader(tmp_path: Path) -> None:
    storage = await Storage.open(f"sqlite:///{tmp_path}/x.sqlite3")
    try:
        lease = LeaderLease(storage.engine)
        assert await lease.try_acquire() and lease.can_act() and await lease.renew()
    finally:
        await storage.close()


class Recorder:
    def __init__(self) -> None:
        self.sent: list[int] = []

    async def send(self, chat_id: int, message: RenderedMessage) -> int | None:
        self.sent.append(chat_id)
        return len(self.sent)


async def test_the_delivery_worker_sends_nothing_once_its_fence_says_no(tmp_path: Path) -> None:
    clock = FakeClock()
    storage = await Storage.open(f"sqlite:///{tmp_path}/x.sqlite3")
    try:
        await storage.sync_catalog([CatalogFeed("f", "F", "http://127.0.0.1/", "tr", None, True)])
        for chat_id in (1, 2, 3):
            await storage.ensure_chat(
                chat_id, type="private", title=None, language="tr", now=clock.now()
            )
            await storage.set_subscriptions(chat_id, ["regulation"])
        record = FetchRecord(status="ok", success=True, duration=0.0, next_poll_at=clock.now())
        await store(storage, "f", new=[story("a")], record=record, now=clock.now())
        pending, _ = await storage.outbox_pending_stats()
        assert pending == 3
        sender = Recorder()
        rules = load_rules()
        worker = DeliveryWorker(
            storage,
            sender,
            AlertRenderer(lambda: rules, ZoneInfo("Europe/Istanbul")),
            clock,
            may_send=lambda: False,  # the lease ran out while the worker had rows in hand
        )
        # The fence stops the worker by itself, without a stop event.
        await asyncio.wait_for(worker.run(asyncio.Event()), timeout=10)
        assert sender.sent == []
        assert (await storage.outbox_pending_stats())[0] == 3  # left for the new leader
    finally:
        await storage.close()


async def test_a_leader_that_stalled_but_kept_its_lease_resumes_delivery(tmp_path: Path) -> None:
    """A stall longer than the lease fences the worker off; if nobody took over, it resumes."""
    async with database("postgresql", str(tmp_path), own_database=True) as target:
        out = io.StringIO()
        service = Service(
            Settings(database_url=target.url, feeds_file=EMPTY_CATALOG),
            options=ServiceOptions(console=True, console_out=out, leader_seconds=3600),
            clock=FakeClock(),
        )
        await service.start()
        try:
            lease, storage = service.leader_lock, service.storage
            assert lease is not None and storage is not None and service.leading
            ticks = Ticks()
            lease.monotonic = ticks
            assert await lease.renew()
            ticks.now += 60  # the event loop was stuck for a minute
            await storage.enqueue_notice([0], "after the stall", service.clock.now())
            service._wake_delivery()
            await asyncio.wait_for(asyncio.gather(*service._tasks), timeout=10)
            assert "after the stall" not in out.getvalue()
            # The heartbeat finds the lease still ours (same term): delivery goes on.
            await service.check_leadership()
            assert service.worker is not None
            await service.worker.wait_until(lambda: "after the stall" in out.getvalue())
        finally:
            await service.stop()


async def test_a_session_frozen_inside_a_transaction_does_not_hold_its_locks(
    tmp_path: Path,
) -> None:
    # SIGSTOP mid-transaction: the kernel still answers keepalives, so only the
    # server can end the session. Until it does, its row locks block the new
    # leader's writes to the same outbox rows.
    async with database("postgresql", str(tmp_path)) as db:
        frozen = await Storage.open(db.url, schema=db.schema)
        leader = await Storage.open(db.url, schema=db.schema, migrate=False)
        try:
            await frozen.ensure_chat(
                1, type="private", title=None, language="en", now=FakeClock().now()
            )
            conn = await frozen.engine.connect()
            await conn.begin()
            await conn.execute(text("UPDATE chats SET paused = true WHERE id = 1"))
            # ... and the process stops here, its transaction open.
            async with asyncio.timeout(30):
                async with leader.engine.begin() as other:
                    await other.execute(text("UPDATE chats SET paused = false WHERE id = 1"))
            assert not (await leader.chat(1)).paused  # type: ignore[union-attr]
            with contextlib.suppress(Exception):  # the server has ended that session
                await conn.close()
        finally:
            await frozen.close()
            await leader.close()
