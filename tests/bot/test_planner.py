"""The alert planner, without a database: who gets a story, when, and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.delivery.planner import StoryFacts, plan_alerts, recheck
from bot.models import AlertReason, Candidate, ChatRow, Delivery, ItemRow, OutboxKind

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Istanbul
STORY = StoryFacts(
    title="EPDK şarj yönetmeliğini değiştirdi",
    summary="Kayseri'de yeni istasyonlar",
    categories=("regulation", "ev-market"),
)


def chat(chat_id: int = 1, **values: object) -> ChatRow:
    base = ChatRow(
        id=chat_id,
        type="private",
        title=None,
        language="en",
        active=True,
        paused=False,
        inactive_reason=None,
    )
    return replace(base, **values)  # type: ignore[arg-type]


def follows(*categories: str, keywords: tuple[str, ...] = (), **chat_values: object) -> Candidate:
    return Candidate(chat(**chat_values), frozenset(categories), keywords)


def test_a_follower_gets_the_story_now_for_the_categories_it_follows() -> None:
    [intent] = plan_alerts(STORY, [follows("regulation", "ev-market", "competition")], NOW)
    assert intent.chat_id == 1 and intent.due == NOW
    assert intent.reason == AlertReason(categories=("ev-market", "regulation"))


def test_paused_inactive_and_unsubscribed_chats_get_nothing() -> None:
    assert plan_alerts(STORY, [follows("regulation", paused=True)], NOW) == []
    assert plan_alerts(STORY, [follows("regulation", active=False)], NOW) == []
    assert plan_alerts(STORY, [follows("competition")], NOW) == []


def test_a_keyword_brings_a_story_outside_the_chats_categories() -> None:
    [intent] = plan_alerts(STORY, [follows(keywords=("kayseri",))], NOW)
    assert intent.reason == AlertReason(categories=(), keyword="kayseri")


def test_an_exclusion_outranks_the_categories() -> None:
    assert plan_alerts(STORY, [follows("regulation", keywords=("-epdk",))], NOW) == []


def test_quiet_hours_hold_the_alert_until_they_end() -> None:
    quiet = follows("regulation", quiet_start="11:00", quiet_end="13:30")
    [intent] = plan_alerts(STORY, [quiet], NOW)
    assert intent.reason.held and intent.due == NOW + timedelta(hours=1, minutes=30)


def test_a_daily_digest_holds_until_its_time_in_the_chats_zone() -> None:
    digest = follows(
        "regulation", digest_mode="daily", digest_time="09:30", timezone="Europe/London"
    )
    [intent] = plan_alerts(STORY, [digest], NOW)
    assert intent.reason.held and intent.due == NOW + timedelta(minutes=30)


def test_groups_are_planned_like_private_chats() -> None:
    group = follows("regulation", type="supergroup", chat_id=-100)
    [intent] = plan_alerts(STORY, [group], NOW)
    assert intent.chat_id == -100 and not intent.reason.held


def test_the_service_time_zone_applies_to_chats_that_chose_none() -> None:
    hourly = follows("regulation", digest_mode="hourly")
    [istanbul] = plan_alerts(STORY, [hourly], NOW + timedelta(minutes=10))
    [india] = plan_alerts(
        STORY, [hourly], NOW + timedelta(minutes=10), default_timezone="Asia/Kolkata"
    )
    assert istanbul.due == NOW + timedelta(hours=1)  # 13:00 in Istanbul
    assert india.due == NOW + timedelta(minutes=30)  # Kolkata is UTC+5:30: 15:00 there


def row(**values: object) -> Delivery:
    item = ItemRow(
        id=7,
        feed_id="f",
        title=STORY.title,
        summary=STORY.summary,
        link=None,
        published_at=None,
        first_seen_at=NOW,
        categories=STORY.categories,
        topics=(),
        entities=(),
        matches={},
        sources=(),
    )
    base = Delivery(
        id=1,
        chat_id=1,
        kind=OutboxKind.ALERT,
        attempts=0,
        reason=AlertReason(categories=("regulation",), held=True),
        chat_language="en",
        chat_type="private",
        item=item,
        chat_categories=frozenset({"regulation"}),
    )
    return replace(base, **values)  # type: ignore[arg-type]


def test_recheck_sends_what_is_still_wanted() -> None:
    assert recheck(row()) is None


def test_recheck_skips_paused_unsubscribed_and_gone_chats_with_the_reason() -> None:
    assert recheck(row(chat_paused=True)) == "paused"
    assert recheck(row(chat_categories=frozenset())) == "unsubscribed"
    assert recheck(row(chat_active=False)) == "chat inactive"
    assert recheck(row(chat_keywords=("-kayseri",))) == "excluded by keyword"


def test_recheck_keeps_a_keyword_alert_while_the_keyword_still_matches() -> None:
    keyword_row = row(
        reason=AlertReason(keyword="kayseri"),
        chat_categories=frozenset(),
        chat_keywords=("kayseri",),
    )
    assert recheck(keyword_row) is None
    assert recheck(replace(keyword_row, chat_keywords=())) == "unsubscribed"


def test_paused_chats_get_no_broadcast_but_operator_notices_still_reach_them() -> None:
    assert recheck(row(kind=OutboxKind.BROADCAST, item=None, chat_paused=True)) == "paused"
    assert recheck(row(kind=OutboxKind.NOTICE, item=None, chat_paused=True)) is None
