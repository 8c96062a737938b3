"""Hostile input from outside, through the fake Bot API and the fake feed server.

Each test is a finding of probing the running bot: a feed title that makes
classification slow, a command flood, long arguments, an over-long broadcast.
The bot must keep answering everyone else, and answer the sender sensibly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select

from bot.delivery.render import TELEGRAM_TEXT_LIMIT
from bot.storage import MAX_KEYWORDS, schema
from bot.telegram_app.throttle import COMMAND_LIMIT
from rules import RuleSet
from tests.bot.service_harness import ADMIN, FEED_INTERVAL, FEED_PATH, REGULATION, Harness
from tests.bot.service_harness import running_service as harness
from tests.fakes.feed_xml import FeedItem

HOSTILE = FeedItem(
    "EPDK şarj yönetmeliği " + "a" * 200,
    link="https://news.example/hostile",
    summary="Elektrikli araç şarj istasyonu yönetmeliği.",
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as running:
        yield running


class SlowRules:
    """The real rules, except that classifying the hostile title blocks until released.

    `release.wait` lets go of the GIL, as slow pure-Python work does now and then.
    The wait has a cap so that old code, which classified on the event loop,
    fails the test instead of hanging it.
    """

    def __init__(self, real: RuleSet, slow_title: str) -> None:
        self.real = real
        self.slow_title = slow_title
        self.entered = threading.Event()
        self.release = threading.Event()
        self.inside = False

    def classify(self, title: str, summary: str = "", language: str | None = None) -> Any:
        if title == self.slow_title:
            self.inside = True
            self.entered.set()
            try:
                self.release.wait(timeout=5)
            finally:
                self.inside = False
        return self.real.classify(title, summary, language)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def use_slow_rules(h: Harness, title: str) -> SlowRules:
    slow = SlowRules(h.service.rules.value, title)
    h.service.rules.value = cast(RuleSet, slow)
    return slow


async def item_categories(h: Harness, title: str) -> list[str] | None:
    for item in await h.storage.latest_items(limit=50):
        if item.title == title:
            return list(item.categories)
    return None


async def test_a_slow_classification_stalls_neither_replies_nor_other_alerts(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await h.command(1, "/start", replies=2, language_code="en")
    ingestor = h.service.ingestor
    assert ingestor is not None
    slow = use_slow_rules(h, HOSTILE.title)
    try:
        # While the hostile item is being classified (budget not yet spent), chats get answers.
        ingestor.classifier.budget = 30.0
        h.feeds.add_entry(FEED_PATH, HOSTILE)
        done = ingestor.passes
        h.clock.advance(FEED_INTERVAL + 1)
        assert await asyncio.to_thread(slow.entered.wait, 10)
        [reply] = await h.command(2, "/help", language_code="en")
        assert "/subscribe" in reply.plain_text
        assert slow.inside, "the reply had to wait for the classification"
        slow.release.set()
        await ingestor.wait_for_pass(done)
        await ingestor.wait_for_pass(ingestor.passes)
        assert "regulation" in (await item_categories(h, HOSTILE.title) or [])

        # Over budget: stored uncategorised with a logged reason; the next story is alerted.
        slow.slow_title = "Yet another hostile title " + "b" * 200
        slow.release.clear()
        ingestor.classifier.budget = 0.2
        caplog.set_level(logging.WARNING, logger="bot.ingest.outcome")
        h.feeds.add_entry(
            FEED_PATH, FeedItem(slow.slow_title, link="https://news.example/hostile-2")
        )
        await h.publish(REGULATION)
        [alert] = await h.wait_alerts(1, 1)
        assert "EPDK" in alert.plain_text
        assert await item_categories(h, slow.slow_title) == []
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            "test-haber" in w
            and "https://news.example/hostile-2" in w
            and "uncategorised" in w
            and "longer than 0.2 s" in w
            for w in warnings
        ), warnings
    finally:
        slow.release.set()


async def test_a_command_flood_gets_one_slow_down_then_silence(h: Harness) -> None:
    """300 /help in a burst made ~600 sends, most refused by Telegram with 429."""
    now = [0.0]
    h.service.throttle.clock = lambda: now[0]
    await h.command(1, "/start", replies=2, language_code="tr")
    before = len(h.tg.calls_of("sendMessage", chat_id=1))
    for _ in range(300):
        h.tg.send_message(1, "/help", language_code="tr")
    # Once chat 2 is answered every update before it was handed over; chats run
    # concurrently, so wait until all of them were handled.
    await h.command(2, "/help", language_code="en")
    await h.settled()
    sent = [c.params["text"] for c in h.tg.calls_of("sendMessage", chat_id=1)[before:]]
    warnings = [text for text in sent if "çok fazla komut" in text]
    assert len(warnings) == 1, "warned once, in the chat's language"
    assert "60 saniye" in warnings[0]
    assert len(sent) == COMMAND_LIMIT  # /start counted: limit - 1 answers, then the warning

    # Still silent within the window; answered again once it has passed.
    now[0] += 30
    h.tg.send_message(1, "/help", language_code="tr")
    await h.command(2, "/help", language_code="en")
    await h.settled()
    assert len(h.tg.calls_of("sendMessage", chat_id=1)) == before + len(sent)
    now[0] += 31
    [reply] = await h.command(1, "/help", language_code="tr")
    assert "/subscribe" in reply.plain_text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/subscribe " + "x" * 4000, "Unknown category: " + "x" * 39 + "…"),
        ("/unsubscribe " + "ab " * 1300, "(+1290)"),
        ("/latest " + "q" * 4000, "Unknown category"),
        ("/keywords remove " + "z" * 4000, "Not a keyword of this chat"),
        ("/keywords add " + "z" * 4000, "longer than 100"),
        ("/timezone " + "Europe/" * 570, "Unknown time zone"),
        ("/quiet " + "22:00-" * 680, "Usage: /quiet"),
        ("/digest daily " + "0" * 4000, "Usage: /digest"),
        ("/lang " + "tr " * 1300, "Usage: /lang"),
    ],
)
async def test_long_arguments_get_a_short_answer(h: Harness, command: str, expected: str) -> None:
    """Echoing 4,000 characters made a reply Telegram refused, then "Something went wrong"."""
    await h.command(1, "/start", replies=2, language_code="en")
    [reply] = await h.command(1, command[:TELEGRAM_TEXT_LIMIT])
    assert expected in reply.plain_text
    assert "went wrong" not in reply.plain_text


async def test_an_over_long_broadcast_is_refused_up_front(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="en")
    # It used to be cut at 4,096 code points silently (and emoji count double in UTF-16).
    [reply] = await h.command(ADMIN, "/broadcast " + "x" * 4000 + "🔋" * 100)
    assert "Too long for one Telegram message: 4200 characters, at most 4096" in reply.plain_text
    assert (await h.storage.outbox_counts()).get("pending", 0) == 0


async def test_a_broadcast_telegram_refuses_as_too_long_ends_dead(h: Harness) -> None:
    """It used to be retried for ever, never marked dead."""
    await h.command(1, "/start", replies=2, language_code="en")
    assert await h.storage.enqueue_broadcast("x" * 5000, h.clock.now()) == 1
    worker = h.service.worker
    assert worker is not None
    worker.wake()
    await h.tg.wait_until(lambda: worker.dead >= 1)
    async with h.storage.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(schema.outbox.c.status, schema.outbox.c.last_error).where(
                    schema.outbox.c.kind == "broadcast"
                )
            )
        ).all()
    [(status, error)] = rows
    assert status == "dead"
    assert "too long" in error.lower()
    refused = h.tg.calls_of("sendMessage", chat_id=1, ok=False)
    assert len(refused) == 2  # the message, and its one fallback


async def test_a_chat_that_cannot_be_loaded_gets_one_apology_and_no_second_failure(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # The chats table is gone: loading a new chat fails as it would with the database away.
    async with h.storage.engine.begin() as conn:
        await conn.exec_driver_sql("ALTER TABLE chats RENAME TO chats_away")
    with caplog.at_level(logging.ERROR):
        await h.command(4242, "/start", language_code="en")
        async with h.storage.engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE chats_away RENAME TO chats")
        # One chat's updates are handled in order: once /help is answered, anything
        # the failed /start could still have sent has been sent.
        await h.command(4242, "/help", language_code="en")
    first, second = h.messages(4242)
    assert "Something went wrong" in first.plain_text
    assert "/start" in second.plain_text and "Something went wrong" not in second.plain_text
    assert not any("no chat row loaded" in str(r.exc_info) for r in caplog.records)


async def test_sql_and_html_in_arguments_are_only_ever_text(h: Harness) -> None:
    """Arguments reach the database as bound values and the chat as escaped text."""
    await h.command(1, "/start", replies=2, language_code="en")
    subscribed = await h.storage.subscriptions(1)
    assert subscribed
    [added] = await h.command(1, "/keywords add <b>şarj</b>")
    assert "<b>şarj</b>" in added.plain_text  # shown as typed, not as bold
    [listed] = await h.command(1, "/keywords")
    assert "<b>şarj</b>" in listed.plain_text
    [refused] = await h.command(1, "/keywords add batarya' OR '1'='1")
    assert "Added" not in refused.plain_text
    [missing] = await h.command(1, "/keywords remove x'); DROP TABLE chats;--")
    assert "Not a keyword of this chat: x'); DROP TABLE chats;--" in missing.plain_text
    [unknown] = await h.command(1, '/subscribe <a href="tg://x">y</a>\'; DELETE FROM subscriptions')
    assert 'Unknown category: <a href="tg://x">y</a>' in unknown.plain_text
    [zone] = await h.command(1, "/timezone '; UPDATE chats SET language='xx';--")
    assert "Unknown time zone" in zone.plain_text
    # Nothing was run as SQL: the chat, its keyword and its subscriptions are as they were.
    assert await h.storage.keywords(1) == ["<b>şarj</b>"]
    assert await h.storage.subscriptions(1) == subscribed
    [help_] = await h.command(1, "/help")
    assert "/subscribe" in help_.plain_text  # still in English


async def test_a_chat_can_keep_only_so_many_keywords(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="en")
    for n in range(MAX_KEYWORDS):
        await h.storage.add_keyword(1, f"kelime{n}")
    [full] = await h.command(1, "/keywords add togg")
    assert f"at most {MAX_KEYWORDS} keywords" in full.plain_text
    assert len(await h.storage.keywords(1)) == MAX_KEYWORDS
    assert "togg" not in await h.storage.keywords(1)
