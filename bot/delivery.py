"""The delivery worker: claims due outbox rows, sends them paced, records each outcome.

What to do after a failure is decided by `failure_action`, a pure function of
the failure's kind and the row's attempts; the worker only applies it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from aiolimiter import AsyncLimiter

from bot.clock import Clock
from bot.render import RenderedMessage
from bot.storage import Delivery, Storage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0
BACKOFF_CAP = 15 * 60.0


class FailureKind(StrEnum):
    """How a send failed, as far as what to do next is concerned."""

    BLOCKED = "blocked"  # the user blocked the bot, was deactivated, or kicked it
    CHAT_GONE = "chat_gone"  # 400 chat not found
    FLOOD = "flood"  # 429 with retry_after
    TRANSIENT = "transient"  # network, timeout, 5xx
    FORBIDDEN_OTHER = "forbidden_other"  # a 403 that may pass
    BAD_MARKUP = "bad_markup"  # can't parse entities
    TOO_LONG = "too_long"
    MIGRATED = "migrated"
    PERMANENT = "permanent"  # any other 400


class SendFailure(Exception):
    """A send that did not go through, classified."""

    def __init__(
        self,
        kind: FailureKind,
        description: str,
        *,
        retry_after: float | None = None,
        migrate_to: int | None = None,
    ) -> None:
        super().__init__(description)
        self.kind = kind
        self.description = description
        self.retry_after = retry_after
        self.migrate_to = migrate_to


class Sender(Protocol):
    """Something that delivers a rendered message to a chat and returns its message id."""

    async def send(self, chat_id: int, message: RenderedMessage) -> int | None:
        """Send or raise SendFailure."""
        ...


@dataclass(frozen=True)
class Retry:
    """Try the row again at `at`."""

    at: datetime


@dataclass(frozen=True)
class Dead:
    """Give up on the row."""


@dataclass(frozen=True)
class Deactivate:
    """The chat is gone for good: mark it inactive and cancel its rows."""


@dataclass(frozen=True)
class ResendPlain:
    """Send the same alert again at once as plain text."""


Action = Retry | Dead | Deactivate | ResendPlain


def backoff(attempts: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter, capped (seconds)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(0, attempts))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def failure_action(
    failure: SendFailure, *, attempts: int, now: datetime, rng: random.Random
) -> Action:
    """What to do with a row whose send failed, given how often it was tried before."""
    kind = failure.kind
    if kind in {FailureKind.BLOCKED, FailureKind.CHAT_GONE}:
        return Deactivate()
    if kind is FailureKind.BAD_MARKUP:
        return ResendPlain()
    if kind is FailureKind.FLOOD:
        # A flood wait is Telegram telling us when, not a failure of the row.
        return Retry(now + timedelta(seconds=max(1.0, failure.retry_after or 1.0)))
    if kind is FailureKind.PERMANENT or attempts + 1 >= MAX_ATTEMPTS:
        return Dead()
    if kind is FailureKind.FORBIDDEN_OTHER and attempts + 1 >= 3:
        return Dead()
    return Retry(now + timedelta(seconds=backoff(attempts, rng)))


Renderer = Callable[[Delivery], RenderedMessage]


class DeliveryWorker:
    """Sends due outbox rows, paced by a global rate limit."""

    def __init__(
        self,
        storage: Storage,
        sender: Sender,
        render: Renderer,
        clock: Clock,
        *,
        rate_per_second: float = 30.0,
        batch_size: int = 100,
        rng: random.Random | None = None,
    ) -> None:
        self.storage = storage
        self.sender = sender
        self.render = render
        self.clock = clock
        self.batch_size = batch_size
        self.rng = rng or random.Random()
        self._limiter = AsyncLimiter(max(1.0, rate_per_second), 1.0)
        self._wake = asyncio.Event()
        self.sent = 0
        self.failed = 0

    def wake(self) -> None:
        """New rows were written: look at the outbox now."""
        self._wake.set()

    async def run_once(self) -> int:
        """Send every row that is due now; returns how many were sent."""
        sent_before = self.sent
        while True:
            batch = await self.storage.due_deliveries(self.clock.now(), self.batch_size)
            if not batch:
                break
            for delivery in batch:
                await self._deliver(delivery)
            if len(batch) < self.batch_size:
                break
        return self.sent - sent_before

    async def run(self, stop: asyncio.Event, *, idle_wait: float = 5.0) -> None:
        """Deliver until `stop` is set, sleeping until woken or the next row is due."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("delivery pass failed; retrying shortly")
            wait = idle_wait
            next_due = await self._next_due()
            if next_due is not None:
                wait = max(0.05, min(idle_wait, (next_due - self.clock.now()).total_seconds()))
            waker = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waker, stopper}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            waker.cancel()
            stopper.cancel()

    async def _next_due(self) -> datetime | None:
        try:
            return await self.storage.next_delivery_time()
        except Exception:
            log.exception("could not read the outbox")
            return None

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            message = self.render(delivery)
        except Exception as error:
            log.exception("could not render outbox row %s", delivery.id)
            await self.storage.mark_dead(delivery.id, f"render failed: {error}")
            self.failed += 1
            return
        await self._limiter.acquire()
        try:
            message_id = await self.sender.send(delivery.chat_id, message)
        except SendFailure as failure:
            await self._handle_failure(delivery, message, failure)
            return
        await self.storage.mark_sent(delivery.id, message_id, self.clock.now())
        self.sent += 1

    async def _handle_failure(
        self, delivery: Delivery, message: RenderedMessage, failure: SendFailure
    ) -> None:
        now = self.clock.now()
        action = failure_action(failure, attempts=delivery.attempts, now=now, rng=self.rng)
        log.warning(
            "send to chat %s failed (%s: %s) -> %s",
            delivery.chat_id,
            failure.kind,
            failure.description,
            type(action).__name__,
        )
        self.failed += 1
        match action:
            case Deactivate():
                await self.storage.deactivate_chat(delivery.chat_id, failure.description, now)
            case ResendPlain():
                plain = RenderedMessage(html="", plain=message.plain, buttons=message.buttons)
                try:
                    message_id = await self.sender.send(delivery.chat_id, plain)
                except SendFailure as again:
                    await self.storage.mark_retry(
                        delivery.id,
                        again.description,
                        now + timedelta(seconds=backoff(delivery.attempts, self.rng)),
                    )
                    return
                await self.storage.mark_sent(delivery.id, message_id, self.clock.now())
                self.sent += 1
            case Retry(at=at):
                if failure.kind is FailureKind.FLOOD:
                    await self.storage.postpone_chat(delivery.chat_id, at)
                await self.storage.mark_retry(delivery.id, failure.description, at)
            case Dead():
                await self.storage.mark_dead(delivery.id, failure.description)
