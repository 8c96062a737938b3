"""When a feed is polled next."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from feeds.fetch import FetchStatus
from feeds.schedule import next_delay


def delay(status: FetchStatus, failures: int = 0, retry_after: float | None = None,
          interval: float = 300, seed: int = 1) -> float:
    return next_delay(status=status, interval=interval, consecutive_failures=failures,
                      retry_after=retry_after, rng=random.Random(seed))


def test_success_waits_the_interval() -> None:
    for status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED):
        assert delay(status) == 300


def test_retry_after_is_honoured() -> None:
    assert delay(FetchStatus.ERROR, 1, retry_after=900) == 900
    assert delay(FetchStatus.ERROR, 1, retry_after=5) == 300  # never sooner than the interval
    assert delay(FetchStatus.ERROR, 1, retry_after=86400) == 86400  # even above the cap


def test_failures_back_off_exponentially_up_to_the_cap() -> None:
    delays = [delay(FetchStatus.ERROR, n) for n in range(1, 12)]
    assert 450 <= delays[0] <= 600
    assert 900 <= delays[1] <= 1200
    assert delays[3] > delays[1]
    assert all(d <= 6 * 3600 for d in delays)
    assert delays[-1] >= 0.75 * 6 * 3600


def test_jitter_spreads_feeds_that_failed_together() -> None:
    spread = {round(delay(FetchStatus.ERROR, 3, seed=s)) for s in range(20)}
    assert len(spread) > 10


@given(
    failures=st.integers(min_value=0, max_value=10_000),
    interval=st.floats(min_value=1, max_value=86_400),
    seed=st.integers(),
)
def test_backoff_is_bounded(failures: int, interval: float, seed: int) -> None:
    d = next_delay(status=FetchStatus.ERROR, interval=interval, consecutive_failures=failures,
                   retry_after=None, rng=random.Random(seed))
    assert min(interval, 6 * 3600) <= d <= max(interval, 6 * 3600)
