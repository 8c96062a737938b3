"""The delivery worker: takes due outbox rows, sends them paced, records each outcome.

What to do after a failure is decided by `failure_action` (bot.delivery.failures),
a pure function of the failure's kind and the row's attempts; the worker only
applies it. Which forum topic a message goes to is bot.delivery.threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.delivery.failures import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    Action,
    Deactivate,
    Dead,
    FailureKind,
    Migrate,
    ResendPlain,
    Retry,
    SendFailure,
    Shorten,
    backoff,
    failure_action,
)
from bot.delivery.pacing import Pacer, SendGate
from bot.delivery.planner import recheck
from bot.delivery.render import RenderedMessage
from bot.delivery.threads import forget_gone_topic, same_thread, thread_for
from bot.models import Delivery
from bot.ops.metrics import Metrics
from bot.storage import Storage

# The failure decisions moved to bot.delivery.failures; importers of this module keep them.
__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "MAX_ATTEMPTS",
    "Action",
    "Deactivate",
    "Dead",
    "DeliveryWorker",
    "FailureKind",
    "Migrate",
    "ResendPlain",
    "Retry",
    "SendFailure",
    "Sender",
    "Shorten",
    "backoff",
    "failure_action",
]

log = logging.getLogger(__name__)
# Failures of a message to a forum topic that the same message survives in General.
_TOPIC_FAILURES = frozenset({FailureKind.THREAD_GONE, FailureKind.THREAD_CLOSED})


class Sender(Protocol):
    """Something that delivers a rendered message to a chat and returns its message id."""

    async def send(self, chat_id: int, message: RenderedMessage) -> int | None:
        """Send or raise SendFailure."""
        ...


# More than this many stories due at once for one chat go out as one bundled message.
BUNDLE_OVER = 3
COALESCE_OVER = BUNDLE_OVER  # the older name
# Sends that may be in flight at once: enough to fill 30/s at a 300 ms round trip.
MAX_IN_FLIGHT = 16
# How often recording an outcome is tried before the error is left to the caller.
WRITE_TRIES = 4


class Renderer(Protocol):
    """Turns claimed rows into messages for their chat."""

    def one(self, delivery: Delivery, *, compact: bool = False) -> RenderedMessage:
        """One row's message; `compact` drops the optional parts (after "message is too long")."""
        ...

    def many(self, deliveries: Sequence[Delivery]) -> list[RenderedMessage]:
        """Several rows of one chat combined (a burst or a digest), split at Telegram's limit."""
        ...


def should_combine(rows: Sequence[Delivery], bundle_over: int = BUNDLE_OVER) -> bool:
    """A burst of more than `bundle_over` alerts, or held digest rows, goes out as one message."""
    return len(rows) > bundle_over or any(r.reason.held for r in rows)


class _Stopping(Exception):
    """The worker stops before this send began: the rows stay pending for the next run."""


