"""Overlapping sends, one budget for replies and alerts, crowds, bundles, paid broadcasts.

The worker and the bot talk to the fake Bot API through the real
python-telegram-bot client; the fake can answer late, like api.telegram.org.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot, Update

from bot.delivery.alerts import AlertRenderer
from bot.delivery.pacing import Pacer, Rank, SendGate
from bot.delivery.render import AlertView, RenderedMessage, render_digest
from bot.delivery.worker import DeliveryWorker
from bot.i18n import t
from bot.models import CatalogFeed, FetchRecord
from bot.storage import Storage
from bot.telegram_app.callbacks import parse_why, why_data
from bot.telegram_app.limiter import PacedRateLimiter, PerChatUpdateProcessor
from bot.telegram_app.sender import TelegramSender
from rules import load_rules
from tests.bot.service_harness import Harness, running_service
from tests.fakes.telegram_server import FakeTelegram
from tests.support import FakeClock, database, store, story

RULES = load_rules()


@dataclass
class WatchingSender:
    """The real sender, counting how many sends are in flight overall and per chat."""

    inner: TelegramSender
    now: dict[int, int] = field(default_factory=Counter)
    most_per_chat: int = 0
    most_overall: int = 0
    overall: int = 0

    async def send(self, chat_id: int, message: RenderedMessage) -> int | None:
        self.now[chat_id] += 1
        self.overall += 1
        self.most_per_chat = max(self.most_per_chat, self.now[chat_id])
        self.most_overall = max(self.most_overall, self.overall)
        try:
            return await self.inner.send(chat_id, message)
        finally:
            self.now[chat_id] -= 1
            self.overall -= 1


@dataclass
class Rig:
    tg: FakeTelegram
    storage: Storage
    bot: Bot
    clock: FakeClock

    async def chats(self, count: int) -> None:
        for chat_id in range(1, count + 1):
            await self.storage.ensure_chat(
                chat_id, type="private", title=None, language="en", now=self.clock.now()
            )
            await self.storage.set_subscriptions(chat_id, ["regulation"])

    async def stories_out(self, first: int, count: int) -> None:
        new = [
            story(f"s{n}", title=f"Regulation story {n}", matches={"regulation": ["EPDK"]})
            for n in range(first, first + count)
        ]
        record = FetchRecord(status="ok", success=True, duration=0.0, next_poll_at=self.clock.now())
        await store(self.storage, "f", new=new, record=record, now=self.clock.now())

    def worker(self, sender: object, gate: SendGate, **kwargs: object) -> DeliveryWorker:
        return DeliveryWorker(
            self.storage,
            sender,  # type: ignore[arg-type]
            AlertRenderer(lambda: RULES, ZoneInfo("Europe/Istanbul")),
            self.clock,
            gate=gate,
            **kwargs,  # type: ignore[arg-type]
        )

    async def deliver(self, worker: DeliveryWorker, count: int) -> None:
        """Run the worker until `count` messages went out."""
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, idle_wait=0.05))
        try:
            await worker.wait_until(lambda: worker.sent >= count, within=60)
        finally:
            stop.set()
            await task


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Rig]:
    async with database("sqlite", str(tmp_path)) as target, FakeTelegram() as tg:
        storage = await Storage.open(target.url)
        await storage.sync_catalog([CatalogFeed("f", "Feed F", "http://x", "tr", None, True)])
        bot = Bot(tg.token, base_url=f"{tg.api_root}/bot")
        async with bot:
            yield Rig(tg, storage, bot, clock)
        await storage.close()


def fast_gate(rate: float = 1000.0) -> SendGate:
    """A gate with short per-chat spacing, so a test sees several rounds quickly."""
    return SendGate(Pacer(rate_per_second=rate, private_interval=0.02, clock=time.monotonic))


async def test_sends_overlap_but_never_two_at_once_to_one_chat(rig: Rig) -> None:
    rig.tg.set_answer_delay(0.05)
    await rig.chats(12)
    await rig.stories_out(1, 3)  # three each: not bundled, so three messages per chat
    sender = WatchingSender(TelegramSender(rig.bot))
    worker = rig.worker(sender, fast_gate(), max_in_flight=8)
    await rig.deliver(worker, 36)

    assert sender.most_overall > 1, "sends should overlap when the Bot API answers slowly"
    assert sender.most_overall <= 8
    assert sender.most_per_chat == 1
    for chat_id in range(1, 13):
        texts = [str(c.params["text"]) for c in rig.tg.calls_of("sendMessage", chat_id=chat_id)]
        numbers = [int(m) for t in texts for m in re.findall(r"Regulation story (\d+)", t)]
        assert numbers == [1, 2, 3], f"chat {chat_id} got {numbers}"
    assert await rig.storage.outbox_counts() == {"sent": 36}


async def test_a_round_trip_does_not_slow_delivery_to_one_at_a_time(rig: Rig) -> None:
    rig.tg.set_answer_delay(0.1)
    await rig.chats(40)
    await rig.stories_out(1, 1)
    worker = rig.worker(TelegramSender(rig.bot), fast_gate(), max_in_flight=20)
    started = time.monotonic()
    await rig.deliver(worker, 40)
    # One at a time, 40 round trips of 100 ms take at least 4 s.
    assert time.monotonic() - started < 3.5


async def test_paid_broadcast_passes_the_flag_on_every_alert(rig: Rig) -> None:
    await rig.chats(20)
    await rig.stories_out(1, 1)
    gate = SendGate(Pacer(rate_per_second=30, clock=time.monotonic))
    sender = TelegramSender(rig.bot, paid_broadcast=True)
    worker = rig.worker(sender, gate, max_in_flight=10, paid_broadcast=True)
    await rig.deliver(worker, 20)

    calls = rig.tg.calls_of("sendMessage", ok=True)
    assert len(calls) == 20
    assert all(c.params.get("allow_paid_broadcast") is True for c in calls)


async def _grant(gate: SendGate, chats: range, *, paid: bool) -> float:
    """Seconds the gate takes to grant one slot to each chat (each send answered at once)."""

    async def one(chat_id: int) -> None:
        async with gate.slot(chat_id, paid=paid):
            pass

    started = time.monotonic()
    await asyncio.gather(*(one(c) for c in chats))
    return time.monotonic() - started


async def test_paid_broadcasts_are_paced_at_the_higher_global_rate() -> None:
    gate = SendGate(Pacer(rate_per_second=30, clock=time.monotonic))
    # 150 sends: five seconds at the free 30/s, 0.15 s at the paid 1,000/s.
    assert await _grant(gate, range(1, 151), paid=True) < 2.0
    # The free lane is untouched by the paid one, and still keeps to 30/s.
    assert await _grant(gate, range(201, 232), paid=False) >= 1.0


async def test_a_bundle_has_a_numbered_why_button_for_each_story(rig: Rig) -> None:
    await rig.chats(1)
    await rig.stories_out(1, 5)
    worker = rig.worker(TelegramSender(rig.bot), fast_gate(), bundle_over=3)
    await rig.deliver(worker, 1)
    [bundle] = rig.tg.messages[1]
    items = [d for d in bundle.callback_data if d.startswith("why:")]
    assert len(items) == 5
    labels = [b["text"] for b in bundle.buttons]
    assert labels == [f"{n} · Why?" for n in range(1, 6)]
    for n in range(1, 6):
        assert f"{n}. " in bundle.plain_text


async def test_the_bundle_threshold_is_a_setting(rig: Rig) -> None:
    await rig.chats(1)
    await rig.stories_out(1, 5)
    worker = rig.worker(TelegramSender(rig.bot), fast_gate(), bundle_over=5)
    await rig.deliver(worker, 5)
    assert len(rig.tg.messages[1]) == 5  # five is not "more than five": one by one


@pytest.mark.parametrize(("lang", "words"), [("en", "numbered"), ("tr", "numaralı")])
def test_help_tells_about_bundles_and_their_why_buttons(lang: str, words: str) -> None:
    text = t(lang, "help", categories="", bot="evbot_bot")
    assert words in text and t(lang, "why_button") in text


def test_digest_numbers_follow_the_lines_and_buttons_name_their_story() -> None:
    seen = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    views = [
        AlertView(
            item_id=100 + n,
            title=f"Story {n}",
            summary="",
            link=None,
            sources=["Src"],
            seen_at=seen.replace(minute=n),
            category_names=["Regulation" if n % 2 else "Charging"],
            hashtags=[],
        )
        for n in range(4)
    ]
    [message] = render_digest(views, lang="en", tz=ZoneInfo("UTC"))
    lines = [line for line in message.plain.splitlines() if re.match(r"\d+\. ", line)]
    for line, button in zip(lines, message.buttons, strict=True):
        number, title = re.match(r"(\d+)\. (Story \d+)", line).groups()  # type: ignore[union-attr]
        assert button.label.startswith(f"{number} ")
        item_id = parse_why(button.data)
        assert item_id is not None and button.data == why_data(item_id)
        assert title == f"Story {item_id - 100}"


# --------------------------------------------------------------------------- replies


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_service(tmp_path) as harness:
        yield harness


async def test_a_429_on_a_command_reply_is_waited_out_and_retried(h: Harness) -> None:
    h.tg.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 1",
        chat_id=5,
        retry_after=1,
    )
    h.tg.send_message(5, "/help", language_code="en")
    [sent] = await h.tg.wait_for("sendMessage", chat_id=5, ok=True)
    [refused] = [c for c in h.tg.calls_of("sendMessage", chat_id=5) if c.status == 429]
    assert "/categories" in str(sent.params["text"])
    assert sent.at - refused.at >= 1.0


async def test_a_crowd_of_new_users_is_welcomed_within_telegrams_limits(h: Harness) -> None:
    h.tg.set_limits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
    users = range(1001, 1041)
    for chat_id in users:
        h.tg.send_message(chat_id, "/start", language_code="en")
    # Everyone gets the welcome and the category picker, nobody is refused.
    await h.tg.wait_until(
        lambda: all(len(h.tg.messages.get(c, [])) >= 2 for c in users), timeout=60
    )
    assert all("Welcome" in h.tg.messages[c][0].plain_text for c in users)
    assert h.tg.counters["429"] == 0


async def test_one_chats_slow_command_does_not_hold_up_another_chat(h: Harness) -> None:
    # Chat 7's reply is refused for 3 s; chat 8 is answered meanwhile.
    h.tg.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 3",
        chat_id=7,
        retry_after=3,
    )
    h.tg.send_message(7, "/help", language_code="en")
    await h.tg.wait_for("sendMessage", chat_id=7)
    h.tg.send_message(8, "/help", language_code="en")
    [other] = await h.tg.wait_for("sendMessage", chat_id=8, ok=True)
    [seven] = await h.tg.wait_for("sendMessage", chat_id=7, ok=True, timeout=15)
    assert other.at < seven.at


# --------------------------------------------------------------------------- ranks


async def test_first_answers_go_before_further_answers_and_those_before_alerts() -> None:
    # A slow global lane (one send per 50 ms): the waiters are granted one by one.
    gate = SendGate(Pacer(rate_per_second=20, clock=time.monotonic))
    order: list[str] = []

    async def send(name: str, chat_id: int, rank: Rank) -> None:
        async with gate.slot(chat_id, rank=rank):
            order.append(name)

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(send("warm-up", 1, Rank.ALERT))
        await asyncio.sleep(0)  # takes the first slot; the others queue behind it
        tasks.create_task(send("alert", 2, Rank.ALERT))
        tasks.create_task(send("picker", 3, Rank.REPLY))
        tasks.create_task(send("welcome", 4, Rank.FIRST_REPLY))
    assert order == ["warm-up", "welcome", "picker", "alert"]


async def test_an_update_waiting_to_send_lets_the_next_update_start() -> None:
    # One place among running updates: without giving it back while waiting for
    # a slot, the second chat's handler could not even start before the first sent.
    gate = SendGate(Pacer(rate_per_second=30, clock=time.monotonic))
    limiter = PacedRateLimiter(gate)
    processor = PerChatUpdateProcessor(max_running=1)
    first_waiting = asyncio.Event()
    let_first_send = asyncio.Event()
    second_started = asyncio.Event()

    async def blocked_send() -> bool:
        await let_first_send.wait()
        return True

    async def first_handler() -> None:
        first_waiting.set()
        await limiter.process_request(blocked_send, (), {}, "sendMessage", {"chat_id": 1}, None)

    async def second_handler() -> None:
        second_started.set()

    first = asyncio.create_task(processor.do_process_update(update_from(1), first_handler()))
    await asyncio.wait_for(first_waiting.wait(), 5)
    second = asyncio.create_task(processor.do_process_update(update_from(2), second_handler()))
    await asyncio.wait_for(second_started.wait(), 5)
    let_first_send.set()
    await asyncio.wait_for(asyncio.gather(first, second), 5)


def update_from(chat_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": chat_id,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "text": "/start",
            },
        },
        None,
    )
