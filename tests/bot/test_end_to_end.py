"""The whole service through real HTTP on loopback: feed server → evbot → Telegram Bot API.

Three users set up their chats in Telegram (one keeps everything, one narrows
to Regulation with commands, one presses keyboard buttons). The feed's backlog
is recorded without alerts; new entries reach exactly the chats following
their categories, once; a later poll sends nothing more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.service import Service, ServiceOptions
from bot.settings import Settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.fakes.telegram_server import FakeTelegram
from tests.support import FakeClock, database

FEED = "/haber.xml"
ALL_USER, REGULATION_USER, BUTTON_USER = 1001, 1002, 1003

BACKLOG = [
    FeedItem(
        "Togg T10X Avrupa'ya ihraç edilmeye başlandı",
        link="https://news.example/togg-ihracat",
        summary="Türkiye'nin elektrikli otomobili Togg ilk ihracatını yaptı.",
    ),
    FeedItem(
        "Aspilsan batarya fabrikasında üretim kapasitesini artırdı",
        link="https://news.example/aspilsan",
        summary="Elektrikli araçlar için lityum iyon batarya hücresi üretimi büyüyor.",
    ),
]

NEW_REGULATION = FeedItem(
    "EPDK şarj hizmeti yönetmeliğinde değişikliğe gitti",
    link="https://news.example/epdk-sarj?utm_source=rss",
    summary=(
        "Elektrikli araç şarj istasyonu işletmecileri için yeni lisans kuralları yürürlüğe girdi."
    ),
)
NEW_BATTERY = FeedItem(
    "Kayseri'de yeni lityum iyon batarya hücresi fabrikası temeli atıldı",
    link="https://news.example/kayseri-batarya",
    summary="Elektrikli araçlara batarya üretecek tesis 2027'de açılacak.",
)
NEW_NEGATIVE = FeedItem(
    "Yeni akıllı telefonun bataryası iki gün dayanıyor",
    link="https://news.example/telefon",
    summary="5000 mAh batarya ve hızlı şarj desteği sunuluyor.",
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with database(request.param, str(tmp_path), own_database=True) as target:
        yield target.url


async def command(tg: FakeTelegram, chat_id: int, text: str, *, replies: int = 1) -> None:
    """A user sends a command; wait for the bot's replies."""
    before = len(tg.calls_of("sendMessage", chat_id=chat_id))
    tg.send_message(chat_id, text, language_code="tr")
    await tg.wait_for("sendMessage", chat_id=chat_id, count=before + replies)


async def test_new_entries_reach_exactly_their_subscribers_once(
    tmp_path: Path, db_url: str
) -> None:
    clock = FakeClock(datetime.now(UTC))
    async with FakeTelegram() as tg, FeedServer() as feeds:
        feeds.add_feed(FEED, title="Test Haber", entries=BACKLOG)
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(
            yaml.safe_dump(
                {
                    "feeds": [
                        {
                            "id": "test-haber",
                            "name": "Test Haber · Otomobil",
                            "url": feeds.url(FEED),
                            "language": "tr",
                            "interval": 60,
                        }
                    ]
                }
            )
        )
        settings = Settings(
            telegram_token=tg.token,  # type: ignore[arg-type]
            telegram_api_url=tg.api_root,
            database_url=db_url,
            feeds_file=catalog,
            poll_interval=60,
        )
        service = Service(
            settings,
            options=ServiceOptions(tick_seconds=0.05, telegram_poll_timeout=1),
            clock=clock,
        )
        await service.start()
        try:
            assert service.ingestor is not None
            await service.ingestor.wait_for_pass(0)
            commands = tg.my_commands()
            assert {"start", "categories", "subscribe", "help"} <= {c["command"] for c in commands}

            # User 1: /start → welcome and picker, subscribed to everything.
            await command(tg, ALL_USER, "/start", replies=2)
            assert "hoş geldiniz" in tg.calls_of("sendMessage", chat_id=ALL_USER)[0].params["text"]

            # User 2 narrows with commands.
            await command(tg, REGULATION_USER, "/start", replies=2)
            await command(tg, REGULATION_USER, "/unsubscribe all")
            await command(tg, REGULATION_USER, "/subscribe regulation")
            assert "Mevzuat" in tg.last_message(REGULATION_USER).text

            # User 3 presses buttons on the picker: none, then Battery Manufacturing.
            await command(tg, BUTTON_USER, "/start", replies=2)
            picker = tg.last_message(BUTTON_USER)
            tg.press_button(BUTTON_USER, picker.message_id, "cat:*none", language_code="tr")
            await tg.wait_for("editMessageReplyMarkup", count=1)
            tg.press_button(
                BUTTON_USER, picker.message_id, "cat:battery-manufacturing", language_code="tr"
            )
            await tg.wait_for("editMessageReplyMarkup", count=2)
            edited = tg.message(BUTTON_USER, picker.message_id)
            on = [b["text"] for b in edited.buttons if b["text"].startswith("✅")]
            assert on == ["✅ Batarya Üretimi"]

            # The backlog was recorded at the first poll and pushed to nobody.
            alerts_before = [
                c
                for c in tg.calls_of("sendMessage")
                if c.params.get("parse_mode") == "HTML"
                and "news.example" in str(c.params.get("text"))
            ]
            assert alerts_before == []

            feeds.add_entry(FEED, NEW_REGULATION)
            feeds.add_entry(FEED, NEW_BATTERY)
            feeds.add_entry(FEED, NEW_NEGATIVE)
            done = service.ingestor.passes
            clock.advance(61)
            await service.ingestor.wait_for_pass(done)

            def alerts(chat_id: int) -> list[str]:
                return [
                    str(c.params["text"])
                    for c in tg.calls_of("sendMessage", chat_id=chat_id)
                    if "news.example" in str(c.params.get("text"))
                ]

            await tg.wait_until(
                lambda: (
                    len(alerts(ALL_USER)) == 2
                    and len(alerts(REGULATION_USER)) == 1
                    and len(alerts(BUTTON_USER)) == 1
                )
            )
            assert "EPDK" in alerts(REGULATION_USER)[0]
            assert "Kayseri" in alerts(BUTTON_USER)[0]
            assert not any("telefon" in a for a in alerts(ALL_USER))
            regulation_alert = tg.calls_of("sendMessage", chat_id=REGULATION_USER)[-1]
            assert regulation_alert.params["parse_mode"] == "HTML"
            text = str(regulation_alert.params["text"])
            assert "Test Haber · Otomobil" in text
            assert 'href="https://news.example/epdk-sarj?utm_source=rss"' in text
            assert "Mevzuat" in text
            why = tg.last_message(REGULATION_USER).buttons
            assert [b["text"] for b in why] == ["Neden?"]

            # The Why? button explains, in the chat's language.
            tg.press_button(
                REGULATION_USER,
                tg.last_message(REGULATION_USER).message_id,
                why[0]["callback_data"],
                language_code="tr",
            )
            answered = await tg.wait_for("answerCallbackQuery", count=3)
            assert "Mevzuat" in str(answered[-1].params.get("text"))

            # A later poll (the feed unchanged) sends nothing new.
            sent = len(tg.calls_of("sendMessage"))
            done = service.ingestor.passes
            clock.advance(61)
            await service.ingestor.wait_for_pass(done)
            assert service.storage is not None
            counts = await service.storage.outbox_counts()
            assert counts == {"sent": 4}
            assert len(tg.calls_of("sendMessage")) == sent
        finally:
            await service.stop()
