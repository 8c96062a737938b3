"""The service and CLI as an operator runs them: console mode, a flaky Bot API, feeds list/check."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import pytest
import yaml

from bot.service import Service, ServiceOptions
from bot.settings import Settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.fakes.telegram_server import FakeTelegram

REPO = Path(__file__).resolve().parents[2]
OLD = FeedItem("Togg T10X ihracatı başladı", link="https://n.example/togg", guid="old")
NEW = FeedItem(
    "EPDK şarj hizmeti yönetmeliğinde değişikliğe gitti",
    link="https://n.example/epdk",
    guid="new",
    summary="Elektrikli araç şarj istasyonu işletmecileri için yeni kurallar.",
)


def write_catalog(path: Path, *feeds: tuple[str, str]) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "feeds": [
                    {
                        "id": feed_id,
                        "name": f"Kaynak {feed_id}",
                        "url": url,
                        "language": "tr",
                        "interval": 1,
                    }
                    for feed_id, url in feeds
                ]
            }
        )
    )
    return path


def env_for(tmp_path: Path, **values: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    return {
        **base,
        "PYTHONPATH": str(REPO),
        "EVBOT_DATABASE_URL": f"sqlite:///{tmp_path}/e.sqlite3",
        **values,
    }


async def evbot(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env_for(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_run_console_prints_new_stories_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with FeedServer() as feeds:
        feeds.add_feed("/f.xml", entries=[OLD])
        catalog = write_catalog(tmp_path / "c.yaml", ("f", feeds.url("/f.xml")))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--console",
            cwd=tmp_path,
            env=env_for(tmp_path, EVBOT_FEEDS_FILE=str(catalog)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            # The second request means the backlog was recorded at the first.
            await feeds.wait_for_requests("/f.xml", 2, within=60)
            feeds.add_entry("/f.xml", NEW)
            assert proc.stdout is not None
            printed = ""
            async with asyncio.timeout(60):
                while "EPDK" not in printed:
                    line = await proc.stdout.readline()
                    assert line, "evbot run --console ended early"
                    printed += line.decode()
            while "Regulation" not in printed:
                printed += (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
            assert "Togg" not in printed  # the backlog is never pushed
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 15)
    assert code == 0


async def test_start_up_waits_out_a_bot_api_that_answers_502(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeTelegram() as tg:
        tg.set_unavailable(2)
        settings = Settings(
            telegram_token=tg.token,  # type: ignore[arg-type]
            telegram_api_url=tg.api_root,
            database_url=f"sqlite:///{tmp_path}/e.sqlite3",
            feeds_file=write_catalog(tmp_path / "c.yaml"),
        )
        service = Service(settings, options=ServiceOptions(telegram_poll_timeout=1))
        with caplog.at_level(logging.WARNING):
            await service.start()
        try:
            assert service.leading
            assert tg.counters["502"] == 2
            assert any(c.method == "getMe" and c.ok for c in tg.calls)
            tg.send_message(5, "/help")
            await tg.wait_for("sendMessage", chat_id=5)
            # The operator sees what is happening, in one readable line per attempt.
            assert "Telegram Bot API not available (Bad Gateway (502)); retrying" in caplog.text
            assert tg.token not in caplog.text
        finally:
            await service.stop()


async def test_feeds_list_and_check(tmp_path: Path) -> None:
    async with FeedServer() as feeds:
        feeds.add_feed("/f.xml", entries=[OLD, NEW])
        feeds.set_raw("/broken.xml", status=500, body=b"oops")
        catalog = write_catalog(
            tmp_path / "c.yaml", ("good", feeds.url("/f.xml")), ("bad", feeds.url("/broken.xml"))
        )
        settings = Settings(database_url=f"sqlite:///{tmp_path}/e.sqlite3", feeds_file=catalog)
        service = Service(settings, options=ServiceOptions(console=True))
        await service.start()
        try:
            assert service.ingestor is not None
            await service.ingestor.wait_for_pass(0)
        finally:
            await service.stop()

        code, out = await evbot(tmp_path, "feeds", "list")
        assert code == 0
        lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
        assert " ok " in lines["good"]
        assert "failing" in lines["bad"] and "500" in lines["bad"]

        code, out = await evbot(tmp_path, "feeds", "check", feeds.url("/f.xml"))
        assert code == 0
        assert "EPDK şarj hizmeti" in out
        assert "regulation" in out
        assert "no category" in out or "ev-manufacturing" in out
