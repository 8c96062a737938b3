"""Prometheus metrics of one evbot process.

`Metrics` owns its own `CollectorRegistry` (never the global one), so every
Service and every test gets a fresh, independent set. The pipeline calls the
small `record` methods below as things happen; the outbox gauges are read from
the database when `/metrics` is scraped (`refresh_from_storage`), because the
outbox is shared state that other processes may change.

Exposed names (counters get Prometheus' `_total` suffix):

| metric | type | labels |
|---|---|---|
| `evbot_feed_polls_total` | counter | `status`: ok, not_modified, unchanged, error, gone, |
|  |  | parse_error, storage_error |
| `evbot_feed_fetch_errors_total` | counter | `kind`: timeout, connect, http_404, parse… |
| `evbot_items_ingested_total` | counter | |
| `evbot_items_category_total` | counter | `category` (`none` for unclassified) |
| `evbot_alerts_sent_total` | counter | |
| `evbot_alerts_failed_total` | counter | `kind` (delivery.FailureKind values) |
| `evbot_alerts_dead_total` | counter | |
| `evbot_telegram_flood_waits_total` | counter | Telegram 429 answers |
| `evbot_delivery_latency_seconds` | histogram | story first seen → alert sent |
| `evbot_outbox_pending` | gauge | outbox depth |
| `evbot_outbox_oldest_pending_age_seconds` | gauge | 0 when empty |
| `evbot_leader` | gauge | 1 while this replica holds the leader lease |
| `evbot_last_send_timestamp_seconds` | gauge | Unix time of the last alert sent (0: none) |
| `evbot_last_get_updates_timestamp_seconds` | gauge | Unix time getUpdates last answered |
| `evbot_build_info` | gauge (1) | `version`, `python` |

Labelled counters start at 0 for every known label value, so `rate()` and
alerts see a series before its first event. Ratios are left to PromQL, e.g.
the share of polls answered 304 over 15 minutes:

    sum(rate(evbot_feed_polls_total{status="not_modified"}[15m]))
      / sum(rate(evbot_feed_polls_total[15m]))

and seconds since the last alert: `time() - evbot_last_send_timestamp_seconds`.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from importlib import metadata
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "LATENCY_BUCKETS", "Metrics", "OutboxSource"]

# Alerts normally leave within seconds of the poll that found the story; the
# long tail covers retries, flood waits and (later) digests held for hours.
LATENCY_BUCKETS = (
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    6 * 3600.0,
    86400.0,
)

UNCATEGORISED = "none"

# Label values known in advance (counters are pre-initialised with them).
POLL_STATUSES = (
    "ok",
    "not_modified",
    "unchanged",
    "error",
    "gone",
    "parse_error",
    "storage_error",
)
FETCH_ERROR_KINDS = (
    "timeout",
    "connect_timeout",
    "connect",
    "network",
    "too_large",
    "redirect_refused",
    "redirect_loop",
    "decode",
    "bad_url",
    "parse",
    "storage",
    "http_404",
    "http_410",
    "http_500",
    "unknown",
)


def version() -> str:
    """evbot's installed version ("unknown" when run from a bare checkout)."""
    try:
        return metadata.version("evbot")
    except metadata.PackageNotFoundError:
        return "unknown"


class OutboxSource(Protocol):
    """What the scrape-time gauges need from storage (bot.storage.Storage has it)."""

    async def outbox_pending_stats(self) -> tuple[int, datetime | None]:
        """Pending rows and the creation time of the oldest one."""
        ...


