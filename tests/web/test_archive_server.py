"""The archive inside the running service: mounted on EVBOT_HTTP_PORT, off with EVBOT_ARCHIVE,
and /metrics moved to EVBOT_METRICS_PORT when that is set."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import httpx
import pytest
import yaml

from bot.ops.http_server import Health, HttpServer
from bot.ops.metrics import Metrics
from bot.service import Service, ServiceOptions
from bot.settings import Settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.support import FakeClock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def catalog(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "catalog.yaml"
    feed = {"id": "haber", "name": "Haber Kaynağı", "url": url, "language": "tr", "interval": 60}
    path.write_text(yaml.safe_dump({"feeds": [feed]}, allow_unicode=True), encoding="utf-8")
    return path


async def run_service(tmp_path: Path, **settings: object) -> tuple[Service, FeedServer]:
    feeds = FeedServer()
    await feeds.__aenter__()
    feeds.add_feed(
        "/haber.xml",
        entries=[
            FeedItem(
                "EPDK'dan şarj istasyonu yönetmeliği",
                summary="Elektrikli araç şarj hizmeti yönetmeliği değişti.",
                link="https://n.example/1",
            )
        ],
    )
    service = Service(
        Settings(
            database_url=f"sqlite:///{tmp_path}/evbot.sqlite3",
            feeds_file=catalog(tmp_path, feeds.url("/haber.xml")),
            **settings,  # type: ignore[arg-type]
        ),
        options=ServiceOptions(console=True, console_out=io.StringIO(), tick_seconds=0.05),
        clock=FakeClock(),
    )
    await service.start()
    assert service.ingestor is not None
    await service.ingestor.wait_for_pass(0)
    return service, feeds


async def test_the_service_serves_the_archive_and_keeps_metrics_on_their_own_port(
    tmp_path: Path,
) -> None:
    port, metrics_port = free_port(), free_port()
    service, feeds = await run_service(
        tmp_path, http_port=port, metrics_port=metrics_port, bot_username="evbot_news_bot"
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            home = await http.get("/")
            category = await http.get("/c/regulation")
            public_metrics = await http.get("/metrics")
            health = await http.get("/healthz")
        async with httpx.AsyncClient() as http:
            metrics = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
            no_archive = await http.get(f"http://127.0.0.1:{metrics_port}/")
    finally:
        await service.stop()
        await feeds.__aexit__(None, None, None)
    assert home.status_code == 200
    assert "EPDK&#39;dan şarj istasyonu yönetmeliği" in home.text
    assert "Haber Kaynağı" in home.text
    assert "https://t.me/evbot_news_bot?start=regulation" in category.text
    assert public_metrics.status_code == 404
    assert health.status_code == 200
    assert metrics.status_code == 200 and "evbot_feed_polls_total" in metrics.text
    assert no_archive.status_code == 404


async def test_the_archive_can_be_switched_off(tmp_path: Path) -> None:
    port = free_port()
    service, feeds = await run_service(tmp_path, http_port=port, archive=False)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            home = await http.get("/")
            metrics = await http.get("/metrics")
    finally:
        await service.stop()
        await feeds.__aexit__(None, None, None)
    assert home.status_code == 404
    assert metrics.status_code == 200  # without a metrics port, /metrics stays where it was


async def test_a_taken_metrics_port_fails_start_up_and_frees_the_main_port() -> None:
    async def health() -> Health:
        return Health(True)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = HttpServer(
            health=health,
            metrics=Metrics(),
            port=0,
            host="127.0.0.1",
            metrics_port=taken.getsockname()[1],
        )
        with pytest.raises(OSError):
            await server.start()
    assert server._runner is None  # nothing left listening
