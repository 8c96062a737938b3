"""When to poll a feed next (pure: the caller passes the time and the random source).

Three decisions, each a function of its arguments only:

``next_delay`` — after a *failed* poll, seconds until the next try:

* a ``Retry-After`` from the server (429/503): ``max(retry_after, interval)``
  — never earlier than the server asked, even above ``cap``;
* ``GONE``: ``cap`` (the caller disables the feed; this is only a fallback);
* any other failure, with ``n = consecutive_failures`` (counting this one):
  ``d = max(interval, min(cap, interval · 2ⁿ))`` and the result is drawn
  uniformly from ``[0.75·d, d]``, but never below ``min(interval, cap)``.
  The doubling backs off a broken feed quickly, the cap keeps a recovered
  feed from waiting for days, and the jitter spreads feeds that failed
  together (one host down) so they do not return as a herd.
  (Success returns ``interval``, for callers that only want the delay.)

``choose_interval`` — after a *successful* poll, the feed's interval and why
(Miniflux's "entry frequency" scheduler, made careful about slowing down):

* ``pinned``: the catalog gave an interval and ``adaptive: false``;
* otherwise the feed's publishing rate ``r`` (entries per day, see
  :func:`entries_per_day`) gives ``86400 / (r · POLLS_PER_ENTRY)``: about
  four polls per expected gap between two entries, so a wire service with 500
  entries a day is polled every ~43 s and a blog with one a week rarely;
* slowing down below the starting interval is allowed only as far as the feed
  has been quiet (``quiet_for / QUIET_DIVISOR``): news comes in bursts, and a
  feed that published a minute ago is polled at its starting interval at
  least, whatever its weekly average says;
* the result stays within ``[minimum, maximum]`` (see :class:`Bounds`);
* what the publisher asks is respected on top: RSS ``<ttl>`` and HTTP
  ``Cache-Control: max-age`` raise the interval (never above ``maximum``:
  the operator's bound wins over a caching hint). A pinned interval ignores
  them (the operator decided).

``next_due`` — the next poll time without drift: previous *due* time plus
the interval (not the end of the fetch plus the interval), skipped ahead on
the same grid when the poll ran late, and moved out of the publisher's
``<skipHours>``/``<skipDays>`` (:func:`apply_skips`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.fetch import FetchStatus

__all__ = [
    "DEFAULT_BACKOFF_CAP",
    "DEFAULT_MAX_INTERVAL",
    "DEFAULT_MIN_INTERVAL",
    "POLLS_PER_ENTRY",
    "QUIET_DIVISOR",
    "Bounds",
    "IntervalChoice",
    "apply_skips",
    "bounds_for",
    "choose_interval",
    "entries_per_day",
    "next_delay",
    "next_due",
]

DEFAULT_BACKOFF_CAP = 6 * 3600.0
# Defaults of EVBOT_MIN_POLL_INTERVAL / EVBOT_MAX_POLL_INTERVAL. The minimum never
# exceeds a feed's starting interval, nor the maximum falls below it (see bounds_for).
DEFAULT_MIN_INTERVAL = 30.0
DEFAULT_MAX_INTERVAL = 6 * 3600.0
POLLS_PER_ENTRY = 4.0
QUIET_DIVISOR = 8.0
RATE_WINDOW = timedelta(days=7)
# A feed listing two entries a minute apart is not publishing 1,440 a day.
MIN_RATE_SPAN = timedelta(hours=1)
DAY = 86400.0
_SUCCESS = frozenset({FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED})


def next_delay(
    *,
    status: FetchStatus,
    interval: float,
    consecutive_failures: int,
    retry_after: float | None,
    rng: random.Random,
    cap: float = DEFAULT_BACKOFF_CAP,
) -> float:
    """Seconds until the next poll of one feed (formula in the module docstring)."""
    interval = max(interval, 0.001)
    if status in _SUCCESS:
        return interval
    if retry_after is not None:
        return max(retry_after, interval)
    if status is FetchStatus.GONE:
        return cap
    n = max(1, consecutive_failures)
    # 2**n overflows float for absurd n; 64 doublings already exceed any cap.
    grown = interval * 2.0 ** min(n, 64)
    delay = max(interval, min(cap, grown))
    floor = min(interval, cap)
    return max(floor, rng.uniform(0.75 * delay, delay))


@dataclass(frozen=True)
class Bounds:
    """One feed's starting interval and the range adaptation may move it in (seconds)."""

    start: float
    minimum: float
    maximum: float
    adaptive: bool = True


