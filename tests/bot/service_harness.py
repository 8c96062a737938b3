"""A running evbot service between a fake Telegram and a fake feed server, on a fake clock.

    async with running_service(tmp_path) as h:
        await h.command(1, "/start", replies=2, language_code="tr")
        await h.publish(STORY)                     # a new entry, one poll
        [alert] = await h.wait_alerts(1, 1)

Time only moves when a test says so (`h.advance`), which also wakes the
delivery worker so held alerts are looked at at once; nothing here sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.service import Service, ServiceOptions
from bot.settings import Settings
from bot.storage import Storage
from bot.telegram_app.limiter import PerChatUpdateProcessor
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.support import FakeClock

FEED_PATH = "/haber.xml"
FEED_NAME = "Test Haber"
FEED_INTERVAL = 60
ADMIN = 4242
# 09:00 UTC on a Monday: 12:00 in Istanbul.
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

BACKLOG = FeedItem(
    "Togg T10X Avrupa'ya ihraç edilmeye başlandı",
    link="https://news.example/togg-ihracat",
    summary="Türkiye'nin elektrikli otomobili Togg ilk ihracatını yaptı.",
)
REGULATION = FeedItem(
    "EPDK şarj hizmeti yönetmeliğinde değişikliğe gitti",
    link="https://news.example/epdk-sarj",
    summary=(
        "Elektrikli araç şarj istasyonu işletmecileri için yeni lisans kuralları yürürlüğe girdi."
    ),
)
BATTERY = FeedItem(
    "Kayseri'de yeni lityum iyon batarya hücresi fabrikası temeli atıldı",
    link="https://news.example/kayseri-batarya",
    summary="Elektrikli araçlara batarya üretecek tesis 2027'de açılacak.",
)


def is_alert(message: SentMessage) -> bool:
    """Alerts carry a Why? button; digests start with their 📬 heading."""
    return any(
        d.startswith("why:") for d in message.callback_data
    ) or message.plain_text.startswith("📬")


@dataclass
class Harness:
    """The running pieces and the few actions tests need."""

    tg: FakeTelegram
    feeds: FeedServer
    service: Service
    clock: FakeClock

    @property
    def storage(self) -> Storage:
        """The service's storage."""
        assert self.service.storage is not None
        return self.service.storage

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Everything the bot sent to a chat, oldest first."""
        return list(self.tg.messages.get(chat_id, []))

    def alerts(self, chat_id: int) -> list[SentMessage]:
        """The alerts (and digests) the bot sent to a chat."""
        return [m for m in self.messages(chat_id) if is_alert(m)]

    async def command(
        self, chat_id: int, text: str, *, replies: int = 1, **kwargs: Any
    ) -> list[SentMessage]:
        """Someone writes `text` in a chat; wait for `replies` new bot messages and return them."""
        before = len(self.messages(chat_id))
        self.tg.send_message(chat_id, text, **kwargs)
        await self.tg.wait_until(lambda: len(self.messages(chat_id)) >= before + replies)
        return self.messages(chat_id)[before:]

    async def press(self, chat_id: int, message_id: int, data: str, **kwargs: Any) -> str:
        """Press an inline button (any data, even forged); return the callback answer's text."""
        before = len(self.tg.calls_of("answerCallbackQuery"))
        self.tg.press_button(chat_id, message_id, data, strict=False, **kwargs)
        answers = await self.tg.wait_for("answerCallbackQuery", count=before + 1)
        return str(answers[-1].params.get("text", ""))

    async def toggle(self, chat_id: int, message_id: int, data: str, **kwargs: Any) -> None:
        """Press a picker button and wait until the picker was edited in place."""
        before = len(self.tg.calls_of("editMessageReplyMarkup"))
        self.tg.press_button(chat_id, message_id, data, **kwargs)
        await self.tg.wait_for("editMessageReplyMarkup", count=before + 1)

    async def poll(self) -> None:
        """Let a feed interval pass and wait until the feeds were polled."""
        assert self.service.ingestor is not None
        done = self.service.ingestor.passes
        self.clock.advance(FEED_INTERVAL + 1)
        await self.service.ingestor.wait_for_pass(done)
        # A pass that started before the advance may have seen nothing due.
        done = self.service.ingestor.passes
        await self.service.ingestor.wait_for_pass(done)

    async def publish(self, *items: FeedItem) -> None:
        """New entries appear in the feed; one poll picks them up."""
        for item in items:
            self.feeds.add_entry(FEED_PATH, item)
        await self.poll()

    async def wait_alerts(self, chat_id: int, count: int) -> list[SentMessage]:
        """Wait until the chat has `count` alerts; return them."""
        await self.tg.wait_until(lambda: len(self.alerts(chat_id)) >= count)
        return self.alerts(chat_id)

    async def settled(self, within: float = 60.0) -> None:
        """Wait until every update handed to the bot so far has been handled.

        Updates of different chats are handled concurrently, so an answer in one
        chat says nothing about another chat's earlier updates.
        """
        application = self.service.application
        assert application is not None
        processor = application.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        async with asyncio.timeout(within):
            await processor.wait_idle()

    async def advance(self, seconds: float) -> None:
        """Move the clock and let the delivery worker look at the outbox at once."""
        self.clock.advance(seconds)
        assert self.service.worker is not None
        self.service.worker.wake()


@asynccontextmanager
async def running_service(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    start: datetime = START,
    rules_file: Path | None = None,
    settings: dict[str, Any] | None = None,
    http_port: int | None = None,
    group_interval: float | None = None,
) -> AsyncIterator[Harness]:
    """Start fake Telegram, the feed server (one feed, one backlog entry) and the service.

    `settings` adds to (or overrides) the Settings; `http_port` serves the HTTP
    server there (0: any free port); `group_interval` shortens the spacing of
    messages to one group (tests that are not about that spacing).
    """
    clock = FakeClock(start)
    async with FakeTelegram() as tg, FeedServer() as feeds:
        feeds.add_feed(FEED_PATH, title=FEED_NAME, entries=[BACKLOG])
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(
            yaml.safe_dump(
                {
                    "feeds": [
                        {
                            "id": "test-haber",
                            "name": FEED_NAME,
                            "url": feeds.url(FEED_PATH),
                            "language": "tr",
                            "interval": FEED_INTERVAL,
                        }
                    ]
                }
            )
        )
        values: dict[str, Any] = {
            "telegram_token": tg.token,
            "telegram_api_url": tg.api_root,
            "database_url": database_url or f"sqlite:///{tmp_path}/evbot.sqlite3",
            "feeds_file": catalog,
            "poll_interval": FEED_INTERVAL,
            "admin_ids": frozenset({ADMIN}),
            "rules_file": rules_file,
            **(settings or {}),
        }
        service = Service(
            Settings(**values),
            options=ServiceOptions(
                tick_seconds=0.05,
                telegram_poll_timeout=1,
                http_port=http_port,
                group_interval=group_interval,
            ),
            clock=clock,
        )
        await service.start()
        try:
            assert service.ingestor is not None
            await service.ingestor.wait_for_pass(0)  # the backlog is recorded, not pushed
            yield Harness(tg, feeds, service, clock)
        finally:
            await service.stop()