class Metrics:
    """Named metric objects on a private registry, plus one-line record methods."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.wall = wall
        r = self.registry
        self.polls = Counter("evbot_feed_polls", "Feed polls by outcome.", ["status"], registry=r)
        self.fetch_errors = Counter(
            "evbot_feed_fetch_errors", "Failed feed polls by error kind.", ["kind"], registry=r
        )
        self.items = Counter("evbot_items_ingested", "New stories stored.", registry=r)
        self.items_by_category = Counter(
            "evbot_items_category",
            "New stories per category (a story may count in several; 'none' if in none).",
            ["category"],
            registry=r,
        )
        self.sent = Counter("evbot_alerts_sent", "Alerts delivered.", registry=r)
        self.failed = Counter(
            "evbot_alerts_failed", "Failed send attempts by failure kind.", ["kind"], registry=r
        )
        self.dead = Counter("evbot_alerts_dead", "Outbox rows given up on.", registry=r)
        self.floods = Counter(
            "evbot_telegram_flood_waits", "Telegram 429 Too Many Requests answers.", registry=r
        )
        self.latency = Histogram(
            "evbot_delivery_latency_seconds",
            "Time from a story being first seen to its alert being sent.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge(
            "evbot_outbox_pending", "Outbox rows waiting to be sent.", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "evbot_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row (0 when none).",
            registry=r,
        )
        self.leader = Gauge(
            "evbot_leader", "1 while this replica holds the leader lease, else 0.", registry=r
        )
        self.last_send = Gauge(
            "evbot_last_send_timestamp_seconds",
            "Unix time of the last alert delivered by this process (0: none yet).",
            registry=r,
        )
        self.last_get_updates = Gauge(
            "evbot_last_get_updates_timestamp_seconds",
            "Unix time Telegram's getUpdates last answered this process (0: never).",
            registry=r,
        )
        self.build_info = Gauge(
            "evbot_build_info",
            "Always 1; the labels say what runs.",
            ["version", "python"],
            registry=r,
        )
        self.build_info.labels(version=version(), python=platform.python_version()).set(1)
        # The usual process_* (memory, CPU, open files) and python_info series,
        # which a private registry does not get by default.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        for status in POLL_STATUSES:
            self.polls.labels(status=status)
        for kind in FETCH_ERROR_KINDS:
            self.fetch_errors.labels(kind=kind)
        self.known_labels(categories=[UNCATEGORISED])

    def known_labels(
        self, *, categories: Iterable[str] = (), failure_kinds: Iterable[str] = ()
    ) -> None:
        """Start these label values at 0 (the service knows the categories and failure kinds)."""
        for category in categories:
            self.items_by_category.labels(category=category)
        for kind in failure_kinds:
            self.failed.labels(kind=str(kind))

    # ---- feeds and ingest ----------------------------------------------------

    def feed_polled(self, status: str) -> None:
        """One feed poll finished with this status (see the module table)."""
        self.polls.labels(status=status).inc()

    def fetch_error(self, kind: str | None) -> None:
        """One feed poll failed; `kind` as in FetchResult.error_kind ("parse" for bad XML)."""
        self.fetch_errors.labels(kind=kind or "unknown").inc()

    def items_ingested(self, categories: Iterable[Iterable[str]]) -> None:
        """New stories were stored; one iterable of category ids per story."""
        count = 0
        for story in categories:
            count += 1
            cats = list(story) or [UNCATEGORISED]
            for category in cats:
                self.items_by_category.labels(category=category).inc()
        if count:
            self.items.inc(count)

    # ---- delivery --------------------------------------------------------------

    def alert_sent(self, latency_seconds: float | None = None) -> None:
        """An alert went out; latency from first seen, None for rows without a story."""
        self.sent.inc()
        self.last_send.set(self.wall())
        if latency_seconds is not None:
            self.latency.observe(max(0.0, latency_seconds))

    def alert_failed(self, kind: str) -> None:
        """A send attempt failed (FailureKind value, or e.g. "render")."""
        self.failed.labels(kind=str(kind)).inc()

    def alert_dead(self) -> None:
        """An outbox row was given up on."""
        self.dead.inc()

    def flood_wait(self) -> None:
        """Telegram answered 429."""
        self.floods.inc()

    # ---- leadership and Telegram -------------------------------------------------

    def leading(self, leader: bool) -> None:
        """This replica became leader (True) or standby (False)."""
        self.leader.set(1 if leader else 0)

    def get_updates_ok(self) -> None:
        """A getUpdates call (a long poll) completed."""
        self.last_get_updates.set(self.wall())

    # ---- scrape time -------------------------------------------------------------

    async def refresh_from_storage(self, storage: OutboxSource, now: datetime) -> None:
        """Set the outbox gauges from the database (called before each scrape)."""
        pending, oldest = await storage.outbox_pending_stats()
        self.outbox_pending.set(pending)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        self.outbox_oldest_age.set(max(0.0, age))

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
