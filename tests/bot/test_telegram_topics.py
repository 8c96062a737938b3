"""Forum topics: /topics on|off, alerts in their category's topic, a deleted topic → General."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.error import BadRequest

from bot.delivery.failures import FailureKind
from bot.delivery.threads import is_thread_gone, thread_for
from bot.models import AlertReason, CatalogFeed, Delivery, FetchRecord, ItemRow, OutboxKind
from bot.storage import Storage
from bot.telegram_app.sender import classify_error
from tests.bot.service_harness import BATTERY, REGULATION, Harness, running_service
from tests.fakes.feed_xml import FeedItem
from tests.fakes.telegram_server import SentMessage
from tests.support import FakeClock, database, store, story

FORUM, PLAIN_GROUP = -1000000000777, -1000000000888
OWNER, MEMBER = 7, 8

# Micro mobility and regulation at once: micro mobility comes first in the rules.
SCOOTER_RULES = FeedItem(
    "Bakanlık elektrikli scooter yönetmeliğini yayımladı",
    link="https://news.example/scooter-yonetmelik",
    summary="Paylaşımlı scooter işletmecileri için yeni kurallar.",
)
REGULATION_2 = FeedItem(
    "Yeni yönetmelik ile şarj istasyonu işletmecilerine lisans zorunluluğu getirildi",
    link="https://news.example/sarj-lisans",
    summary="EPDK kararı yarın yürürlüğe giriyor.",
)
REGULATION_3 = FeedItem(
    "EPDK elektrikli araç şarj lisans yönetmeliği yürürlüğe girdi",
    link="https://news.example/epdk-lisans-yururluk",
    summary="Düzenleme resmi gazetede yayımlandı.",
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_service(tmp_path, group_interval=0.1) as harness:
        harness.tg.make_forum(FORUM, title="EV Forum")
        harness.tg.set_admins(FORUM, [OWNER, harness.tg.bot_id])
        yield harness


def in_forum(user: int = OWNER, lang: str = "tr") -> dict[str, Any]:
    return {"user_id": user, "chat_type": "supergroup", "language_code": lang}


async def forum_following(h: Harness, *categories: str, lang: str = "tr") -> None:
    """The forum's owner starts the bot and narrows it to these categories."""
    await h.command(FORUM, "/start", replies=2, **in_forum(lang=lang))
    await h.command(FORUM, "/unsubscribe all", **in_forum(lang=lang))
    await h.command(FORUM, "/subscribe " + " ".join(categories), **in_forum(lang=lang))


def thread_of(h: Harness, name: str) -> int:
    return next(thread for thread, shown in h.tg.topics[FORUM].items() if shown == name)


async def test_topics_on_creates_a_topic_per_category_once_and_alerts_land_in_them(
    h: Harness,
) -> None:
    await forum_following(h, "regulation", "battery-manufacturing", "micro-mobility")
    [state] = await h.command(FORUM, "/topics", **in_forum())
    assert "Konular kapalı" in state.plain_text

    [on] = await h.command(FORUM, "/topics on", **in_forum())
    assert "Konular açık" in on.plain_text
    # Named in the chat's language, in the rules' order.
    assert [c.params["name"] for c in h.tg.calls_of("createForumTopic", ok=True)] == [
        "Batarya Üretimi",
        "Mikromobilite",
        "Mevzuat",
    ]
    assert "• Mevzuat" in on.plain_text

    # A second /topics on reuses them.
    [again] = await h.command(FORUM, "/topics on", **in_forum())
    assert "Konular açık" in again.plain_text
    assert len(h.tg.calls_of("createForumTopic")) == 3
    assert len(h.tg.topics[FORUM]) == 3

    await h.publish(REGULATION)
    [alert] = await h.wait_alerts(FORUM, 1)
    assert "EPDK" in alert.plain_text and alert.thread_id == thread_of(h, "Mevzuat")
    await h.publish(BATTERY)
    alerts = await h.wait_alerts(FORUM, 2)
    assert alerts[1].thread_id == thread_of(h, "Batarya Üretimi")
    # Two categories followed: the first in the rules' order has it.
    await h.publish(SCOOTER_RULES)
    alerts = await h.wait_alerts(FORUM, 3)
    assert "scooter" in alerts[2].plain_text
    assert alerts[2].thread_id == thread_of(h, "Mikromobilite")

    [state] = await h.command(FORUM, "/topics", **in_forum())
    assert "Konular açık" in state.plain_text and "Batarya Üretimi" in state.plain_text


