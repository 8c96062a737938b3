"""Channels: linked with /channel from a private chat, posted to, and lost again.

Everything goes through the fake Bot API (whose channels know their
administrators and the bot's right to post), in Turkish and English.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from random import Random

import pytest
from sqlalchemy import inspect
from telegram.error import BadRequest, Forbidden

from bot.delivery.pacing import Pacer
from bot.delivery.worker import Deactivate, failure_action
from bot.i18n import t
from bot.storage import Storage
from bot.storage.db import create_engine, downgrade, upgrade
from bot.telegram_app.callbacks import (
    CHANNEL_EDIT,
    CHANNEL_REMOVE,
    channel_action_data,
    channel_picker_data,
    parse_channel_action,
    parse_channel_picker,
)
from bot.telegram_app.sender import classify_error
from tests.bot.service_harness import ADMIN, BATTERY, REGULATION, Harness, running_service
from tests.fakes.feed_xml import FeedItem
from tests.support import database

CHANNEL, OTHER_CHANNEL = -1001234567890, -1009876543210
ADMIN_USER, SECOND_ADMIN, STRANGER, READER = 11, 12, 13, 777
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOUR = 3600
# A story of four categories, whose Why? is longer than a popup may be.
MANY_CATEGORIES = FeedItem(
    "EPDK yönetmeliği: İstanbul Büyükşehir Belediyesi Togg ile batarya fabrikası ve "
    "elektrikli scooter şarj istasyonu ihalesi",
    link="https://news.example/dort-kategori",
    summary=(
        "Lityum iyon batarya hücresi üretimi, Martı scooter paylaşımı, şarj hizmeti lisans "
        "yönetmeliği ve belediye ihaleleri."
    ),
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_service(tmp_path, group_interval=0.1) as harness:
        yield harness


async def eventually(h: Harness, check: Callable[[], Awaitable[bool]]) -> None:
    """Wait until a database fact holds; each look waits for one more long poll, never a sleep."""
    for _ in range(50):
        if await check():
            return
        await h.tg.wait_for("getUpdates", count=len(h.tg.calls_of("getUpdates")) + 1)
    assert await check()


async def link(h: Harness, user: int, name: str, lang: str = "en") -> str:
    """/channel add in the user's private chat; the reply's text."""
    [reply] = await h.command(user, f"/channel add {name}", language_code=lang)
    return reply.plain_text


async def linked_with_regulation(h: Harness, lang: str = "en") -> None:
    """ADMIN_USER starts the bot, links @evhaber and turns Regulation on for it."""
    await h.command(ADMIN_USER, "/start", replies=2, language_code=lang)
    h.tg.add_channel(CHANNEL, by_user_id=ADMIN_USER, username="evhaber", title="EV Haber")
    await h.settled()
    await link(h, ADMIN_USER, "@evhaber", lang)
    picker = h.messages(ADMIN_USER)[-1]
    await h.toggle(ADMIN_USER, picker.message_id, channel_picker_data(CHANNEL, "regulation"))


async def test_an_admin_links_a_channel_chooses_categories_and_alerts_are_posted_there(
    h: Harness,
) -> None:
    await h.command(ADMIN_USER, "/start", replies=2)
    h.tg.add_channel(CHANNEL, by_user_id=ADMIN_USER, username="evhaber", title="EV Haber")
    await h.settled()
    # Being made an admin of a channel posts nothing and subscribes it to nothing.
    assert h.messages(CHANNEL) == []
    assert await h.storage.chat(CHANNEL) is None

    text = await link(h, ADMIN_USER, "https://t.me/evhaber")
    assert "@evhaber is linked" in text and "now: none" in text
    picker = h.messages(ADMIN_USER)[-1]
    assert channel_picker_data(CHANNEL, "regulation") in picker.callback_data
    assert await h.storage.subscriptions(CHANNEL) == set()

    await h.toggle(ADMIN_USER, picker.message_id, channel_picker_data(CHANNEL, "regulation"))
    assert await h.storage.subscriptions(CHANNEL) == {"regulation"}
    # The picker now shows it on; the admin's own chat is untouched.
    shown = h.tg.message(ADMIN_USER, picker.message_id)
    assert channel_picker_data(CHANNEL, "regulation", shown_on=True) in shown.callback_data
    assert len(await h.storage.subscriptions(ADMIN_USER)) == 8

    await h.publish(REGULATION, BATTERY)
    [alert] = await h.wait_alerts(CHANNEL, 1)
    assert "EPDK" in alert.plain_text  # Regulation only: the battery story is not posted
    assert [b["text"] for b in alert.buttons] == ["Why?"]

    # A reader's Why? is answered in their own popup: nothing is posted to the
    # channel, and nothing is sent to a reader who never started the bot.
    before = len(h.messages(CHANNEL))
    answer = await h.press(CHANNEL, alert.message_id, alert.callback_data[0], user_id=READER)
    assert "Regulation" in answer
    [call] = h.tg.calls_of("answerCallbackQuery")[-1:]
    assert call.params.get("show_alert") is True
    await h.settled()
    assert len(h.messages(CHANNEL)) == before and h.messages(READER) == []
    # The channel stays a channel: readers' presses never reactivate or recreate rows.
    row = await h.storage.chat(CHANNEL)
    assert row is not None and row.type == "channel" and row.language == "en"


async def test_a_long_why_in_a_channel_is_cut_into_the_readers_popup(h: Harness) -> None:
    await linked_with_regulation(h)
    picker = h.messages(ADMIN_USER)[-1]
    await h.toggle(ADMIN_USER, picker.message_id, channel_picker_data(CHANNEL, "*all"))
    await h.publish(MANY_CATEGORIES)
    [alert] = await h.wait_alerts(CHANNEL, 1)
    [own] = await h.wait_alerts(ADMIN_USER, 1)

    # In the admin's private chat the whole answer does not fit a popup: a message.
    before = len(h.messages(ADMIN_USER))
    await h.press(ADMIN_USER, own.message_id, own.callback_data[0])
    await h.tg.wait_until(lambda: len(h.messages(ADMIN_USER)) > before)
    whole = h.messages(ADMIN_USER)[-1].plain_text
    assert len(whole) > 200

    # In the channel: the reader's popup, cut to Telegram's 200, keeping the start.
    answer = await h.press(CHANNEL, alert.message_id, alert.callback_data[0], user_id=READER)
    assert len(answer) <= 200 and answer.endswith("…")
    assert whole.startswith(answer[:-1].rstrip())
    await h.settled()
    assert h.messages(CHANNEL) == [alert] and h.messages(READER) == []


async def test_linking_is_refused_in_turkish_unless_both_the_bot_and_the_user_are_admins(
    h: Harness,
) -> None:
    await h.command(ADMIN_USER, "/start", replies=2, language_code="tr")
    await h.command(STRANGER, "/start", replies=2, language_code="tr")

    text = await link(h, ADMIN_USER, "@yokboylebirkanal", "tr")
    assert "@yokboylebirkanal kanalını göremiyorum" in text

    h.tg.add_channel(CHANNEL, by_user_id=ADMIN_USER, username="evhaber", bot_admin=False)
    text = await link(h, ADMIN_USER, "@evhaber", "tr")
    assert "@evhaber kanalında yönetici değilim" in text

    h.tg.add_channel(CHANNEL, by_user_id=ADMIN_USER, username="evhaber", bot_can_post=False)
    text = await link(h, ADMIN_USER, "@evhaber", "tr")
    assert "mesaj gönderme yetkim yok" in text

    h.tg.add_channel(CHANNEL, by_user_id=ADMIN_USER, username="evhaber")
    text = await link(h, STRANGER, "@evhaber", "tr")
    assert "yalnızca yöneticileri bağlayabilir" in text
    assert await h.storage.chat(CHANNEL) is None  # no refusal created anything

    # A group is not a channel; and /channel itself belongs in a private chat.
    h.tg.register_chat(-1005550000000, chat_type="supergroup", title="EV Grubu")
    text = await link(h, ADMIN_USER, "-1005550000000", "tr")
    assert "bir kanal değil" in text
    [reply] = await h.command(
        -1005550000000, "/channel list", user_id=ADMIN_USER, chat_type="supergroup"
    )
    assert "/channel" in reply.plain_text and "@evbot_test_bot" in reply.plain_text

    text = await link(h, ADMIN_USER, str(CHANNEL), "tr")  # a numeric id works too
    assert "@evhaber bağlandı" in text
    assert [c.id for c, _ in await h.storage.linked_channels(ADMIN_USER)] == [CHANNEL]


async def test_removing_the_bot_from_the_channel_stops_posting_and_tells_the_admin(
    h: Harness,
) -> None:
    await linked_with_regulation(h, "tr")
    before = len(h.messages(ADMIN_USER))
    h.tg.remove_bot_from_channel(CHANNEL)
    await h.tg.wait_until(lambda: len(h.messages(ADMIN_USER)) > before)
    notice = h.messages(ADMIN_USER)[-1].plain_text
    assert "Artık @evhaber kanalında yayın yapamıyorum" in notice
    row = await h.storage.chat(CHANNEL)
    assert row is not None and not row.active

    await h.publish(REGULATION)
    await h.wait_alerts(ADMIN_USER, 1)  # the story went out to the admin's own chat
    assert h.alerts(CHANNEL) == []
    assert h.tg.calls_of("sendMessage", chat_id=CHANNEL) == []

    [listed] = await h.command(ADMIN_USER, "/channel list", language_code="tr")
    assert "@evhaber: ⏸ yayın yok" in listed.plain_text

    # Linking again once the bot is back brings the categories back.
    h.tg.add_channel(CHANNEL, by_user_id=ADMIN_USER, username="evhaber")
    await h.settled()
    text = await link(h, ADMIN_USER, "@evhaber", "tr")
    assert "şu an: Mevzuat" in text
    row = await h.storage.chat(CHANNEL)
    assert row is not None and row.active


async def test_a_channels_quiet_hours_hold_its_posts_until_they_end(h: Harness) -> None:
    await linked_with_regulation(h, "tr")
    # 12:00 in Istanbul now (the service's default zone: the admin chose none).
    [reply] = await h.command(
        ADMIN_USER, "/channel sessiz @evhaber 11:00-13:30", language_code="tr"
    )
    assert "@evhaber için sessiz saatler: 11:00–13:30 (Europe/Istanbul)" in reply.plain_text
    [refused] = await h.command(STRANGER, "/channel quiet @evhaber off", language_code="tr")
    assert "@evhaber kanalını siz bağlamadınız" in refused.plain_text

    await h.publish(REGULATION)
    await h.wait_alerts(ADMIN_USER, 1)  # the admin's own chat is not quiet
    assert h.alerts(CHANNEL) == []
    await h.advance(HOUR)  # 13:00 local: still quiet
    await h.wait_alerts(ADMIN_USER, 1)
    assert h.alerts(CHANNEL) == []
    await h.advance(HOUR)  # 14:00: over
    [posted] = await h.wait_alerts(CHANNEL, 1)
    assert "EPDK" in posted.plain_text


async def test_an_operator_broadcast_is_not_published_to_channels(h: Harness) -> None:
    await linked_with_regulation(h)
    [queued] = await h.command(ADMIN, "/broadcast Bakım: 22:00'de kısa bir kesinti")
    assert "2 chats" in queued.plain_text  # the admin's and the operator's own chat
    await h.tg.wait_until(lambda: "Bakım" in h.messages(ADMIN_USER)[-1].plain_text)
    assert h.messages(CHANNEL) == []


async def test_a_403_when_posting_deactivates_the_channel(h: Harness) -> None:
    await linked_with_regulation(h)
    # The bot lost the channel without a my_chat_member update reaching it.
    h.tg.block(CHANNEL, "Forbidden: bot is not a member of the channel chat")
    await h.publish(REGULATION)
    await h.wait_alerts(ADMIN_USER, 1)

    async def inactive() -> bool:
        row = await h.storage.chat(CHANNEL)
        return row is not None and not row.active

    await eventually(h, inactive)
    [listed] = await h.command(ADMIN_USER, "/channel list")
    assert "@evhaber: ⏸ not posting" in listed.plain_text


async def test_channel_list_edit_and_remove(h: Harness) -> None:
    await linked_with_regulation(h)
    h.tg.add_channel(OTHER_CHANNEL, by_user_id=ADMIN_USER, title="Gizli Kanal")
    await h.settled()
    await link(h, ADMIN_USER, str(OTHER_CHANNEL))

    [listed] = await h.command(ADMIN_USER, "/channel list")
    assert "Your channels" in listed.plain_text
    assert "@evhaber: Regulation" in listed.plain_text
    assert "Gizli Kanal: none" in listed.plain_text
    assert channel_action_data(CHANNEL, CHANNEL_EDIT) in listed.callback_data

    # "⚙️" opens the channel's picker as a new message.
    before = len(h.messages(ADMIN_USER))
    await h.press(ADMIN_USER, listed.message_id, channel_action_data(OTHER_CHANNEL, CHANNEL_EDIT))
    await h.tg.wait_until(lambda: len(h.messages(ADMIN_USER)) > before)
    picker = h.messages(ADMIN_USER)[-1]
    assert "Categories posted to Gizli Kanal" in picker.plain_text
    await h.toggle(ADMIN_USER, picker.message_id, channel_picker_data(OTHER_CHANNEL, "*all"))
    assert len(await h.storage.subscriptions(OTHER_CHANNEL)) == 8

    # Someone who did not link it can neither change nor remove it.
    await h.command(STRANGER, "/start", replies=2)
    own = h.messages(STRANGER)[-1].message_id
    answer = await h.press(STRANGER, own, channel_picker_data(OTHER_CHANNEL, "*none"))
    assert answer == t("en", "channel_not_yours")
    assert len(await h.storage.subscriptions(OTHER_CHANNEL)) == 8
    [refused] = await h.command(STRANGER, "/channel remove @evhaber")
    assert "You have not linked @evhaber" in refused.plain_text

    # A second administrator of the channel may link it too, and change it.
    h.tg.add_channel(CHANNEL, by_user_id=ADMIN_USER, username="evhaber", admins=[SECOND_ADMIN])
    await h.command(SECOND_ADMIN, "/start", replies=2)
    text = await link(h, SECOND_ADMIN, "@EvHaber")
    assert "now: Regulation" in text

    # 🗑 unlinks for everyone and stops posting; /channel remove by name too.
    await h.press(ADMIN_USER, listed.message_id, channel_action_data(OTHER_CHANNEL, CHANNEL_REMOVE))
    await h.tg.wait_until(lambda: "is unlinked" in h.messages(ADMIN_USER)[-1].plain_text)
    [removed] = await h.command(SECOND_ADMIN, "/channel remove @evhaber")
    assert "@evhaber is unlinked" in removed.plain_text
    for channel_id in (CHANNEL, OTHER_CHANNEL):
        row = await h.storage.chat(channel_id)
        assert row is not None and not row.active
    [empty] = await h.command(ADMIN_USER, "/channel")
    assert "You have not linked a channel" in empty.plain_text

    await h.publish(REGULATION)
    await h.wait_alerts(ADMIN_USER, 1)
    assert h.alerts(CHANNEL) == [] and h.alerts(OTHER_CHANNEL) == []


async def test_channel_is_in_help_and_the_command_menu_in_both_languages(h: Harness) -> None:
    [help_en] = await h.command(ADMIN_USER, "/help")
    assert "/channel add|list|quiet|remove @name" in help_en.plain_text
    [help_tr] = await h.command(STRANGER, "/help", language_code="tr")
    assert "/channel add|list|quiet|remove @ad" in help_tr.plain_text
    menu = {c["command"]: c["description"] for c in h.tg.my_commands()}
    assert menu["channel"] == t("en", "menu_channel")
    menu_tr = {c["command"]: c["description"] for c in h.tg.my_commands(language_code="tr")}
    assert menu_tr["channel"] == t("tr", "menu_channel")
    [usage] = await h.command(STRANGER, "/channel ekle", language_code="tr")
    assert "Kullanım" in usage.plain_text


def test_channel_button_data_round_trips_and_refuses_forgeries() -> None:
    for choice, on in (("commercial-ev-manufacturing", True), ("*all", False), ("*none", False)):
        data = channel_picker_data(-1001234567890123, choice, shown_on=on)
        assert len(data.encode()) <= 64
        assert parse_channel_picker(data) == (-1001234567890123, choice, on)
    for forged in ("chp:", "chp:123:regulation", "chp:-1x:regulation", "chp:-100", "cat:x"):
        assert parse_channel_picker(forged) is None
    assert parse_channel_action(channel_action_data(CHANNEL, CHANNEL_REMOVE)) == (
        CHANNEL,
        CHANNEL_REMOVE,
    )
    for forged in ("cha:-100:drop", "cha:5:rm", "cha:-100", "chp:-100:rm"):
        assert parse_channel_action(forged) is None


def test_channels_are_paced_like_groups_and_their_403s_deactivate() -> None:
    pacer = Pacer(clock=lambda: 0.0)
    assert pacer.chat_interval("channel") == pacer.chat_interval("supergroup")
    assert pacer.chat_interval("channel") > pacer.chat_interval("private")
    for error in (
        Forbidden("Forbidden: bot was kicked from the channel chat"),
        Forbidden("Forbidden: need administrator rights in the channel chat"),
        BadRequest("Bad Request: need administrator rights in the channel chat"),
    ):
        action = failure_action(classify_error(error), attempts=0, now=NOW, rng=Random(1))
        assert isinstance(action, Deactivate), error


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_migration_0008_links_channels_and_downgrades(kind: str, tmp_path: Path) -> None:
    async with database(kind, str(tmp_path)) as target:
        engine = create_engine(target.url, schema=target.schema)
        await upgrade(engine, "0007")
        await upgrade(engine)
        storage = Storage(engine)
        try:
            await storage.ensure_chat(
                CHANNEL, type="channel", title="EV Haber", language="tr", now=NOW
            )
            await storage.link_channel(CHANNEL, ADMIN_USER, "evhaber", NOW)
            await storage.link_channel(CHANNEL, ADMIN_USER, "evhaber", NOW)  # harmless twice
            await storage.link_channel(CHANNEL, SECOND_ADMIN, "evhaber", NOW)
            assert await storage.channel_linkers(CHANNEL) == [ADMIN_USER, SECOND_ADMIN]
            [(listed, username)] = await storage.linked_channels(SECOND_ADMIN)
            assert (listed.id, listed.title, username) == (CHANNEL, "EV Haber", "evhaber")
            await storage.unlink_channel(CHANNEL, "unlinked", NOW)
            assert await storage.linked_channels(ADMIN_USER) == []
            gone = await storage.chat(CHANNEL)
            assert gone is not None and not gone.active

            await downgrade(engine, "0007")
            async with engine.connect() as conn:
                tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            assert "channel_links" not in tables and "chats" in tables
        finally:
            await storage.close()
