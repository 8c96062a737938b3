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
| `evbot_feed_not_modified_ratio` | gauge | share of polls answered 304 since start |
| `evbot_items_ingested_total` | counter | |
| `evbot_items_category_total` | counter | `category` (`none` for unclassified) |
| `evbot_alerts_sent_total` | counter | |
| `evbot_alerts_failed_total` | counter | `kind` (delivery.FailureKind values) |
| `evbot_alerts_dead_total` | counter | |
| `evbot_telegram_flood_waits_total` | counter | Telegram 429 answers |
| `evbot_delivery_latency_seconds` | histogram | story first seen → alert sent |
| `evbot_outbox_pending` | gauge | outbox depth |
| `evbot_outbox_oldest_pending_age_seconds` | gauge | 0 when empty |
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
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


class OutboxSource(Protocol):
    """What the scrape-time gauges need from storage (bot.storage.Storage has it)."""

    async def outbox_pending_stats(self) -> tuple[int, datetime | None]:
        """Pending rows and the creation time of the oldest one."""
        ...


class Metrics:
    """Named metric objects on a private registry, plus one-line record methods."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.polls = Counter("evbot_feed_polls", "Feed polls by outcome.", ["status"], registry=r)
        self.fetch_errors = Counter(
            "evbot_feed_fetch_errors", "Failed feed polls by error kind.", ["kind"], registry=r
        )
        self.not_modified_ratio = Gauge(
            "evbot_feed_not_modified_ratio",
            "Share of feed polls answered 304 Not Modified since start.",
            registry=r,
        )
        self.not_modified_ratio.set_function(self._not_modified_ratio)
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
        # The usual process_* (memory, CPU, open files) and python_info series,
        # which a private registry does not get by default.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self._poll_count = 0
        self._not_modified = 0

    # ---- feeds and ingest ----------------------------------------------------

    def feed_polled(self, status: str) -> None:
        """One feed poll finished with this status (see the module table)."""
        self.polls.labels(status=status).inc()
        self._poll_count += 1
        if status == "not_modified":
            self._not_modified += 1

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

    def _not_modified_ratio(self) -> float:
        return self._not_modified / self._poll_count if self._poll_count else 0.0