async def test_a_new_subscription_gets_its_topic_and_topics_off_posts_in_general(
    h: Harness,
) -> None:
    await forum_following(h, "battery-manufacturing", lang="en")
    await h.command(FORUM, "/topics on", **in_forum(lang="en"))
    assert list(h.tg.topics[FORUM].values()) == ["Battery Manufacturing"]

    await h.command(FORUM, "/subscribe regulation", **in_forum(lang="en"))
    assert sorted(h.tg.topics[FORUM].values()) == ["Battery Manufacturing", "Regulation"]
    await h.publish(REGULATION)
    [alert] = await h.wait_alerts(FORUM, 1)
    assert alert.thread_id == thread_of(h, "Regulation")

    [off] = await h.command(FORUM, "/topics off", **in_forum(lang="en"))
    assert "Topics off" in off.plain_text
    await h.publish(BATTERY)
    alerts = await h.wait_alerts(FORUM, 2)
    assert alerts[1].thread_id is None
    # Back on: the same topics, none created.
    before = len(h.tg.calls_of("createForumTopic"))
    await h.command(FORUM, "/topics on", **in_forum(lang="en"))
    assert len(h.tg.calls_of("createForumTopic")) == before


def notices(h: Harness, word: str) -> list[SentMessage]:
    return [m for m in h.messages(FORUM) if word in m.plain_text and m.thread_id is None]


@pytest.mark.parametrize(("lang", "word"), [("tr", "silindi"), ("en", "was deleted")])
async def test_a_deleted_topic_falls_back_to_general_with_one_notice(
    h: Harness, lang: str, word: str
) -> None:
    await forum_following(h, "regulation", lang=lang)
    await h.command(FORUM, "/topics on", **in_forum(lang=lang))
    h.tg.delete_topic(FORUM, next(iter(h.tg.topics[FORUM])))

    await h.publish(REGULATION)
    [alert] = await h.wait_alerts(FORUM, 1)
    assert "EPDK" in alert.plain_text and alert.thread_id is None  # resent to General
    refused = [c for c in h.tg.calls_of("sendMessage") if not c.ok]
    assert refused and "message thread not found" in str(refused[0].response)
    await h.tg.wait_until(lambda: len(notices(h, word)) == 1)
    assert "/topics on" in notices(h, word)[0].plain_text
    assert await h.storage.chat_topics(FORUM) == {}

    # Later alerts go to General without an error or a second notice.
    failed = len(refused)
    await h.publish(REGULATION_2, REGULATION_3)
    alerts = await h.wait_alerts(FORUM, 3)
    assert all(a.thread_id is None for a in alerts)
    assert len([c for c in h.tg.calls_of("sendMessage") if not c.ok]) == failed
    assert len(notices(h, word)) == 1

    # /topics on creates it again.
    await h.command(FORUM, "/topics on", **in_forum(lang=lang))
    assert len(h.tg.topics[FORUM]) == 1


async def test_a_closed_topic_sends_to_general_and_keeps_the_topic_for_when_it_reopens(
    h: Harness,
) -> None:
    await forum_following(h, "regulation", lang="en")
    await h.command(FORUM, "/topics on", **in_forum(lang="en"))
    thread = thread_of(h, "Regulation")
    # A bot that may manage topics still posts in a closed one, as Telegram allows.
    h.tg.close_topic(FORUM, thread)
    await h.publish(REGULATION)
    [alert] = await h.wait_alerts(FORUM, 1)
    assert alert.thread_id == thread

    # An admin takes that right away: the closed topic refuses, General gets the alert.
    h.tg.admin_rights[(FORUM, h.tg.bot_id)] = {"can_manage_topics": False}
    await h.publish(REGULATION_2)
    alerts = await h.wait_alerts(FORUM, 2)
    assert "lisans" in alerts[1].plain_text and alerts[1].thread_id is None
    refused = [c for c in h.tg.calls_of("sendMessage") if not c.ok]
    assert refused and "TOPIC_CLOSED" in str(refused[-1].response)
    # Nothing forgotten and nobody told: the topic is only closed.
    assert await h.storage.chat_topics(FORUM) == {"regulation": (thread, "Regulation")}
    assert not notices(h, "was deleted")

    h.tg.close_topic(FORUM, thread, closed=False)
    await h.publish(REGULATION_3)
    alerts = await h.wait_alerts(FORUM, 3)
    assert "yürürlüğe" in alerts[2].plain_text and alerts[2].thread_id == thread


