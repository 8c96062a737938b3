"""`evbot demo`: a local feed that grows every few seconds, through the real console pipeline.

The public archive (bot.web) is served too, so the page fills up as stories arrive.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import yaml
from aiohttp import web

from bot.service import Service, ServiceOptions
from bot.settings import Settings

ENTRIES_FILE = Path(__file__).with_name("demo_entries.yaml")
BACKLOG = 2


@dataclass(frozen=True)
class DemoEntry:
    """One bundled sample story."""

    title: str
    summary: str


def load_entries(path: Path = ENTRIES_FILE) -> list[DemoEntry]:
    """The bundled sample stories, in publication order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [DemoEntry(str(e["title"]), str(e["summary"])) for e in data["entries"]]


def rss(entries: list[tuple[int, DemoEntry, datetime]], base: str) -> bytes:
    """An RSS 2.0 document, newest entry first."""
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    ET.SubElement(channel, "title").text = "evbot demo · Elektrikli Mobilite Haberleri"
    ET.SubElement(channel, "link").text = base
    ET.SubElement(channel, "description").text = "Sample stories bundled with evbot"
    for number, entry, published in reversed(entries):
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = entry.title
        ET.SubElement(item, "link").text = f"{base}/news/{number}"
        ET.SubElement(item, "guid").text = f"{base}/news/{number}"
        ET.SubElement(item, "description").text = entry.summary
        ET.SubElement(item, "pubDate").text = format_datetime(published)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


async def _settle(service: Service, stories: int) -> None:
    """Let the last story be polled and its alert printed before stopping (30 s at most)."""
    storage = service.storage
    assert storage is not None
    for _ in range(300):
        stored = len(await storage.latest_items(limit=stories + 1))
        if stored >= stories and not (await storage.outbox_counts()).get("pending"):
            return
        await asyncio.sleep(0.1)


async def run_demo(*, every: float = 3.0, count: int | None = None) -> int:
    """Serve the sample feed, publish a new entry every `every` seconds, print the alerts."""
    samples = load_entries()
    published: list[tuple[int, DemoEntry, datetime]] = [
        (i, e, datetime.now(UTC)) for i, e in enumerate(samples[:BACKLOG])
    ]

    async def feed(_: web.Request) -> web.Response:
        return web.Response(body=rss(published, base), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/rss.xml", feed)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"

    with tempfile.TemporaryDirectory(prefix="evbot-demo-") as tmp:
        catalog = Path(tmp) / "catalog.yaml"
        catalog.write_text(
            yaml.safe_dump(
                {
                    "feeds": [
                        {
                            "id": "demo",
                            "name": "evbot demo feed",
                            "url": f"{base}/rss.xml",
                            "language": "tr",
                            "interval": 1,
                        }
                    ]
                },
                allow_unicode=True,
            ),
            encoding="utf-8",
        )
        settings = Settings(
            database_url=f"sqlite:///{tmp}/demo.sqlite3",
            feeds_file=catalog,
            poll_interval=1,
            telegram_token=None,
        )
        # The archive on any free port unless EVBOT_HTTP_PORT names one.
        options = ServiceOptions(
            console=True, tick_seconds=0.5, http_port=0 if settings.http_port is None else None
        )
        service = Service(settings, options=options)
        print(
            f"evbot demo: serving {len(samples)} sample stories at {base}/rss.xml; "
            f"{BACKLOG} are the backlog (recorded, not pushed), a new one every {every:g}s. "
            "Ctrl-C stops.",
            flush=True,
        )
        await service.start()
        if service.http is not None and service.http.port is not None and settings.archive:
            print(
                f"evbot demo: the archive is at http://{service.http.host}:{service.http.port}/ "
                "(open it: stories appear as they are classified)",
                flush=True,
            )
        try:
            assert service.ingestor is not None and service.storage is not None
            # The backlog must be recorded before the first new story appears.
            await service.ingestor.wait_for_pass(0, within=30)
            remaining = samples[BACKLOG:]
            if count is not None:
                remaining = remaining[:count]
            for number, entry in enumerate(remaining, start=BACKLOG):
                if service.stop_event.is_set():
                    break
                await asyncio.sleep(every)
                published.append((number, entry, datetime.now(UTC)))
            await _settle(service, len(published))
        finally:
            await service.stop()
            await runner.cleanup()
    return 0
