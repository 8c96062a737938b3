"""A readable table of feed health (pure; used by `evbot feeds list`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.models import FeedRow


def ago(when: datetime | None, now: datetime) -> str:
    """'3m ago' style age, or 'never'."""
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    if seconds < 0:
        return "in " + ago(now, when).removesuffix(" ago")
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def state(feed: FeedRow) -> str:
    """One word for what the scheduler does with the feed."""
    if not feed.in_catalog:
        return "removed"
    if not feed.enabled:
        return "disabled"
    if feed.disabled_reason:
        return "stopped"
    if feed.consecutive_failures:
        return "failing"
    if feed.last_success_at is None:
        return "new"
    return "ok"


def every(seconds: float | None) -> str:
    """'90 s', '15 min', '6 h' style interval, or '-' when not known yet."""
    if seconds is None:
        return "-"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 120:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def interval_why(feed: FeedRow) -> str:
    """Why the feed is polled that often ('adaptive: 14 entries/day', 'ttl 60 min', …)."""
    if feed.interval_reason:
        return feed.interval_reason
    return "pinned" if feed.interval is not None and not feed.adaptive else "not polled yet"


def feed_table(feeds: Sequence[FeedRow], *, now: datetime) -> str:
    """Fixed-width table: id, state, last success, failures, next poll, interval, why, error."""
    if not feeds:
        return "no feeds in the database yet (start the service once, or check EVBOT_FEEDS_FILE)"
    header = ("feed", "state", "last success", "fails", "next poll", "every", "why", "last error")
    rows = [
        (
            f.id,
            state(f),
            ago(f.last_success_at, now),
            str(f.consecutive_failures),
            ago(f.next_poll_at, now) if f.next_poll_at else "now",
            every(f.current_interval),
            interval_why(f)[:40],
            (f.disabled_reason or f.last_error or "")[:70],
        )
        for f in feeds
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in (header, *rows)
    ]
    healthy = sum(1 for r in rows if r[1] == "ok")
    lines.append(f"{len(rows)} feeds, {healthy} healthy")
    return "\n".join(lines)
