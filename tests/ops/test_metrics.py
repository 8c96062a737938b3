"""Prometheus metrics: record methods, fresh registries, ingest instrumentation, outbox gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.ingest.poll import Ingestor
from bot.models import CatalogFeed, FetchRecord
from bot.ops.metrics import Metrics
from bot.storage import Storage
from feeds.fetch import build_client
from rules import load_rules
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.support import FakeClock, store, story

METRIC_NAMES = [
    "evbot_feed_polls_total",
    "evbot_feed_fetch_errors_total",
    "evbot_leader",
    "evbot_build_info",
    "evbot_last_send_timestamp_seconds",
    "evbot_last_get_updates_timestamp_seconds",
    "evbot_items_ingested_total",
    "evbot_items_category_total",
    "evbot_alerts_sent_total",
    "evbot_alerts_failed_total",
    "evbot_alerts_dead_total",
    "evbot_telegram_flood_waits_total",
    "evbot_delivery_latency_seconds_bucket",
    "evbot_outbox_pending",
    "evbot_outbox_oldest_pending_age_seconds",
    "python_info",
]


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if found is None else found


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.feed_polled("ok")
    assert value(first, "evbot_feed_polls_total", status="ok") == 1
    assert value(second, "evbot_feed_polls_total", status="ok") == 0


def test_record_methods_feed_the_named_metrics() -> None:
    m = Metrics()
    m.feed_polled("ok")
    m.feed_polled("not_modified")
    m.feed_polled("not_modified")
    m.feed_polled("error")
    m.fetch_error("timeout")
    m.fetch_error(None)
    m.items_ingested([("regulation", "ev-market"), (), ("regulation",)])
    m.alert_sent(12.5)
    m.alert_sent(None)  # a broadcast: counted, no latency
    m.alert_failed("flood")
    m.alert_dead()
    m.flood_wait()

    assert value(m, "evbot_feed_polls_total", status="not_modified") == 2
    assert value(m, "evbot_feed_fetch_errors_total", kind="timeout") == 1
    assert value(m, "evbot_feed_fetch_errors_total", kind="unknown") == 1
    assert value(m, "evbot_items_ingested_total") == 3
    assert value(m, "evbot_items_category_total", category="regulation") == 2
    assert value(m, "evbot_items_category_total", category="none") == 1
    assert value(m, "evbot_alerts_sent_total") == 2
    assert value(m, "evbot_delivery_latency_seconds_count") == 1
    assert value(m, "evbot_delivery_latency_seconds_sum") == 12.5
    assert value(m, "evbot_delivery_latency_seconds_bucket", le="30.0") == 1
    assert value(m, "evbot_delivery_latency_seconds_bucket", le="10.0") == 0
    assert value(m, "evbot_alerts_failed_total", kind="flood") == 1
    assert value(m, "evbot_alerts_dead_total") == 1
    assert value(m, "evbot_telegram_flood_waits_total") == 1


def test_no_ratio_is_computed_in_the_app_prometheus_derives_it() -> None:
    text = Metrics().exposition().decode()
    assert "ratio" not in text


def test_labelled_counters_exist_at_zero_before_their_first_event() -> None:
    m = Metrics()
    m.known_labels(categories=["regulation"], failure_kinds=["flood", "blocked"])
    text = m.exposition().decode()
    for series in (
        'evbot_feed_polls_total{status="not_modified"} 0.0',
        'evbot_feed_polls_total{status="error"} 0.0',
        'evbot_feed_fetch_errors_total{kind="timeout"} 0.0',
        'evbot_items_category_total{category="regulation"} 0.0',
        'evbot_items_category_total{category="none"} 0.0',
        'evbot_alerts_failed_total{kind="blocked"} 0.0',
    ):
        assert series in text, series


def test_leader_build_info_and_last_event_timestamps() -> None:
    now = [1_700_000_000.0]
    m = Metrics(wall=lambda: now[0])
    assert value(m, "evbot_leader") == 0
    assert value(m, "evbot_last_send_timestamp_seconds") == 0
    m.leading(True)
    m.alert_sent(1.0)
    now[0] += 5
    m.get_updates_ok()
    assert value(m, "evbot_leader") == 1
    assert value(m, "evbot_last_send_timestamp_seconds") == 1_700_000_000.0
    assert value(m, "evbot_last_get_updates_timestamp_seconds") == 1_700_000_005.0
    m.leading(False)
    assert value(m, "evbot_leader") == 0
    assert 'evbot_build_info{python="' in m.exposition().decode()


class FakeOutbox:
    def __init__(self, pending: int, oldest: datetime | None) -> None:
        self.stats = (pending, oldest)

    async def outbox_pending_stats(self) -> tuple[int, datetime | None]:
        return self.stats


async def test_outbox_gauges_are_read_at_scrape_time() -> None:
    m = Metrics()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    await m.refresh_from_storage(FakeOutbox(7, now - timedelta(seconds=90)), now)
    assert value(m, "evbot_outbox_pending") == 7
    assert value(m, "evbot_outbox_oldest_pending_age_seconds") == 90
    await m.refresh_from_storage(FakeOutbox(0, None), now)
    assert value(m, "evbot_outbox_pending") == 0
    assert value(m, "evbot_outbox_oldest_pending_age_seconds") == 0


async def test_storage_reports_pending_outbox_depth_and_oldest_row(
    storage: Storage, clock: FakeClock
) -> None:
    assert await storage.outbox_pending_stats() == (0, None)
    await storage.sync_catalog([CatalogFeed("f", "F", "http://127.0.0.1/f.xml", "tr", None, True)])
    await storage.ensure_chat(1, type="private", title=None, language="en", now=clock.now())
    await storage.set_subscriptions(1, ["regulation"])
    first_at = clock.now()
    for n in range(3):
        record = FetchRecord(
            status="ok", success=True, duration=0.1, next_poll_at=clock.now(), validators=None
        )
        new = story(f"id-{n}")
        await store(storage, "f", new=[new], again=[], seen=[], record=record, now=clock.now())
        clock.advance(60)
    pending, oldest = await storage.outbox_pending_stats()
    assert pending == 3
    assert oldest == first_at


async def test_a_poll_is_counted_and_exposed(tmp_path: Path, clock: FakeClock) -> None:
    """After polls, the exposition carries every metric name and the poll's numbers."""
    storage = await Storage.open(f"sqlite:///{tmp_path}/m.sqlite3")
    metrics = Metrics()
    async with FeedServer() as server, build_client() as client:
        server.add_feed(
            "/ok.xml",
            entries=[
                FeedItem(
                    "EPDK şarj hizmeti yönetmeliğinde değişikliğe gitti",
                    link="https://news.example/epdk",
                    summary="Elektrikli araç şarj istasyonu lisans kuralları değişti.",
                )
            ],
        )
        await storage.sync_catalog(
            [
                CatalogFeed("ok", "OK", server.url("/ok.xml"), "tr", None, True),
                CatalogFeed("missing", "Missing", server.url("/missing.xml"), "tr", None, True),
            ]
        )
        rules = load_rules()
        ingestor = Ingestor(
            storage,
            client,
            lambda: rules,
            clock,
            default_interval=60,
            max_bytes=1 << 20,
            metrics=metrics,
        )
        try:
            report = await ingestor.poll_due()
            assert report.polled == 2
            clock.advance(61)
            # The unchanged feed answers 304; the failing one is backing off.
            assert (await ingestor.poll_due()).polled == 1
            await metrics.refresh_from_storage(storage, clock.now())
        finally:
            await storage.close()

    text = metrics.exposition().decode()
    for name in METRIC_NAMES:
        assert name in text, name
    assert value(metrics, "evbot_feed_polls_total", status="ok") == 1
    assert value(metrics, "evbot_feed_polls_total", status="not_modified") == 1
    assert value(metrics, "evbot_feed_polls_total", status="error") == 1
    assert value(metrics, "evbot_feed_fetch_errors_total", kind="http_404") == 1
    assert value(metrics, "evbot_items_ingested_total") == 1
    assert value(metrics, "evbot_items_category_total", category="regulation") == 1
