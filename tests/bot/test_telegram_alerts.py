"""Alerts as subscribers get them: keywords, Why?, link previews, digests and quiet hours.

Time comes from the harness's fake clock (12:00 in Istanbul at the start);
held alerts are released by moving it, never by sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.service_harness import BATTERY, REGULATION, Harness, running_service
from tests.fakes.feed_xml import FeedItem

HOUR = 3600
BATTERY_2 = FeedItem(
    "Aspilsan lityum iyon batarya hücresi üretimine başladı",
    link="https://news.example/aspilsan-hucre",
    summary="Elektrikli araç bataryaları için seri üretim Kayseri tesisinde.",
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_service(tmp_path) as harness:
        yield harness


async def test_personal_keyword_reaches_a_chat_outside_its_categories_and_says_so(
    h: Harness,
) -> None:
    # Chat 1 follows only Regulation but wants anything about Kayseri.
    await h.command(1, "/start", replies=2, language_code="tr")
    await h.command(1, "/unsubscribe all", language_code="tr")
    await h.command(1, "/subscribe mevzuat", language_code="tr")
    await h.command(1, "/keywords add kayseri", language_code="tr")
    # Chat 2 follows everything except stories mentioning EPDK.
    await h.command(2, "/start", replies=2, language_code="en")
    await h.command(2, "/keywords add -epdk")

    await h.publish(REGULATION, BATTERY)
    alerts = await h.wait_alerts(1, 2)
    kayseri = next(a for a in alerts if "Kayseri" in a.plain_text)
    assert "Anahtar kelimeniz eşleşti: kayseri" in kayseri.plain_text
    epdk = next(a for a in alerts if "EPDK" in a.plain_text)
    assert "Anahtar kelimeniz" not in epdk.plain_text

    [only] = await h.wait_alerts(2, 1)
    assert "Kayseri" in only.plain_text  # the EPDK story was excluded for chat 2
    # Both stories were queued in one transaction: 2 rows for chat 1, 1 for chat 2.
    assert sum((await h.storage.outbox_counts()).values()) == 3

    # Why? names the keyword for the keyword alert, the rule terms for the category one.
    why = await h.press(1, kayseri.message_id, kayseri.callback_data[0], language_code="tr")
    assert "kayseri" in why and "anahtar kelime" in why
    why = await h.press(1, epdk.message_id, epdk.callback_data[0], language_code="tr")
    assert "Mevzuat" in why
    assert [b["text"] for b in epdk.buttons] == ["Neden?"]
    assert [b["text"] for b in only.buttons] == ["Why?"]


async def test_link_preview_follows_the_chat_setting(h: Harness) -> None:
    await h.command(1, "/start", replies=2)
    await h.command(2, "/start", replies=2)
    [reply] = await h.command(2, "/preview on")
    assert "Link previews under alerts: on" in reply.plain_text
    await h.publish(REGULATION)
    [off] = await h.wait_alerts(1, 1)
    [on] = await h.wait_alerts(2, 1)
    assert off.link_preview_options == {"is_disabled": True}
    assert on.link_preview_options is not None and not on.link_preview_options.get("is_disabled")


async def test_quiet_hours_hold_alerts_and_send_one_digest_when_they_end(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    await h.command(2, "/start", replies=2, language_code="en")
    # 12:00 in Istanbul now: chat 1 is quiet until 13:30.
    [reply] = await h.command(1, "/quiet 11:00-13:30", language_code="tr")
    assert "Sessiz saatler 11:00–13:30 (Europe/Istanbul)" in reply.plain_text

    await h.publish(REGULATION, BATTERY)
    await h.wait_alerts(2, 2)  # the other chat is not held
    assert h.alerts(1) == []

    await h.advance(HOUR)  # 13:01 local: still quiet
    await h.wait_alerts(2, 2)
    assert h.alerts(1) == []
    await h.advance(HOUR / 2)  # 13:31: the quiet hours are over
    [digest] = await h.wait_alerts(1, 1)
    assert digest.plain_text.startswith("📬 Özet · 2 haber")
    assert "EPDK" in digest.plain_text and "Kayseri" in digest.plain_text
    assert "Mevzuat" in digest.plain_text  # grouped under category headings


async def test_quiet_off_sends_what_was_held_at_once(h: Harness) -> None:
    await h.command(1, "/start", replies=2)
    await h.command(1, "/quiet 00:00-23:59")
    await h.publish(REGULATION, BATTERY)
    assert (await h.storage.outbox_counts()).get("pending") == 2
    assert h.alerts(1) == []
    [reply] = await h.command(1, "/quiet off")
    assert "2 held alerts follow now" in reply.plain_text
    [digest] = await h.wait_alerts(1, 1)
    assert digest.plain_text.startswith("📬 Digest · 2 stories")


async def test_daily_digest_in_the_chats_time_zone(h: Harness) -> None:
    await h.command(1, "/start", replies=2)
    await h.command(1, "/timezone Europe/London")  # 09:00 there now
    [reply] = await h.command(1, "/digest daily 09:30")
    assert "Daily digest at 09:30 (Europe/London)" in reply.plain_text
    await h.publish(REGULATION)
    await h.advance(20 * 60)  # 09:21 in London
    assert h.alerts(1) == []
    await h.advance(10 * 60)  # 09:31
    [digest] = await h.wait_alerts(1, 1)
    assert "EPDK" in digest.plain_text
    assert "09:0" in digest.plain_text  # the story's time in London, not Istanbul


async def test_hourly_digest_and_back_to_instant(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    [reply] = await h.command(1, "/digest saatlik", language_code="tr")
    assert "Saatlik özet" in reply.plain_text
    await h.publish(REGULATION)
    assert h.alerts(1) == []
    await h.advance(HOUR)  # past 13:00 local
    [digest] = await h.wait_alerts(1, 1)
    assert "EPDK" in digest.plain_text

    [reply] = await h.command(1, "/digest off", language_code="tr")
    assert "Özet kapalı" in reply.plain_text
    await h.publish(BATTERY)
    [_, alert] = await h.wait_alerts(1, 2)
    assert "Kayseri" in alert.plain_text and alert.callback_data[0].startswith("why:")


async def test_held_alerts_are_not_sent_after_stop(h: Harness) -> None:
    await h.command(1, "/start", replies=2)
    await h.command(1, "/quiet 11:00-13:30")
    await h.publish(REGULATION, BATTERY)
    assert (await h.storage.outbox_counts()).get("pending") == 2
    await h.command(1, "/stop")
    await h.command(1, "/quiet off")  # would release the held alerts at once
    await h.advance(2 * HOUR)  # and the quiet hours are over anyway
    worker = h.service.worker
    assert worker is not None
    await worker.wait_until(lambda: worker.skipped >= 2)
    assert h.alerts(1) == []
    assert (await h.storage.outbox_counts()).get("skipped") == 2


async def test_held_alerts_are_not_sent_after_unsubscribing_from_everything(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    await h.command(1, "/quiet 11:00-13:30", language_code="tr")
    await h.publish(REGULATION, BATTERY)
    await h.command(1, "/unsubscribe all", language_code="tr")
    await h.command(1, "/quiet off", language_code="tr")
    worker = h.service.worker
    assert worker is not None
    await worker.wait_until(lambda: worker.skipped >= 2)
    assert h.alerts(1) == []
    # Subscribing again later brings new stories, not the skipped ones.
    await h.command(1, "/subscribe all", language_code="tr")
    await h.publish(BATTERY_2)
    [alert] = await h.wait_alerts(1, 1)
    assert "Aspilsan" in alert.plain_text
