"""When a feed is polled next."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.fetch import FetchStatus
from feeds.schedule import (
    DEFAULT_MAX_INTERVAL,
    Bounds,
    IntervalChoice,
    apply_skips,
    bounds_for,
    choose_interval,
    entries_per_day,
    next_delay,
    next_due,
)


def delay(
    status: FetchStatus,
    failures: int = 0,
    retry_after: float | None = None,
    interval: float = 300,
    seed: int = 1,
) -> float:
    return next_delay(
        status=status,
        interval=interval,
        consecutive_failures=failures,
        retry_after=retry_after,
        rng=random.Random(seed),
    )


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
    d = next_delay(
        status=FetchStatus.ERROR,
        interval=interval,
        consecutive_failures=failures,
        retry_after=None,
        rng=random.Random(seed),
    )
    assert min(interval, 6 * 3600) <= d <= max(interval, 6 * 3600)


# -- adaptive intervals and due times (feeds.schedule) -----------------------------------

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADAPTIVE = bounds_for(default_interval=300)


def every(minutes: float, count: int, now: datetime = T0) -> list[datetime]:
    return [now - timedelta(minutes=minutes * i) for i in range(count)]


def test_a_busy_wire_service_is_polled_within_a_minute() -> None:
    rate = entries_per_day(every(3, 20), T0)  # an entry every 3 minutes, 20 listed
    assert rate is not None and 400 < rate < 520
    choice = choose_interval(ADAPTIVE, rate=rate, quiet_for=60)
    assert choice.seconds <= 60
    assert choice.reason.startswith("adaptive: ") and choice.reason.endswith(" entries/day")


def test_a_weekly_blog_is_not_polled_288_times_a_day() -> None:
    rate = entries_per_day(every(7 * 24 * 60, 10), T0)  # ten weekly posts
    assert rate is not None and rate <= 2 / 7
    quiet = choose_interval(ADAPTIVE, rate=rate, quiet_for=3 * 86400)
    assert quiet.seconds == DEFAULT_MAX_INTERVAL  # 6 h: 4 fetches a day, not 288
    # Just after a post it is polled at its starting interval: news comes in bursts.
    fresh = choose_interval(ADAPTIVE, rate=rate, quiet_for=60)
    assert fresh.seconds == 300
    halfway = choose_interval(ADAPTIVE, rate=rate, quiet_for=8 * 3600)
    assert halfway.seconds == 3600


def test_bounds_come_from_catalog_then_settings_then_defaults() -> None:
    assert bounds_for(default_interval=300) == Bounds(300, 30, 6 * 3600)
    # An operator asking for 2 s gets 2 s for busy feeds, never 30.
    assert bounds_for(default_interval=2).minimum == 2
    b = bounds_for(default_interval=300, catalog_min=60, settings_min=10, settings_max=900)
    assert (b.minimum, b.maximum) == (60, 900)
    pinned = bounds_for(default_interval=300, catalog_interval=120, adaptive=False)
    assert choose_interval(pinned, rate=5000, ttl=3600) == IntervalChoice(120, "pinned")
    # adaptive: false without an interval in the catalog pins nothing.
    assert bounds_for(default_interval=300, adaptive=False).adaptive


def test_the_range_is_kept() -> None:
    b = bounds_for(default_interval=300, settings_min=120, settings_max=1800)
    assert choose_interval(b, rate=10_000).seconds == 120
    assert choose_interval(b, rate=0.01, quiet_for=10 * 86400).seconds == 1800
    assert choose_interval(b, rate=None) == IntervalChoice(300, "starting interval")


def test_what_the_publisher_asks_is_respected() -> None:
    busy = 5000.0
    assert choose_interval(ADAPTIVE, rate=busy, ttl=3600) == IntervalChoice(3600, "ttl 60 min")
    assert choose_interval(ADAPTIVE, rate=busy, max_age=600) == IntervalChoice(
        600, "max-age 10 min"
    )
    capped = choose_interval(ADAPTIVE, rate=busy, ttl=2 * 86400)
    assert capped.seconds == DEFAULT_MAX_INTERVAL and "capped" in capped.reason
    # A hint below the chosen interval changes nothing.
    assert choose_interval(ADAPTIVE, rate=None, max_age=60).seconds == 300


def test_entries_per_day_needs_two_dated_entries_and_counts_a_week() -> None:
    assert entries_per_day([], T0) is None
    assert entries_per_day([T0], T0) is None
    # A document reaching back past a week: 14 entries within it → 2 a day.
    dates = [*every(12 * 60, 14), T0 - timedelta(days=30)]
    assert entries_per_day(dates, T0) == pytest.approx(2.0)
    # Two entries a minute apart are not 1,440 a day: at least an hour is assumed.
    assert entries_per_day(every(1, 2), T0) == pytest.approx(48.0)


def test_next_due_keeps_time_instead_of_drifting() -> None:
    due = T0
    # Fetched 0.9 s late and took 0.6 s: the next poll is still due + interval.
    assert next_due(due, 2, due + timedelta(seconds=1.5)) == due + timedelta(seconds=2)
    # Far behind (the service was down): skip to the next slot on the same grid.
    assert next_due(due, 2, due + timedelta(seconds=7.5)) == due + timedelta(seconds=8)
    assert next_due(due, 2, due + timedelta(seconds=8)) == due + timedelta(seconds=10)
    # A due time in the future (clock went back) is not waited out.
    assert next_due(due + timedelta(hours=5), 60, due) == due + timedelta(seconds=60)


def test_skip_hours_and_days_move_the_poll_out() -> None:
    monday_2300 = datetime(2026, 11, 23, 23, 10, tzinfo=UTC)
    assert apply_skips(monday_2300, skip_hours={23, 0, 1}) == datetime(
        2026, 11, 24, 2, 0, tzinfo=UTC
    )
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert apply_skips(saturday, skip_days={5, 6}) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert apply_skips(monday_2300, skip_hours=set(range(24))) == monday_2300


@given(
    interval=st.floats(min_value=1, max_value=86_400),
    late=st.floats(min_value=0, max_value=10 * 86_400),
)
def test_next_due_is_on_the_grid_and_after_now(interval: float, late: float) -> None:
    now = T0 + timedelta(seconds=late)
    due = next_due(T0, interval, now)
    assert now < due <= now + timedelta(seconds=interval) + timedelta(microseconds=2)
    steps = (due - T0) / timedelta(seconds=interval)
    assert abs(steps - round(steps)) < 1e-3
