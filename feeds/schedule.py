"""When to poll a feed next (pure; the caller supplies the random source).

``next_delay`` returns seconds until the next poll:

* success (``OK``, ``NOT_MODIFIED``, ``UNCHANGED``): ``interval``;
* a ``Retry-After`` from the server (429/503): ``max(retry_after, interval)``
  — never earlier than the server asked, even above ``cap``;
* ``GONE``: ``cap`` (the caller disables the feed; this is only a fallback);
* any other failure, with ``n = consecutive_failures`` (counting this one):
  ``d = max(interval, min(cap, interval · 2ⁿ))`` and the result is drawn
  uniformly from ``[0.75·d, d]``, but never below ``min(interval, cap)``.
  The doubling backs off a broken feed quickly, the cap keeps a recovered
  feed from waiting for days, and the jitter spreads feeds that failed
  together (one host down) so they do not return as a herd.
"""

from __future__ import annotations

import random

from feeds.fetch import FetchStatus

__all__ = ["DEFAULT_BACKOFF_CAP", "next_delay"]

DEFAULT_BACKOFF_CAP = 6 * 3600.0
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