def test_telegram_errors_about_topics_are_told_apart() -> None:
    assert classify_error(BadRequest("Bad Request: TOPIC_CLOSED")).kind is (
        FailureKind.THREAD_CLOSED
    )
    assert classify_error(BadRequest("Bad Request: message thread not found")).kind is (
        FailureKind.THREAD_GONE
    )


@pytest.mark.parametrize(
    ("lang", "private", "not_forum"),
    [
        ("en", "Topics are for forum groups", "This group has no topics"),
        ("tr", "Konular forum grupları içindir", "Bu grubun konuları yok"),
    ],
)
async def test_topics_outside_a_forum_gives_a_hint(
    h: Harness, lang: str, private: str, not_forum: str
) -> None:
    await h.command(1, "/start", replies=2, language_code=lang)
    [hint] = await h.command(1, "/topics on", language_code=lang)
    assert private in hint.plain_text
    h.tg.set_admins(PLAIN_GROUP, [OWNER])
    group = {"user_id": OWNER, "chat_type": "supergroup", "language_code": lang}
    await h.command(PLAIN_GROUP, "/start", replies=2, **group)
    [hint] = await h.command(PLAIN_GROUP, "/topics on", **group)
    assert not_forum in hint.plain_text
    assert h.tg.calls_of("createForumTopic") == []


@pytest.mark.parametrize(
    ("lang", "no_rights", "admins_only"),
    [
        ("en", "Manage topics", "Only the group's administrators"),
        ("tr", "Konuları yönet", "yalnızca yöneticileri"),
    ],
)
async def test_topics_need_the_right_and_an_admin(
    h: Harness, lang: str, no_rights: str, admins_only: str
) -> None:
    await forum_following(h, "regulation", lang=lang)
    [refused] = await h.command(FORUM, "/topics on", **in_forum(MEMBER, lang))
    assert admins_only in refused.plain_text

    h.tg.admin_rights[(FORUM, h.tg.bot_id)] = {"can_manage_topics": False}
    [told] = await h.command(FORUM, "/topics on", **in_forum(lang=lang))
    assert no_rights in told.plain_text
    h.tg.set_admins(FORUM, [OWNER])  # the bot is no administrator at all
    [told] = await h.command(FORUM, "/topics on", **in_forum(lang=lang))
    assert no_rights in told.plain_text
    assert h.tg.calls_of("createForumTopic") == []
    assert not (await h.storage.chat(FORUM) or pytest.fail("no chat")).topics

    # Reading the state is open to everyone.
    [state] = await h.command(FORUM, "/topics", **in_forum(MEMBER, lang))
    assert "/topics on" in state.plain_text


async def test_topics_is_in_help_and_the_menu(h: Harness) -> None:
    for lang in ("en", "tr"):
        [shown] = await h.command(1, "/help", language_code=lang)
        assert "/topics on|off" in shown.plain_text
        menu = h.tg.my_commands(language_code=lang) if lang == "tr" else h.tg.my_commands()
        assert "topics" in {c["command"] for c in menu}


