"""What delivery does after each kind of failure (pure decisions)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.worker import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    Deactivate,
    Dead,
    FailureKind,
    ResendPlain,
    Retry,
    SendFailure,
    backoff,
    failure_action,
)

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def act(kind: FailureKind, attempts: int = 0, **kw: object) -> object:
    return failure_action(
        SendFailure(kind, "x", **kw),
        attempts=attempts,
        now=NOW,
        rng=random.Random(1),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (FailureKind.BLOCKED, Deactivate),
        (FailureKind.CHAT_GONE, Deactivate),
        (FailureKind.BAD_MARKUP, ResendPlain),
        (FailureKind.TRANSIENT, Retry),
        (FailureKind.FORBIDDEN_OTHER, Retry),
        (FailureKind.PERMANENT, Dead),
    ],
)
def test_first_failure(kind: FailureKind, expected: type) -> None:
    assert isinstance(act(kind), expected)


def test_flood_waits_exactly_retry_after() -> None:
    assert act(FailureKind.FLOOD, retry_after=7) == Retry(NOW + timedelta(seconds=7))


def test_flood_never_kills_a_row() -> None:
    assert isinstance(act(FailureKind.FLOOD, attempts=MAX_ATTEMPTS + 5, retry_after=1), Retry)


def test_transient_errors_give_up_after_max_attempts() -> None:
    assert isinstance(act(FailureKind.TRANSIENT, attempts=MAX_ATTEMPTS - 2), Retry)
    assert isinstance(act(FailureKind.TRANSIENT, attempts=MAX_ATTEMPTS - 1), Dead)


def test_a_transient_403_does_not_unsubscribe_but_is_bounded() -> None:
    assert isinstance(act(FailureKind.FORBIDDEN_OTHER, attempts=1), Retry)
    assert isinstance(act(FailureKind.FORBIDDEN_OTHER, attempts=2), Dead)


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(3)
    delays = [backoff(n, rng) for n in range(20)]
    assert delays[0] <= 2 < delays[5]
    assert max(delays) <= BACKOFF_CAP
