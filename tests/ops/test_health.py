"""/healthz and /metrics: the HTTP endpoint alone, then inside a running Service."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from bot.ops.http_server import Health, HttpServer, Staleness, check_health, stale_reasons
from bot.ops.metrics import Metrics
from bot.service import Service, ServiceOptions
from bot.settings import Settings
from bot.storage import Storage
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.support import FakeClock, database, postgres_url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Answers:
    async def ping(self) -> None:
        return None


class Hangs:
    async def ping(self) -> None:
        await asyncio.Event().wait()


async def test_health_is_ok_when_the_database_answers_and_the_scheduler_runs() -> None:
    health = await check_health(Answers(), scheduler_running=True)
    assert health.ok
    assert health.to_json() == {"status": "ok", "database": "ok", "scheduler": "running"}


async def test_health_fails_when_the_scheduler_is_stopped() -> None:
    health = await check_health(Answers(), scheduler_running=False)
    assert not health.ok
    assert health.reason == "scheduler not running"


async def test_health_fails_when_the_database_hangs() -> None:
    health = await check_health(Hangs(), scheduler_running=True, ping_timeout=0.05)
    assert not health.ok
    assert health.reason == "database: no answer within 0.05 s"


async def test_healthz_answers_503_with_a_json_reason_when_the_database_is_gone(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    # A SQLite file in a directory that does not exist: every connection fails.
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/gone/evbot.sqlite3")
    storage = Storage(engine)

    async def health() -> Health:
        return await check_health(storage, scheduler_running=True)

    server = HttpServer(health=health, metrics=Metrics(), port=0, host="127.0.0.1")
    await server.start()
    try:
        response = await http.get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()
        await engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["reason"].startswith("database: OperationalError")
    assert body["database"] == "down"


async def test_a_crashing_health_check_is_a_503_not_a_500(http: httpx.AsyncClient) -> None:
    async def broken() -> Health:
        raise RuntimeError("bug")

    server = HttpServer(health=broken, metrics=Metrics(), port=0, host="127.0.0.1")
    await server.start()
    try:
        response = await http.get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "reason": "health check error: RuntimeError"}


async def test_metrics_are_served_even_when_the_gauge_refresh_fails(
    http: httpx.AsyncClient,
) -> None:
    metrics = Metrics()
    metrics.feed_polled("ok")

    async def health() -> Health:
        return Health(True)

    async def refresh() -> None:
        raise ConnectionError("database away")

    server = HttpServer(
        health=health, metrics=metrics, port=0, host="127.0.0.1", before_scrape=refresh
    )
    await server.start()
    try:
        response = await http.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        await server.stop()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'evbot_feed_polls_total{status="ok"} 1.0' in response.text


JUNK: dict[str, tuple[bytes, int | set[int]]] = {
    "binary": (b"\x00\xff\xfe garbage\r\n\r\n", 400),
    "http-9.9": (b"GET /healthz HTTP/9.9\r\n\r\n", 400),
    "long-path": (b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "long-query": (b"GET /healthz?" + b"q=%ff&" * 2_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "big-header": (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"b" * 20_000 + b"\r\n\r\n", 400),
    # aiohttp >= 3.11 refuses more than 128 headers; older ones serve the request.
    "many-headers": (
        b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"A: b\r\n" * 200 + b"\r\n",
        {200, 400},
    ),
    "negative-length": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    "bad-chunk": (
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
        400,
    ),
    "post": (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 405),
    "traversal": (b"GET /metrics/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    "nul-in-path": (b"GET /%00%ff HTTP/1.1\r\nHost: x\r\n\r\n", 404),
}


async def send_junk(port: int) -> dict[str, int]:
    """Send each JUNK request on its own raw connection; the status code each got."""
    answers = {}
    for name, (junk, _) in JUNK.items():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(junk)
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), 10)
        finally:
            writer.close()
        answers[name] = int(status_line.split()[1])
    return answers


async def test_junk_requests_get_a_4xx_and_the_endpoint_keeps_answering(
    http: httpx.AsyncClient,
) -> None:
    metrics = Metrics()
    metrics.feed_polled("ok")

    async def health() -> Health:
        return Health(True)

    server = HttpServer(health=health, metrics=metrics, port=0, host="127.0.0.1")
    await server.start()
    try:
        answers = await send_junk(server.port)
        healthz = await http.get(f"http://127.0.0.1:{server.port}/healthz")
        scraped = await http.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        await server.stop()
    for name, (_, expected) in JUNK.items():
        allowed = expected if isinstance(expected, set) else {expected}
        assert answers[name] in allowed, f"{name}: {answers[name]}"
    assert healthz.status_code == 200 and healthz.json()["status"] == "ok"
    assert 'evbot_feed_polls_total{status="ok"} 1.0' in scraped.text


# ---- inside the service ------------------------------------------------------------


def catalog(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "catalog.yaml"
    feed = {"id": "haber", "name": "Haber", "url": url, "language": "tr", "interval": 60}
    path.write_text(yaml.safe_dump({"feeds": [feed]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_service_serves_healthz_and_metrics_until_the_database_is_gone(
    kind: str, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    async with database(kind, str(tmp_path), own_database=True) as target, FeedServer() as feeds:
        feeds.add_feed(
            "/haber.xml",
            entries=[FeedItem("Togg yeni elektrikli modelini tanıttı", link="https://n.example/1")],
        )
        port = free_port()
        settings = Settings(
            database_url=target.url,
            feeds_file=catalog(tmp_path, feeds.url("/haber.xml")),
            http_port=port,
        )
        service = Service(
            settings,
            options=ServiceOptions(
                console=True,
                console_out=io.StringIO(),
                tick_seconds=0.05,
                http_host="127.0.0.1",
            ),
            clock=FakeClock(),
        )
        await service.start()
        base = f"http://127.0.0.1:{port}"
        try:
            assert service.ingestor is not None
            await service.ingestor.wait_for_pass(0)

            response = await http.get(f"{base}/healthz")
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["status"] == "ok" and body["role"] == "leader", body
            assert body["database"] == "ok" and body["scheduler"] == "running"
            assert body["outbox_overdue"] == 0 and body["feeds_success_age"] == 0
            ready = await http.get(f"{base}/readyz")
            assert ready.status_code == 200, ready.text

            scrape = await http.get(f"{base}/metrics")
            assert scrape.status_code == 200
            assert 'evbot_feed_polls_total{status="ok"} 1.0' in scrape.text
            assert "evbot_items_ingested_total 1.0" in scrape.text
            assert "evbot_outbox_pending 0.0" in scrape.text

            if kind == "postgresql":
                # The database disappears under the running service.
                name = target.url.rsplit("/", 1)[1]
                admin = await asyncpg.connect(postgres_url())
                try:
                    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                finally:
                    await admin.close()
                gone = await http.get(f"{base}/healthz")
                assert gone.status_code == 503
                assert gone.json()["reason"].startswith("database: ")
            else:
                assert service.scheduler is not None
                service.scheduler.shutdown(wait=False)
                stopped = await http.get(f"{base}/healthz")
                assert stopped.status_code == 503
                assert stopped.json()["reason"] == "scheduler not running"
        finally:
            await service.stop()
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{base}/healthz")


async def test_service_without_http_port_listens_nowhere(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3")
    service = Service(settings, options=ServiceOptions(console=True, console_out=io.StringIO()))
    # Only the composition is checked: the endpoint is off by default.
    assert settings.http_port is None
    assert service.http is None


@pytest.mark.parametrize(("setting", "bound"), [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")])
async def test_the_endpoint_listens_on_loopback_unless_told_otherwise(
    tmp_path: Path, http: httpx.AsyncClient, setting: str | None, bound: str
) -> None:
    """/metrics used to face every network the host is on, with no way to say otherwise."""
    port = free_port()
    extra = {} if setting is None else {"http_host": setting}
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/x.sqlite3",
        feeds_file=Path(__file__).with_name("empty_catalog.yaml"),
        http_port=port,
        **extra,  # type: ignore[arg-type]
    )
    service = Service(
        settings, options=ServiceOptions(console=True, console_out=io.StringIO()), clock=FakeClock()
    )
    await service.start()
    try:
        assert service.http is not None
        assert service.http.host == bound
        response = await http.get(f"http://127.0.0.1:{port}/healthz")
        assert response.status_code == 200
    finally:
        await service.stop()


# ---- liveness that tells the truth ---------------------------------------------------


def test_stale_reasons_name_each_thing_that_stopped() -> None:
    limits = {"telegram_limit": 120.0, "outbox_limit": 900.0, "feeds_limit": 3600.0}
    fresh = Staleness(telegram_poll=5, outbox_overdue=0, feeds=60, **limits)
    assert stale_reasons(fresh) == []
    standby = Staleness(telegram_poll=None, outbox_overdue=None, feeds=60, **limits)
    assert stale_reasons(standby) == []
    stuck = Staleness(telegram_poll=121, outbox_overdue=901, feeds=3601, **limits)
    assert stale_reasons(stuck) == [
        "telegram: no getUpdates completed for 121 s (limit 120 s)",
        "delivery: a due alert has waited 901 s (limit 900 s)",
        "feeds: no poll succeeded for 3601 s (limit 3600 s)",
    ]


async def test_healthz_fails_when_delivery_is_stuck_and_when_no_feed_poll_succeeds(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    async with FeedServer() as feeds:
        feeds.add_feed(
            "/haber.xml",
            entries=[FeedItem("Togg yeni elektrikli modelini tanıttı", link="https://n.example/1")],
        )
        port = free_port()
        clock = FakeClock()
        settings = Settings(
            database_url=f"sqlite:///{tmp_path}/x.sqlite3",
            feeds_file=catalog(tmp_path, feeds.url("/haber.xml")),
            http_port=port,
        )
        service = Service(
            settings,
            options=ServiceOptions(
                console=True, console_out=io.StringIO(), tick_seconds=0.05, http_host="127.0.0.1"
            ),
            clock=clock,
        )
        await service.start()
        healthz = f"http://127.0.0.1:{port}/healthz"
        try:
            assert service.ingestor is not None and service.storage is not None
            await service.ingestor.wait_for_pass(0)
            assert (await http.get(healthz)).status_code == 200

            feeds.remove("/haber.xml")  # every poll fails from now on
            # The delivery worker gets stuck (here: stops taking rows) while a notice is due.
            service._worker_stop.set()
            await asyncio.gather(*service._tasks)
            await service.storage.enqueue_notice([0], "hello", clock.now())
            clock.advance(899)
            assert (await http.get(healthz)).status_code == 200
            clock.advance(2)
            stuck = await http.get(healthz)
            assert stuck.status_code == 503
            assert stuck.json()["reason"] == "delivery: a due alert has waited 901 s (limit 900 s)"
            assert stuck.json()["role"] == "leader"

            # Every feed has failed since the first poll: an hour on, /healthz says so too.
            clock.advance(3600)
            await service.ingestor.wait_for_pass(service.ingestor.passes + 1)  # a failed poll
            reason = (await http.get(healthz)).json()["reason"]
            assert reason.endswith("feeds: no poll succeeded for 4501 s (limit 3600 s)"), reason
        finally:
            await service.stop()