class DeliveryWorker:
    """Sends due outbox rows, several chats at once, paced within Telegram's limits.

    Up to `max_in_flight` chats are served at the same time, each by one task
    that sends its chat's next message (one alert, or a bundle) and records it;
    a chat never has two messages in flight, so its order holds. Every send
    takes its slot from a `SendGate` shared with the bot's replies, which go
    first. A crash (kill -9) between a send and its bookkeeping can repeat at
    most the `max_in_flight` messages then in flight, one per chat; a clean
    stop lets those finish and records them, and starts no new one.
    """

    def __init__(
        self,
        storage: Storage,
        sender: Sender,
        renderer: Renderer,
        clock: Clock,
        *,
        rate_per_second: float = 30.0,
        max_chats: int = 200,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
        may_send: Callable[[], bool] | None = None,
        gate: SendGate | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        bundle_over: int = BUNDLE_OVER,
        paid_broadcast: bool = False,
    ) -> None:
        self.storage = storage
        # Fencing (bot.storage.leader): asked right before every send; False means
        # this replica's leadership ran out, so it stops without sending.
        self.may_send = may_send
        self.sender = sender
        self.renderer = renderer
        self.clock = clock
        self.max_chats = max_chats
        self.rng = rng or random.Random()
        self.gate = gate or SendGate(Pacer(rate_per_second=rate_per_second, clock=monotonic))
        self.pacer = self.gate.pacer
        self.max_in_flight = max(1, max_in_flight)
        self.bundle_over = bundle_over
        self.paid_broadcast = paid_broadcast
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._active: set[int] = set()  # chats a task is serving now
        self._tasks: set[asyncio.Task[None]] = set()
        self._room = asyncio.Semaphore(self.max_in_flight)
        # The chats' tasks record outcomes one at a time: SQLite has one writer, and
        # a pile of waiting writers outlasted its busy timeout ("database is locked").
        self._writes = asyncio.Lock()
        self.sent = 0
        self.failed = 0
        self.dead = 0
        self.skipped = 0
        self.most_in_flight = 0
        # Notified whenever rows reach an outcome, so callers can wait for one.
        self._progress = asyncio.Condition()

    def wake(self) -> None:
        """New rows were written: look at the outbox now."""
        self._wake.set()

    async def run_once(self) -> int:
        """Send what is due now to every chat that may receive; returns messages sent."""
        sent_before = self.sent
        try:
            await self._send_due()
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._notify()
        return self.sent - sent_before

    async def _send_due(self) -> None:
        while not self._stop.is_set():
            # Wait for room first, so the batch read next is as fresh as it can be.
            await self._room.acquire()
            self._room.release()
            exclude = self.pacer.busy_chats() | self._active | self.gate.sending()
            batch = await self.storage.due_deliveries(
                self.clock.now(), max_chats=self.max_chats, exclude_chats=exclude
            )
            if not batch:
                break
            by_chat: dict[int, list[Delivery]] = {}
            for row in batch:
                by_chat.setdefault(row.chat_id, []).append(row)
            for chat_id, rows in by_chat.items():
                await self._room.acquire()
                if self._stop.is_set():
                    self._room.release()
                    return
                self._active.add(chat_id)
                task = asyncio.create_task(self._serve_chat(chat_id, rows))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                self.most_in_flight = max(self.most_in_flight, len(self._active))

    async def _serve_chat(self, chat_id: int, rows: list[Delivery]) -> None:
        try:
            await self._deliver_chat(rows)
        except Exception:
            log.exception("delivery to chat %s failed; its rows are tried again later", chat_id)
        finally:
            self._active.discard(chat_id)
            self._room.release()
            self.wake()

    async def run(self, stop: asyncio.Event, *, idle_wait: float = 5.0) -> None:
        """Deliver until `stop` is set; sleeps until woken, a row is due, or a chat is free."""
        stop_watch = asyncio.create_task(self._follow(stop))
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    await self.run_once()
                except Exception:
                    log.exception("delivery pass failed; retrying shortly")
                waits = [idle_wait]
                next_due = await self._next_due()
                if next_due is not None:
                    waits.append((next_due - self.clock.now()).total_seconds())
                chat_free = self.pacer.next_chat_ready()
                if chat_free is not None:
                    waits.append(chat_free)
                wait = max(0.01, min(waits))
                waker = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(self._stop.wait())
                await asyncio.wait(
                    {waker, stopper}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                waker.cancel()
                stopper.cancel()
        finally:
            stop_watch.cancel()

    async def _follow(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stop.set()

    async def _next_due(self) -> datetime | None:
        try:
            return await self.storage.next_delivery_time()
        except Exception:
            log.exception("could not read the outbox")
            return None

    async def _write(self, action: Callable[..., Awaitable[object]], *args: object) -> None:
        """Record an outcome, one write at a time; a failed write is tried again.

        A message that went out but was not recorded would go out again, so a
        passing database error (a lock held too long) is worth a few more tries.
        """
        async with self._writes:
            for attempt in range(WRITE_TRIES):
                try:
                    await action(*args)
                    return
                except Exception:
                    if attempt + 1 == WRITE_TRIES:
                        raise
                    log.warning("recording a delivery failed; trying again", exc_info=True)
                    await asyncio.sleep(0.5 * (attempt + 1))

    async def _send(
        self,
        chat_id: int,
        chat_type: str,
        message: RenderedMessage,
        *,
        first: bool,
        spaced: bool = True,
    ) -> int | None:
        """Send in a slot of the shared budget; a stop abandons a unit before its first send."""
        acquire = asyncio.ensure_future(
            self.gate.acquire(chat_id, chat_type, paid=self.paid_broadcast, spaced=spaced)
        )
        if first:
            stopper = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({acquire, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if self._stop.is_set():
                acquire.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await acquire
                if acquire.cancelled():
                    raise _Stopping
                self.gate.release(chat_id)
                raise _Stopping
        await acquire
        try:
            if not self._allowed():
                raise _Stopping
            return await self.sender.send(chat_id, message)
        finally:
            self.gate.release(chat_id)

    async def _deliver_chat(self, rows: list[Delivery]) -> None:
        rows = await self._still_wanted(rows)
        if not rows:
            return
        rows = same_thread(rows)  # the other topics' rows wait for the next pass
        combine = should_combine(rows, self.bundle_over)
        chosen = rows if combine else rows[:1]
        try:
            messages = self.renderer.many(chosen) if combine else [self.renderer.one(chosen[0])]
        except Exception as error:
            log.exception("could not render outbox rows %s", [r.id for r in chosen])
            for row in chosen:
                await self._write(self.storage.mark_dead, row.id, f"render failed: {error}")
            self._dead(len(chosen), "render")
            return
        first_id: int | None = None
        chat_id, chat_type = chosen[0].chat_id, chosen[0].chat_type
        thread = thread_for(chosen[0])
        for number, message in enumerate(messages):
            message = replace(message, thread_id=thread)
            try:
                try:
                    message_id = await self._send(chat_id, chat_type, message, first=number == 0)
                except SendFailure as failure:
                    if thread is None or failure.kind not in _TOPIC_FAILURES:
                        raise
                    if failure.kind is FailureKind.THREAD_GONE:
                        # The topic was deleted: General from now on, and the admins are told.
                        await self._write(
                            forget_gone_topic, self.storage, chosen[0], thread, self.clock.now()
                        )
                    else:
                        # Closed: General for this message; the topic is kept for when it reopens.
                        log.info("chat %s: topic %s is closed; sent to General", chat_id, thread)
                    thread = None
                    message = replace(message, thread_id=None)
                    message_id = await self._send(
                        chat_id, chat_type, message, first=False, spaced=False
                    )
            except _Stopping:
                return
            except SendFailure as failure:
                await self._handle_failure(chosen, message, failure)
                return
            first_id = first_id if first_id is not None else message_id
        ids = [r.id for r in chosen]
        await self._write(self.storage.mark_sent_many, ids, first_id, self.clock.now())
        self._sent(chosen)

    def _allowed(self) -> bool:
        if self.may_send is None or self.may_send():
            return True
        log.warning("not the leader any more: delivery stops without sending")
        self._stop.set()
        return False

    async def _still_wanted(self, rows: list[Delivery]) -> list[Delivery]:
        """Rows the planner still sends now; the others end as skipped, with why."""
        keep: list[Delivery] = []
        skipped: dict[str, list[int]] = {}
        for row in rows:
            why = recheck(row)
            if why is None:
                keep.append(row)
            else:
                skipped.setdefault(why, []).append(row.id)
        for why, ids in skipped.items():
            log.info("chat %s: %d queued rows skipped (%s)", rows[0].chat_id, len(ids), why)
            await self._write(self.storage.mark_skipped, ids, why)
            self.skipped += len(ids)
        if skipped:
            await self._notify()
        return keep

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until `predicate()` holds, re-checked whenever rows reach an outcome."""
        async with asyncio.timeout(within), self._progress:
            await self._progress.wait_for(predicate)

    def _sent(self, rows: Sequence[Delivery]) -> None:
        self.sent += 1
        if self.metrics is None:
            return
        now = self.clock.now()
        for row in rows:
            seen = row.item.first_seen_at if row.item is not None else None
            self.metrics.alert_sent((now - seen).total_seconds() if seen else None)

    def _dead(self, count: int, kind: str | None) -> None:
        self.dead += count
        if self.metrics is None:
            return
        for _ in range(count):
            if kind is not None:
                self.metrics.alert_failed(kind)
            self.metrics.alert_dead()

    async def _handle_failure(
        self, rows: list[Delivery], message: RenderedMessage, failure: SendFailure
    ) -> None:
        now = self.clock.now()
        chat_id = rows[0].chat_id
        attempts = max(r.attempts for r in rows)
        action = failure_action(failure, attempts=attempts, now=now, rng=self.rng)
        log.warning(
            "send to chat %s failed (%s: %s) -> %s",
            chat_id,
            failure.kind,
            failure.description,
            type(action).__name__,
        )
        self.failed += 1
        if self.metrics is not None:
            self.metrics.alert_failed(failure.kind.value)
            if failure.kind is FailureKind.FLOOD:
                self.metrics.flood_wait()
        await self._apply(rows, message, failure, action, attempts=attempts)

    async def _apply(
        self,
        rows: list[Delivery],
        message: RenderedMessage,
        failure: SendFailure,
        action: Action,
        *,
        attempts: int,
    ) -> None:
        now = self.clock.now()
        chat_id = rows[0].chat_id
        ids = [r.id for r in rows]
        match action:
            case Deactivate():
                await self._write(self.storage.deactivate_chat, chat_id, failure.description, now)
            case Migrate(to=new_id):
                await self._write(self.storage.migrate_chat, chat_id, new_id, now)
            case ResendPlain() | Shorten():
                if isinstance(action, Shorten) and len(rows) == 1:
                    compact = self.renderer.one(rows[0], compact=True)
                    retry = replace(compact, thread_id=message.thread_id)
                else:
                    retry = replace(message, html="", link_preview=False)
                if not self._allowed():
                    return
                try:
                    # Telegram refused the first try, so the chat's count did not move.
                    message_id = await self._send(
                        chat_id, rows[0].chat_type, retry, first=False, spaced=False
                    )
                except SendFailure as again:
                    # The fallback was the last resort for this kind of failure: failing
                    # the same way again is final (a too-long broadcast was retried for
                    # ever). Anything else (flood, network) is handled as usual.
                    follow = failure_action(again, attempts=attempts, now=now, rng=self.rng)
                    if isinstance(follow, ResendPlain | Shorten):
                        follow = Dead()
                    log.warning(
                        "fallback send to chat %s failed too (%s: %s) -> %s",
                        chat_id,
                        again.kind,
                        again.description,
                        type(follow).__name__,
                    )
                    if self.metrics is not None:
                        self.metrics.alert_failed(again.kind.value)
                    await self._apply(rows, retry, again, follow, attempts=attempts)
                    return
                await self._write(self.storage.mark_sent_many, ids, message_id, self.clock.now())
                self._sent(rows)
            case Retry(at=at):
                if failure.kind is FailureKind.FLOOD:
                    scope = self.pacer.flood(chat_id, (at - now).total_seconds())
                    log.warning("flood wait %s: %ss", "global" if scope else "chat", at - now)
                for row_id in ids:
                    await self._write(self.storage.mark_retry, row_id, failure.description, at)
            case Dead():
                for row_id in ids:
                    await self._write(self.storage.mark_dead, row_id, failure.description)
                self._dead(len(ids), None)
