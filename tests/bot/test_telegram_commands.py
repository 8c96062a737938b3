"""Subscriber commands through the fake Bot API with the real python-telegram-bot client.

Each test drives a running service (tests/bot/service_harness.py) the way a
user would — commands, button presses, forged callbacks — in both languages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.service_harness import Harness, running_service
from tests.fakes.feed_xml import FeedItem

ALL_EIGHT = 8


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_service(tmp_path) as harness:
        yield harness


def on_buttons(message_buttons: list[dict[str, str]]) -> list[str]:
    return [b["text"] for b in message_buttons if b["text"].startswith("✅")]


async def test_start_welcomes_in_the_users_language_and_never_duplicates(h: Harness) -> None:
    welcome, picker = await h.command(1, "/start", replies=2, language_code="tr")
    assert "hoş geldiniz" in welcome.plain_text
    assert len(on_buttons(picker.buttons)) == ALL_EIGHT
    assert "Tümü" in [b["text"] for b in picker.buttons]

    # Narrow, then /start again (Telegram's "Restart"): the choices stay, nothing doubled.
    await h.command(1, "/unsubscribe mevzuat belediyeler", language_code="tr")
    back, picker = await h.command(1, "/start", replies=2, language_code="tr")
    assert len(await h.storage.subscriptions(1)) == ALL_EIGHT - 2
    assert "yeniden hoş geldiniz" in back.plain_text
    assert "✅ Mevzuat" not in on_buttons(picker.buttons)
    assert len(on_buttons(picker.buttons)) == ALL_EIGHT - 2
    assert (await h.storage.chat_stats(h.clock.now())).chats == 1

    welcome_en, picker_en = await h.command(2, "/start", replies=2, language_code="en-GB")
    assert "Welcome" in welcome_en.plain_text
    assert "All" in [b["text"] for b in picker_en.buttons]
    await h.command(2, "/unsubscribe all")
    await h.command(2, "/stop")
    back, _ = await h.command(2, "/start", replies=2)
    assert "Welcome back" in back.plain_text
    assert await h.storage.subscriptions(2) == set()
    chat = await h.storage.chat(2)
    assert chat is not None and not chat.paused  # /start still unpauses


async def test_first_start_after_other_messages_is_still_a_welcome(h: Harness) -> None:
    # Telegram's own "Start" button is not every user's first message: the chat
    # already exists (created by /help, /latest, "hello") when /start comes.
    [helped] = await h.command(1, "/help", language_code="en")
    assert "/start" in helped.plain_text
    welcome, picker = await h.command(1, "/start", replies=2, language_code="en")
    assert "Welcome to" in welcome.plain_text and "Welcome back" not in welcome.plain_text
    assert len(await h.storage.subscriptions(1)) == ALL_EIGHT
    assert len(on_buttons(picker.buttons)) == ALL_EIGHT

    [hint] = await h.command(2, "merhaba", language_code="tr")
    assert "/help" in hint.plain_text
    await h.command(2, "/latest", language_code="tr")
    welcome, picker = await h.command(2, "/start mevzuat", replies=2, language_code="tr")
    assert "hoş geldiniz" in welcome.plain_text and "yeniden" not in welcome.plain_text
    assert await h.storage.subscriptions(2) == {"regulation"}
    assert on_buttons(picker.buttons) == ["✅ Mevzuat"]

    # That first /start is the only one: the next is a known chat's.
    back, _ = await h.command(2, "/start", replies=2, language_code="tr")
    assert "yeniden hoş geldiniz" in back.plain_text
    assert await h.storage.subscriptions(2) == {"regulation"}


async def test_a_started_chat_that_follows_nothing_keeps_that_on_restart(h: Harness) -> None:
    await h.command(1, "/help")
    _, picker = await h.command(1, "/start", replies=2)
    await h.toggle(1, picker.message_id, "cat:*none")
    back, picker = await h.command(1, "/start", replies=2)
    assert "Welcome back" in back.plain_text
    assert await h.storage.subscriptions(1) == set()
    assert on_buttons(picker.buttons) == []


async def test_choices_made_before_the_first_start_are_kept(h: Harness) -> None:
    await h.command(1, "/subscribe regulation", language_code="en")
    back, picker = await h.command(1, "/start", replies=2)
    assert "Your choices are kept: Regulation" in back.plain_text
    assert await h.storage.subscriptions(1) == {"regulation"}
    assert on_buttons(picker.buttons) == ["✅ Regulation"]

    # The same with the picker's buttons, before any /start; a deep link then adds.
    picker, _ = await h.command(2, "/categories", replies=2, language_code="en")
    await h.toggle(2, picker.message_id, "cat:municipality")
    added, _ = await h.command(2, "/start micro-mobility", replies=2)
    assert "Added: Micro Mobility" in added.plain_text
    assert await h.storage.subscriptions(2) == {"municipality", "micro-mobility"}

    # Dropping everything before /start is a choice too: nothing is forced on the chat.
    await h.command(3, "/unsubscribe all", language_code="en")
    back, _ = await h.command(3, "/start", replies=2)
    assert "Welcome back" in back.plain_text
    assert await h.storage.subscriptions(3) == set()


async def test_subscribe_and_unsubscribe_by_fuzzy_names(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    await h.command(1, "/unsubscribe hepsi", language_code="tr")
    assert await h.storage.subscriptions(1) == set()

    [reply] = await h.command(1, "/subscribe MEVZUAT belediyeler, Battery-Manufacturing")
    assert "Mevzuat" in reply.plain_text and "Belediyeler" in reply.plain_text
    assert await h.storage.subscriptions(1) == {
        "regulation",
        "municipality",
        "battery-manufacturing",
    }
    await h.command(1, "/subscribe mikromobilite elektrikli arac pazari")
    assert {"micro-mobility", "ev-market"} <= await h.storage.subscriptions(1)

    [reply] = await h.command(1, "/unsubscribe mevzuat")
    assert "Mevzuat" not in reply.plain_text

    [unknown] = await h.command(1, "/subscribe uzay", language_code="tr")
    assert "Bilinmeyen kategori: uzay" in unknown.plain_text
    assert "ev-manufacturing" in unknown.plain_text  # lists the valid ones

    await h.command(2, "/start", replies=2, language_code="en")
    [unknown] = await h.command(2, "/unsubscribe spaceships")
    assert "Unknown category: spaceships" in unknown.plain_text


async def test_picker_edits_itself_in_place_and_forged_buttons_are_answered(h: Harness) -> None:
    _, picker = await h.command(1, "/start", replies=2, language_code="en")
    await h.toggle(1, picker.message_id, "cat:*none")
    edited = h.tg.message(1, picker.message_id)
    assert on_buttons(edited.buttons) == []
    await h.toggle(1, picker.message_id, "cat:regulation")
    edited = h.tg.message(1, picker.message_id)
    assert on_buttons(edited.buttons) == ["✅ Regulation"]
    await h.toggle(1, picker.message_id, "cat:*all")
    assert len(on_buttons(h.tg.message(1, picker.message_id).buttons)) == ALL_EIGHT
    assert len(h.messages(1)) == 2  # edited in place, nothing new sent

    for forged in ("cat:no-such", "x" * 64, "why:abc", "why:999999", "more:zz", "more:10:nope"):
        answer = await h.press(1, picker.message_id, forged)
        assert answer, forged
    assert not any("went wrong" in m.plain_text for m in h.messages(1))
    assert len(await h.storage.subscriptions(1)) == ALL_EIGHT

    # The same in Turkish: a polite Turkish answer.
    answer = await h.press(1, picker.message_id, "cat:no-such", language_code="tr")
    assert "geçerli değil" in answer or "valid" in answer


async def test_settings_show_every_choice_in_both_languages(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="en")
    await h.command(1, "/keywords add togg")
    await h.command(1, "/digest daily 08:00")
    await h.command(1, "/quiet 22:00-07:00")
    await h.command(1, "/timezone europe/berlin")
    await h.command(1, "/preview on")
    await h.command(1, "/stop")
    [text] = await h.command(1, "/settings")
    shown = text.plain_text
    for part in (
        "Language: English",
        "paused",
        "Keywords: togg",
        "daily digest at 08:00",
        "Quiet hours: 22:00–07:00",
        "Time zone: Europe/Berlin",
        "Link previews: on",
    ):
        assert part in shown, part

    await h.command(1, "/lang tr")
    [text] = await h.command(1, "/settings")
    for part in ("Dil: Türkçe", "duraklatıldı", "her gün 08:00 özeti", "Saat dilimi"):
        assert part in text.plain_text, part


async def test_bad_arguments_get_usage_in_the_chat_language(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    for command, expected in (
        ("/digest weekly", "Kullanım: /digest"),
        ("/digest daily 25:00", "Kullanım: /digest"),
        ("/quiet yes", "Kullanım: /quiet"),
        ("/timezone Mars/Olympus", "Bilinmeyen saat dilimi"),
        ("/preview maybe", "Kullanım: /preview"),
        ("/lang de", "Kullanım: /lang"),
        ("/keywords frobnicate x", "Kullanım: /keywords"),
    ):
        [reply] = await h.command(1, command, language_code="tr")
        assert expected in reply.plain_text, command
    await h.command(2, "/start", replies=2, language_code="en")
    [reply] = await h.command(2, "/quiet 9-5")
    assert "Usage: /quiet" in reply.plain_text


async def test_keywords_add_list_remove_in_both_languages(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    [reply] = await h.command(1, "/keywords", language_code="tr")
    assert "anahtar kelimesi yok" in reply.plain_text
    [reply] = await h.command(1, "/keywords add Şarj istasyonu")
    assert "eklendi: Şarj istasyonu" in reply.plain_text
    [reply] = await h.command(1, "/keywords add sarj ISTASYONU")
    assert "Zaten" in reply.plain_text
    await h.command(1, "/keywords add -tesla")
    [reply] = await h.command(1, "/keywords")
    assert "-tesla" in reply.plain_text and "Şarj istasyonu" in reply.plain_text
    [reply] = await h.command(1, "/keywords remove şarj istasyonu")
    assert "kaldırıldı" in reply.plain_text
    assert await h.storage.keywords(1) == ["-tesla"]
    [reply] = await h.command(1, "/keywords add -")
    assert "eksinin hemen ardından" in reply.plain_text

    await h.command(2, "/start", replies=2, language_code="en")
    [reply] = await h.command(2, "/keywords remove nothing")
    assert "Not a keyword" in reply.plain_text


async def test_latest_lists_ten_with_a_more_button_that_pages(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="en")
    await h.command(1, "/stop")  # no alerts needed here
    stories = [
        FeedItem(
            f"Elektrikli otobüs ihalesi {n}. belediye meclisinde",
            link=f"https://news.example/otobus-{n}",
            summary="Belediye elektrikli otobüs alıyor.",
        )
        for n in range(12)
    ]
    await h.publish(*stories)
    [page] = await h.command(1, "/latest")
    assert page.plain_text.count("•") == 10
    assert "Test Haber" in page.plain_text
    more = page.button("More")
    await h.press(1, page.message_id, more["callback_data"])
    await h.tg.wait_until(lambda: len(h.messages(1)) >= 5)
    second = h.messages(1)[-1]
    # 12 new stories and the backlog entry: 3 on the second page, and no further button.
    assert second.plain_text.count("•") == 3
    assert second.buttons == []
    assert h.tg.message(1, page.message_id).buttons == []  # the used button is gone

    [only] = await h.command(1, "/latest belediyeler")
    assert "Belediyeler" not in only.plain_text  # English chat: English name
    assert "Municipality" in only.plain_text
    [empty] = await h.command(1, "/latest yarismalar")
    assert empty.plain_text == "Nothing in Competition yet."