def bounds_for(
    *,
    default_interval: float,
    catalog_interval: float | None = None,
    catalog_min: float | None = None,
    catalog_max: float | None = None,
    settings_min: float | None = None,
    settings_max: float | None = None,
    adaptive: bool = True,
) -> Bounds:
    """A feed's bounds: the catalog's values, else the settings', else the defaults.

    Without an explicit minimum (maximum), the default never lies above (below)
    the starting interval: an operator who asked for 2 s gets 2 s for a busy
    feed, not 30. An explicit minimum above the start raises the start.
    """
    start = float(catalog_interval if catalog_interval is not None else default_interval)
    lo = catalog_min if catalog_min is not None else settings_min
    hi = catalog_max if catalog_max is not None else settings_max
    minimum = float(lo) if lo is not None else min(start, DEFAULT_MIN_INTERVAL)
    maximum = float(hi) if hi is not None else max(start, DEFAULT_MAX_INTERVAL)
    maximum = max(maximum, minimum)
    pinned = catalog_interval is not None and not adaptive
    return Bounds(
        start=min(max(start, minimum), maximum),
        minimum=minimum,
        maximum=maximum,
        adaptive=not pinned,
    )


def entries_per_day(
    published: Iterable[datetime], now: datetime, *, window: timedelta = RATE_WINDOW
) -> float | None:
    """How many entries a day the feed publishes, from its entries' dates; None if unknown.

    When the document reaches back beyond ``window`` the count within it is
    exact; a shorter document (a busy feed lists only its latest entries)
    gives its count over the time it covers (at least ``MIN_RATE_SPAN``).
    Fewer than two dated entries say nothing.
    """
    dated = sorted(min(p, now) for p in published)
    if len(dated) < 2:
        return None
    oldest = dated[0]
    if now - oldest > window:
        recent = sum(1 for p in dated if now - p <= window)
        return recent / (window.total_seconds() / DAY)
    span = max(now - oldest, MIN_RATE_SPAN)
    return len(dated) / (span.total_seconds() / DAY)


@dataclass(frozen=True)
class IntervalChoice:
    """The interval for a healthy feed and the reason `evbot feeds list` shows."""

    seconds: float
    reason: str


def _rate_text(rate: float) -> str:
    if rate >= 10:
        return f"{rate:.0f}"
    return f"{rate:.1f}".rstrip("0").rstrip(".") if rate >= 0.1 else f"{rate:.2f}"


def _duration_text(seconds: float) -> str:
    if seconds >= 7200 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def choose_interval(
    bounds: Bounds,
    *,
    rate: float | None,
    quiet_for: float | None = None,
    ttl: float | None = None,
    max_age: float | None = None,
) -> IntervalChoice:
    """Interval after a successful poll (rules in the module docstring).

    ``rate``: entries per day, None if unknown; ``quiet_for``: seconds since the
    feed last brought a new entry (None: unknown, no limit); ``ttl``/``max_age``:
    the publisher's RSS ``<ttl>`` and ``Cache-Control: max-age``, in seconds.
    """
    if not bounds.adaptive:
        return IntervalChoice(bounds.start, "pinned")
    if rate is None:
        seconds, reason = bounds.start, "starting interval"
    else:
        target = DAY / (rate * POLLS_PER_ENTRY) if rate > 0 else math.inf
        if target > bounds.start and quiet_for is not None:
            target = min(target, max(bounds.start, quiet_for / QUIET_DIVISOR))
        seconds = min(max(target, bounds.minimum), bounds.maximum)
        reason = f"adaptive: {_rate_text(rate)} entries/day"
    asked = [(v, name) for v, name in ((ttl, "ttl"), (max_age, "max-age")) if v]
    if asked:
        value, name = max(asked)
        if value > seconds:
            seconds = min(value, bounds.maximum)
            reason = f"{name} {_duration_text(value)}"
            if value > bounds.maximum:
                reason += " (capped)"
    return IntervalChoice(seconds, reason)


def next_due(previous_due: datetime, interval: float, now: datetime) -> datetime:
    """``previous_due + interval``; if that has passed, the next slot on the same grid after now.

    A poll that ran late keeps its phase instead of drifting, and one far
    behind (the service was down) skips the missed slots instead of catching up.
    """
    step = timedelta(seconds=max(interval, 0.001))
    due = previous_due + step
    if due > now:
        # A due time far in the future (the clock went back) is not waited for.
        return min(due, now + step)
    missed = math.floor((now - previous_due) / step) + 1
    return previous_due + missed * step


def apply_skips(
    due: datetime, *, skip_hours: Collection[int] = (), skip_days: Collection[int] = ()
) -> datetime:
    """The first moment from ``due`` outside the publisher's skipped UTC hours and weekdays.

    ``skip_days`` are 0 (Monday) to 6. A publisher skipping every hour or every
    day asks for nothing usable and is ignored.
    """
    hours = {h for h in skip_hours if 0 <= h <= 23}
    days = {d for d in skip_days if 0 <= d <= 6}
    if len(hours) >= 24:
        hours = set()
    if len(days) >= 7:
        days = set()
    if not hours and not days:
        return due
    for _ in range(24 * 8):
        if due.hour not in hours and due.weekday() not in days:
            return due
        due = due.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return due
