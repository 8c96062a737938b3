"""How a failed send is classified, and what delivery does next: a pure decision.

`failure_action` is a function of the failure's kind and how often the row was
tried; the worker (bot.delivery.worker) only applies what it returns. Kept apart
from the worker so the decision can be read (and tested) on its own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

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
    THREAD_GONE = "thread_gone"  # a forum topic that was deleted (bot.delivery.threads)
    THREAD_CLOSED = "thread_closed"  # a forum topic closed to the bot, for now
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


@dataclass(frozen=True)
class Shorten:
    """Send the alert again at once without its summary."""


@dataclass(frozen=True)
class Migrate:
    """The group became a supergroup: move the chat and send there."""

    to: int


Action = Retry | Dead | Deactivate | ResendPlain | Shorten | Migrate


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
    if kind is FailureKind.TOO_LONG:
        return Shorten()
    if kind is FailureKind.MIGRATED and failure.migrate_to is not None:
        return Migrate(failure.migrate_to)
    if kind is FailureKind.FLOOD:
        # A flood wait is Telegram telling us when, not a failure of the row.
        return Retry(now + timedelta(seconds=max(1.0, failure.retry_after or 1.0)))
    if kind is FailureKind.PERMANENT or attempts + 1 >= MAX_ATTEMPTS:
        return Dead()
    if kind is FailureKind.FORBIDDEN_OTHER and attempts + 1 >= 3:
        return Dead()
    return Retry(now + timedelta(seconds=backoff(attempts, rng)))
