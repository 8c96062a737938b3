"""The delivery worker against the fake Bot API with the real python-telegram-bot client.

Each Telegram error kind leads to what a subscriber would want: nothing lost,
nobody unsubscribed by a passing error, nobody else held up by one chat.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot

from bot.delivery.alerts import AlertRenderer
from bot.delivery.worker import MAX_ATTEMPTS, DeliveryWorker
from bot.models import CatalogFeed, FetchRecord
from bot.storage import Storage
from bot.telegram_app.sender import TelegramSender
from rules import load_rules
from tests.fakes.telegram_server import FakeTelegram
from tests.support import FakeClock, database, store, story

RULES = load_rules()


@dataclass
class Rig:
    tg: FakeTelegram
    storage: Storage
    worker: DeliveryWorker
    clock: FakeClock
    mono: list[float]
    stories: int = 0

    async def drain(self) -> int:
        """Deliver everything due now, letting pacing time pass between rounds."""
        total = 0
        for _ in range(20):
            sent = await self.worker.run_once()
            total += sent
            if not sent and not self.worker.pacer.busy_chats():
                break
            self.mono[0] += 5
        return total

    def advance(self, seconds: float) -> None:
        """Move both the wall clock and the pacing clock."""
        self.clock.advance(seconds)
        self.mono[0] += seconds

    async def chat(self, chat_id: int, chat_type: str = "private") -> None:
        await self.storage.ensure_chat(
            chat_id, type=chat_type, title=None, language="en", now=self.clock.now()
        )
        await self.storage.set_subscriptions(chat_id, ["regulation"])

    async def stories_out(self, count: int = 1) -> None:
        new = []
        for _ in range(count):
            self.stories += 1
            n = self.stories
            new.append(
                story(
                    f"id{n}",
                    title=f"Regulation story {n} <&>",
                    summary="EPDK yönetmeliği",
                    link=f"https://news.example/{n}",
                    matches={"regulation": ["EPDK"]},
                )
            )
        record = FetchRecord(status="ok", success=True, duration=0.0, next_poll_at=self.clock.now())
        await store(
            self.storage, "f", new=new, again=[], seen=[], record=record, now=self.clock.now()
        )

    def alerts(self, chat_id: int) -> list[str]:
        return [
            str(c.params["text"]) for c in self.tg.calls_of("sendMessage", chat_id=chat_id) if c.ok
        ]


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Rig]:
    async with database("sqlite", str(tmp_path)) as target, FakeTelegram() as tg:
        storage = await Storage.open(target.url)
        await storage.sync_catalog([CatalogFeed("f", "Feed F", "http://x", "tr", None, True)])
        bot = Bot(tg.token, base_url=f"{tg.api_root}/bot")
        # Pacing runs on real monotonic time plus an offset the tests move forward.
        mono = [1000.0]
        async with bot:
            worker = DeliveryWorker(
                storage,
                TelegramSender(bot),
                AlertRenderer(lambda: RULES, ZoneInfo("Europe/Istanbul")),
                clock,
                rate_per_second=1000,
                rng=random.Random(0),
                monotonic=lambda: time.monotonic() + mono[0],
            )
            yield Rig(tg, storage, worker, clock, mono)
        await storage.close()


async def test_an_alert_is_sent_once_and_recorded(rig: Rig) -> None:
    await rig.chat(1)
    await rig.stories_out()
    assert await rig.drain() == 1
    assert await rig.drain() == 0
    [text] = rig.alerts(1)
    assert "Regulation story 1 &lt;&amp;&gt;" in text
    assert await rig.storage.outbox_counts() == {"sent": 1}


async def test_a_burst_to_one_chat_becomes_one_message(rig: Rig) -> None:
    await rig.chat(1)
    await rig.stories_out(5)
    await rig.drain()
    [text] = rig.alerts(1)
    for n in range(1, 6):
        assert f"Regulation story {n}" in text
    assert await rig.storage.outbox_counts() == {"sent": 5}


async def test_blocked_user_is_deactivated_and_not_retried(rig: Rig) -> None:
    await rig.chat(1)
    await rig.chat(2)
    rig.tg.block(1)
    await rig.stories_out(2)
    await rig.drain()
    chat = await rig.storage.chat(1)
    assert chat is not None and not chat.active
    assert len(rig.alerts(2)) == 2
    assert await rig.storage.outbox_counts() == {"sent": 2, "cancelled": 2}
    rig.advance(3600)
    await rig.drain()
    assert len(rig.tg.calls_of("sendMessage", chat_id=1)) == 1


async def test_a_transient_403_does_not_unsubscribe(rig: Rig) -> None:
    await rig.chat(1)
    rig.tg.fail_next("sendMessage", status=403, description="Forbidden: not enough rights")
    await rig.stories_out()
    await rig.drain()
    chat = await rig.storage.chat(1)
    assert chat is not None and chat.active
    rig.advance(60)
    await rig.drain()
    assert len(rig.alerts(1)) == 1


async def test_flood_wait_holds_only_that_chat(rig: Rig) -> None:
    await rig.chat(1)
    await rig.chat(2)
    rig.tg.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 30",
        chat_id=1,
        retry_after=30,
    )
    await rig.stories_out()
    await rig.drain()
    assert len(rig.alerts(2)) == 1
    assert rig.alerts(1) == []
    rig.advance(10)
    await rig.drain()
    assert rig.alerts(1) == []
    rig.advance(21)
    await rig.drain()
    assert len(rig.alerts(1)) == 1


async def test_bad_html_falls_back_to_plain_text(rig: Rig) -> None:
    await rig.chat(1)
    rig.tg.fail_next(
        "sendMessage", status=400, description="Bad Request: can't parse entities: unclosed tag"
    )
    await rig.stories_out()
    await rig.drain()
    [text] = rig.alerts(1)
    assert "Regulation story 1 <&>" in text
    assert rig.tg.calls_of("sendMessage", chat_id=1)[-1].params.get("parse_mode") is None


async def test_too_long_is_resent_without_summary(rig: Rig) -> None:
    await rig.chat(1)
    rig.tg.fail_next("sendMessage", status=400, description="Bad Request: message is too long")
    await rig.stories_out()
    await rig.drain()
    [text] = rig.alerts(1)
    assert "EPDK" not in text and "Regulation story 1" in text


async def test_server_errors_back_off_then_deliver(rig: Rig) -> None:
    await rig.chat(1)
    rig.tg.fail_next("sendMessage", status=502, description="Bad Gateway", times=2)
    await rig.stories_out()
    await rig.drain()
    assert rig.alerts(1) == []
    for _ in range(2):
        rig.advance(120)
        await rig.drain()
    assert len(rig.alerts(1)) == 1


async def test_rows_that_keep_failing_are_dead_not_lost(rig: Rig) -> None:
    await rig.chat(1)
    rig.tg.fail_next("sendMessage", status=500, description="Internal", times=MAX_ATTEMPTS)
    await rig.stories_out()
    for _ in range(MAX_ATTEMPTS):
        await rig.drain()
        rig.advance(3600)
    assert await rig.storage.outbox_counts() == {"dead": 1}
    assert rig.worker.dead == 1


async def test_migrated_group_gets_the_alert_at_its_new_id(rig: Rig) -> None:
    await rig.chat(-100, "group")
    rig.tg.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-100200,
    )
    await rig.stories_out()
    await rig.drain()
    await rig.drain()
    assert len(rig.alerts(-100200)) == 1
    assert await rig.storage.subscriptions(-100200) == {"regulation"}


async def test_chat_not_found_deactivates(rig: Rig) -> None:
    await rig.chat(1)
    rig.tg.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    await rig.stories_out()
    await rig.drain()
    chat = await rig.storage.chat(1)
    assert chat is not None and not chat.active