async def test_topic_storage_and_due_threads(storage: Storage, clock: FakeClock) -> None:
    chat = -1000000000999
    await storage.ensure_chat(chat, type="supergroup", title="F", language="tr", now=clock.now())
    await storage.set_subscriptions(chat, ["regulation", "ev-market"])
    await storage.add_topic(chat, "regulation", 11, "Mevzuat", clock.now())
    await storage.add_topic(chat, "ev-market", 12, "Pazar", clock.now())
    await storage.add_topic(chat, "ev-market", 13, "Elektrikli Araç Pazarı", clock.now())
    assert await storage.chat_topics(chat) == {
        "regulation": (11, "Mevzuat"),
        "ev-market": (13, "Elektrikli Araç Pazarı"),
    }
    await storage.sync_catalog(
        [CatalogFeed("f1", "Feed", "http://127.0.0.1/f.xml", "tr", None, True)]
    )
    record = FetchRecord(status="ok", success=True, duration=0.1, next_poll_at=clock.now())
    await store(storage, "f1", new=[story("e1")], record=record, now=clock.now())
    [row] = await storage.due_deliveries(clock.now())
    assert row.kind is OutboxKind.ALERT and row.chat_threads == ()  # topics are off
    await storage.set_topics(chat, True, clock.now())
    assert (await storage.chat(chat) or pytest.fail("no chat")).topics
    [row] = await storage.due_deliveries(clock.now())
    assert dict(row.chat_threads) == {"regulation": 11, "ev-market": 13}

    assert await storage.forget_topic(chat, 11) == "Mevzuat"
    assert await storage.forget_topic(chat, 11) is None  # once
    [row] = await storage.due_deliveries(clock.now())
    assert dict(row.chat_threads) == {"ev-market": 13}


async def test_a_deleted_topic_on_postgresql(tmp_path: Path) -> None:
    async with (
        database("postgresql", str(tmp_path), own_database=True) as db,
        running_service(tmp_path, database_url=db.url, group_interval=0.1) as h,
    ):
        h.tg.make_forum(FORUM)
        h.tg.set_admins(FORUM, [OWNER, h.tg.bot_id])
        await forum_following(h, "regulation", "battery-manufacturing", lang="en")
        await h.command(FORUM, "/topics on", **in_forum(lang="en"))
        h.tg.delete_topic(FORUM, thread_of(h, "Regulation"))
        await h.publish(REGULATION, BATTERY)
        alerts = await h.wait_alerts(FORUM, 2)
        threads = {("EPDK" in a.plain_text): a.thread_id for a in alerts}
        assert threads == {True: None, False: thread_of(h, "Battery Manufacturing")}
        await h.tg.wait_until(lambda: len(notices(h, "was deleted")) == 1)


def row(
    categories: tuple[str, ...] = ("micro-mobility", "regulation"),
    *,
    follows: frozenset[str] = frozenset({"regulation", "micro-mobility"}),
    reason: AlertReason | None = None,
    kind: OutboxKind = OutboxKind.ALERT,
) -> Delivery:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    item = ItemRow(1, "f", "T", "", None, None, now, categories, (), (), {}, ())
    return Delivery(
        id=1,
        chat_id=FORUM,
        kind=kind,
        attempts=0,
        reason=reason or AlertReason(categories=categories),
        chat_language="en",
        chat_type="supergroup",
        item=item if kind is OutboxKind.ALERT else None,
        chat_categories=follows,
        chat_threads=(("regulation", 11), ("micro-mobility", 12)),
    )


def test_which_topic_a_row_goes_to() -> None:
    assert thread_for(row()) == 12  # the story's first followed category
    assert thread_for(row(follows=frozenset({"regulation"}))) == 11
    assert thread_for(row(("ev-market",), follows=frozenset({"ev-market"}))) is None
    # Digests, keyword alerts, broadcasts and notices: General.
    assert thread_for(row(reason=AlertReason(("regulation",), held=True))) is None
    assert thread_for(row(("ev-market",), reason=AlertReason(keyword="togg"))) is None
    assert thread_for(row(kind=OutboxKind.BROADCAST)) is None
    assert is_thread_gone("Bad Request: message thread not found")
    assert is_thread_gone("Bad Request: TOPIC_DELETED")
    assert not is_thread_gone("Bad Request: chat not found")
    gone = classify_error(BadRequest("Message thread not found"))
    assert gone.kind is FailureKind.THREAD_GONE
