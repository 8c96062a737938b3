"""What a news-bot user expects, and no surprises (issue 16), through the fake Bot API.

Each test drives the running service the way a user would, in Turkish and in
English: /help lists /start, /start keeps a known chat's choices, deep links,
edits are not commands, stale picker buttons do what they showed, Turkish
capitals, /latest's vocabulary, keyword sanity, Why? in readable words, hints
for input the bot does not understand, plurals, and the small words people try.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import t
from tests.bot.service_harness import ADMIN, BATTERY, REGULATION, Harness, running_service
from tests.fakes.feed_xml import FeedItem

ALL_EIGHT = 8
GROUP = -777
OWNER, MEMBER = 7, 8
FOOTBALL = FeedItem(
    "Galatasaray derbide Fenerbahçe'yi 2-1 yendi",
    link="https://news.example/derbi",
    summary="Süper Lig'de haftanın maçında gol düellosu.",
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_service(tmp_path) as harness:
        yield harness


def on_buttons(buttons: list[dict[str, str]]) -> list[str]:
    return [b["text"] for b in buttons if b["text"].startswith("✅")]


async def quiet_after(h: Harness, chat_id: int, **kwargs: Any) -> list[str]:
    """Everything the bot sent to a chat before its answer to a following /help.

    Updates are handled one at a time, so once /help is answered anything the
    earlier update caused has been sent: no sleeping to prove a silence.
    """
    before = len(h.messages(chat_id))
    h.tg.send_message(chat_id, "/help", **kwargs)

    def helped() -> bool:
        return any("/categories" in m.plain_text for m in h.messages(chat_id)[before:])

    await h.tg.wait_until(helped)
    sent = [m.plain_text for m in h.messages(chat_id)[before:]]
    return [text for text in sent if "/categories" not in text]


@pytest.mark.parametrize(
    ("code", "line"), [("tr", "/start – karşılama"), ("en", "/start – welcome")]
)
async def test_help_lists_start_and_the_keyword_syntax(h: Harness, code: str, line: str) -> None:
    [text] = await h.command(1, "/help", language_code=code)
    assert line in text.plain_text
    assert "Tesla*" in text.plain_text and "=EV" in text.plain_text
    assert "@evbot_test_bot togg batarya" in text.plain_text  # inline mode


async def test_deep_links_subscribe_a_new_chat_to_one_category_and_add_to_a_known_one(
    h: Harness,
) -> None:
    welcome, picker = await h.command(1, "/start mevzuat", replies=2, language_code="tr")
    assert "Mevzuat" in welcome.plain_text
    assert await h.storage.subscriptions(1) == {"regulation"}
    assert on_buttons(picker.buttons) == ["✅ Mevzuat"]
    added, _ = await h.command(1, "/start belediyeler", replies=2, language_code="tr")
    assert "Eklendi: Belediyeler" in added.plain_text
    assert await h.storage.subscriptions(1) == {"regulation", "municipality"}

    welcome, _ = await h.command(2, "/start micro-mobility", replies=2, language_code="en")
    assert "Micro Mobility" in welcome.plain_text
    assert await h.storage.subscriptions(2) == {"micro-mobility"}
    # Telegram payloads have no spaces or diacritics: "batarya-uretimi" is a Turkish name.
    await h.command(2, "/start batarya-uretimi", replies=2)
    assert await h.storage.subscriptions(2) == {"micro-mobility", "battery-manufacturing"}


@pytest.mark.parametrize("code", ["tr", "en"])
async def test_categories_shows_a_share_link_per_category(h: Harness, code: str) -> None:
    await h.command(1, "/start", replies=2, language_code=code)
    replies = await h.command(1, "/categories", replies=2, language_code=code)
    links = next(r for r in replies if "start=regulation" in r.text)
    assert "t.me/evbot_test_bot?start=battery-manufacturing" in links.text
    name = "Mevzuat" if code == "tr" else "Regulation"
    assert name in links.plain_text


@pytest.mark.parametrize(("code", "queued"), [("tr", "Duyuru"), ("en", "Broadcast queued")])
async def test_an_edited_command_is_not_run_again(h: Harness, code: str, queued: str) -> None:
    await h.command(1, "/start", replies=2, language_code=code)
    before = len(h.messages(ADMIN))
    sent = h.tg.send_message(ADMIN, "/broadcast Bakım bu gece", language_code=code)
    await h.tg.wait_until(lambda: len(h.messages(ADMIN)) > before)
    assert queued in h.messages(ADMIN)[-1].plain_text
    h.tg.edit_sent(sent, "/broadcast Bakım bu gece 23:00'te")
    assert await quiet_after(h, ADMIN, language_code=code) == []
    await h.tg.wait_until(lambda: any("Bakım" in m.plain_text for m in h.messages(1)))
    assert sum("Bakım" in m.plain_text for m in h.messages(1)) == 1

    # An edited /unsubscribe in a private chat changes nothing either.
    sent = h.tg.send_message(1, "/subscribe mevzuat", language_code=code)
    await h.tg.wait_until(
        lambda: (
            "Mevzuat" in h.messages(1)[-1].plain_text
            or "Regulation" in h.messages(1)[-1].plain_text
        )
    )
    h.tg.edit_sent(sent, "/unsubscribe all")
    assert await quiet_after(h, 1, language_code=code) == []
    assert len(await h.storage.subscriptions(1)) == ALL_EIGHT


@pytest.mark.parametrize(
    ("code", "micro", "regulation"),
    [("tr", "Mikromobilite", "Mevzuat"), ("en", "Micro Mobility", "Regulation")],
)
async def test_a_stale_picker_button_does_what_it_showed(
    h: Harness, code: str, micro: str, regulation: str
) -> None:
    _, picker = await h.command(1, "/start", replies=2, language_code=code)
    await h.command(1, "/unsubscribe micro-mobility regulation", language_code=code)
    # The old keyboard still shows "✅ Micro Mobility": pressing it turns it off (it is).
    on = picker.button(f"✅ {micro}")["callback_data"]
    await h.toggle(1, picker.message_id, on, language_code=code)
    assert "micro-mobility" not in await h.storage.subscriptions(1)
    refreshed = h.tg.message(1, picker.message_id)
    assert f"⬜ {micro}" in [b["text"] for b in refreshed.buttons]  # redrawn from the truth
    assert f"⬜ {regulation}" in [b["text"] for b in refreshed.buttons]

    # The reverse: "⬜ Regulation" shown, turned on by command since: pressing keeps it on.
    await h.command(1, "/subscribe regulation", language_code=code)
    off = refreshed.button(f"⬜ {regulation}")["callback_data"]
    await h.toggle(1, picker.message_id, off, language_code=code)
    assert "regulation" in await h.storage.subscriptions(1)
    assert f"✅ {regulation}" in on_buttons(h.tg.message(1, picker.message_id).buttons)
    assert not any("went wrong" in m.plain_text or "wrong" in m.plain_text for m in h.messages(1))


@pytest.mark.parametrize(("code", "word"), [("tr", "ayarlandı"), ("en", "set to")])
async def test_timezone_understands_turkish_capitals_and_offsets(
    h: Harness, code: str, word: str
) -> None:
    await h.command(1, "/start", replies=2, language_code=code)
    [reply] = await h.command(1, "/timezone İstanbul", language_code=code)
    assert word in reply.plain_text and "Europe/Istanbul" in reply.plain_text
    [reply] = await h.command(1, "/timezone GMT+3", language_code=code)
    assert "UTC+3" in reply.plain_text
    chat = await h.storage.chat(1)
    assert chat is not None and chat.timezone == "Etc/GMT-3"


async def test_latest_takes_several_categories_a_count_and_skips_uncategorised(
    h: Harness,
) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    await h.command(1, "/stop", language_code="tr")
    await h.publish(REGULATION, BATTERY, FOOTBALL)

    [both] = await h.command(1, "/latest mevzuat batarya uretimi", language_code="tr")
    assert "EPDK" in both.plain_text and "Kayseri" in both.plain_text
    assert "Bilinmeyen" not in both.plain_text
    [one] = await h.command(1, "/latest 1", language_code="tr")
    assert one.plain_text.count("•") == 1
    [everything] = await h.command(1, "/latest", language_code="tr")
    assert "Galatasaray" not in everything.plain_text  # it alerted nobody
    assert "EPDK" in everything.plain_text
    [empty] = await h.command(1, "/latest Mikromobilite", language_code="tr")
    assert empty.plain_text == "Mikromobilite için henüz haber yok."

    await h.command(2, "/start", replies=2, language_code="en")
    [empty] = await h.command(2, "/latest micro mobility competition 5")
    assert empty.plain_text == "Nothing in Micro Mobility, Competition yet."
    [unknown] = await h.command(2, "/latest spaceships")
    assert "Unknown category: spaceships" in unknown.plain_text


@pytest.mark.parametrize(
    ("code", "short", "exclusion", "syntax"),
    [
        ("tr", "Çok kısa", "eksinin hemen ardından", "yalnızca başa"),
        ("en", "Too short", "right after the minus", "only at the start"),
    ],
)
async def test_keywords_need_three_letters_and_errors_speak_the_users_language(
    h: Harness, code: str, short: str, exclusion: str, syntax: str
) -> None:
    await h.command(1, "/start", replies=2, language_code=code)
    for term, expected in (("a", short), ("EV", short), ("-", exclusion), ("=Tesla*", syntax)):
        [reply] = await h.command(1, f"/keywords add {term}", language_code=code)
        assert expected in reply.plain_text, term
        assert "term" not in reply.plain_text.split(":")[0] or code == "en"
        assert "can never match" not in reply.plain_text
    assert await h.storage.keywords(1) == []
    for term in ("=EV", "Tesla*", "togg"):
        await h.command(1, f"/keywords add {term}", language_code=code)
    assert await h.storage.keywords(1) == ["=EV", "Tesla*", "togg"]
    [usage] = await h.command(1, "/keywords add", language_code=code)
    assert "Tesla*" in usage.plain_text and "=EV" in usage.plain_text


async def test_a_groups_language_is_not_set_by_a_member_speaking_first(h: Harness) -> None:
    # The bot is in a group it does not know yet (its join was missed).
    h.tg.set_admins(GROUP, [], creator=OWNER)
    member = {"user_id": MEMBER, "chat_type": "group", "language_code": "tr"}
    await h.command(GROUP, "/settings", **member)
    chat = await h.storage.chat(GROUP)
    assert chat is not None and chat.language == "en"

    other = GROUP - 1
    h.tg.set_admins(other, [], creator=OWNER)
    owner = {"user_id": OWNER, "chat_type": "group", "language_code": "tr"}
    [shown] = await h.command(other, "/settings", **owner)
    assert "Ayarlar" in shown.plain_text  # the administrator's language


async def test_why_shows_the_matched_words_and_keeps_the_keyword_reason(h: Harness) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    await h.command(1, "/keywords add kayseri", language_code="tr")
    await h.command(2, "/start", replies=2, language_code="en")
    await h.command(2, "/unsubscribe all")
    await h.command(2, "/subscribe battery manufacturing")
    await h.publish(BATTERY)
    [alert] = await h.wait_alerts(1, 1)
    before = len(h.messages(1))
    answer = await h.press(1, alert.message_id, alert.callback_data[0], language_code="tr")
    if answer == t("tr", "why_long"):  # too long for a button answer: a message instead
        await h.tg.wait_until(lambda: len(h.messages(1)) > before)
        answer = h.messages(1)[-1].plain_text
    assert "kayseri" in answer and "anahtar kelime" in answer
    assert "Batarya Üretimi kategorisini" in answer  # one category: the singular
    assert "üretecek" in answer and "üret*" not in answer
    assert len(answer) > 0

    [en] = await h.wait_alerts(2, 1)
    answer = await h.press(2, en.message_id, en.callback_data[0])
    assert "Battery Manufacturing" in answer
    assert "*" not in answer and "'" not in answer.split("Matched:")[1][:2]


@pytest.mark.parametrize(
    ("code", "unknown", "hint"),
    [("tr", "Bu komutu bilmiyorum", "Yalnızca komutlara"), ("en", "don't know", "commands only")],
)
async def test_unknown_commands_and_plain_text_get_a_hint_in_private_only(
    h: Harness, code: str, unknown: str, hint: str
) -> None:
    [reply] = await h.command(1, "/hlep", language_code=code)
    assert unknown in reply.plain_text and "/help" in reply.plain_text
    [reply] = await h.command(1, "merhaba", language_code=code)
    assert hint in reply.plain_text
    # Operator commands stay silent for others; groups are not answered.
    h.tg.send_message(1, "/stats", language_code=code)
    assert await quiet_after(h, 1, language_code=code) == []
    h.tg.add_bot_to_group(GROUP, by_user_id=OWNER, language_code=code)
    await h.tg.wait_until(lambda: len(h.messages(GROUP)) == 1)
    group: dict[str, Any] = {"user_id": MEMBER, "chat_type": "group", "language_code": code}
    h.tg.send_message(GROUP, "/hlep", **group)
    h.tg.send_message(GROUP, "merhaba", **group)
    assert await quiet_after(h, GROUP, **group) == []


async def test_plurals_and_the_command_menu_come_from_the_catalog(h: Harness) -> None:
    assert t("en", "digest_title", count=1) == "📬 Digest · 1 story"
    assert t("en", "digest_title", count=2) == "📬 Digest · 2 stories"
    assert t("en", "released", count=1) == " 1 held alert follows now."
    await h.command(1, "/start", replies=2)
    [queued] = await h.command(ADMIN, "/broadcast hi")
    # The admin's own chat and chat 1.
    assert queued.plain_text == "Broadcast queued for 2 chats."
    await h.command(1, "/stop")
    h.tg.send_message(ADMIN, "/broadcast again")
    await h.tg.wait_until(lambda: "1 chat." in h.messages(ADMIN)[-1].plain_text)
    assert h.messages(ADMIN)[-1].plain_text == "Broadcast queued for 1 chat."
    menu = {c["command"]: c["description"] for c in h.tg.my_commands()}
    assert menu["start"] == t("en", "menu_start")
    menu_tr = {c["command"]: c["description"] for c in h.tg.my_commands(language_code="tr")}
    assert menu_tr["latest"] == t("tr", "menu_latest")


@pytest.mark.parametrize(
    ("code", "resumed"), [("tr", "/latest en son haberleri"), ("en", "/latest shows")]
)
async def test_the_small_words_people_try(h: Harness, code: str, resumed: str) -> None:
    await h.command(1, "/start", replies=2, language_code=code)
    await h.command(1, "/unsubscribe none", language_code=code)
    assert await h.storage.subscriptions(1) == set()
    await h.command(1, "/subscribe all", language_code=code)
    await h.command(1, "/unsubscribe Hiçbiri", language_code=code)
    assert await h.storage.subscriptions(1) == set()

    [reply] = await h.command(1, "/lang türkçe", language_code=code)
    assert "Türkçe olarak" in reply.plain_text
    [reply] = await h.command(1, "/lang english", language_code=code)
    assert "English" in reply.plain_text
    [reply] = await h.command(1, "/lang TÜRKÇE", language_code=code)
    [reply] = await h.command(1, "/quiet 10pm-7am", language_code=code)
    assert "22:00–07:00" in reply.plain_text
    await h.command(1, "/stop", language_code=code)
    [reply] = await h.command(1, "/resume", language_code=code)
    assert "/latest" in reply.plain_text
    await h.command(1, f"/lang {code}", language_code=code)
    [reply] = await h.command(1, "/resume", language_code=code)
    assert resumed in reply.plain_text


async def test_the_bot_profile_is_described_in_both_languages_and_set_only_when_changed(
    h: Harness,
) -> None:
    from bot.telegram_app.app import update_profile  # here: the old code had none

    assert h.tg.descriptions[("description", "tr")] == t("tr", "bot_description")
    assert h.tg.descriptions[("short_description", "en")] == t("en", "bot_short_description")
    assert h.tg.descriptions[("description", "")] == t("en", "bot_description")
    sets = len(h.tg.calls_of("setMyDescription")) + len(h.tg.calls_of("setMyShortDescription"))
    assert sets == 6
    # Started again with the same texts: read, compared, nothing set.
    assert h.service.application is not None
    await update_profile(h.service.application)
    again = len(h.tg.calls_of("setMyDescription")) + len(h.tg.calls_of("setMyShortDescription"))
    assert again == sets
    # A changed text (another deployment's, say) is put back.
    h.tg.descriptions[("short_description", "tr")] = "eski"
    await update_profile(h.service.application)
    assert h.tg.descriptions[("short_description", "tr")] == t("tr", "bot_short_description")
    assert len(h.tg.calls_of("setMyShortDescription")) == 4


@pytest.mark.parametrize(("code", "battery"), [("tr", "Batarya Üretimi"), ("en", "Battery")])
async def test_inline_mode_lists_matching_recent_stories_to_share(
    h: Harness, code: str, battery: str
) -> None:
    await h.publish(REGULATION, BATTERY, FOOTBALL)

    async def ask(text: str) -> list[dict[str, Any]]:
        before = len(h.tg.calls_of("answerInlineQuery"))
        h.tg.inline_query(5, text, language_code=code)
        [*_, call] = await h.tg.wait_for("answerInlineQuery", count=before + 1)
        assert call.ok
        results: list[dict[str, Any]] = call.params["results"]
        return results

    [hit] = await ask("KAYSERİ batarya")  # a Turkish capital İ, folded like everywhere else
    assert "Kayseri" in hit["title"]
    assert battery in hit["description"] and "Test Haber" in hit["description"]
    assert "news.example/kayseri-batarya" in hit["input_message_content"]["message_text"]
    latest = await ask("")
    titles = [r["title"] for r in latest]
    assert any("EPDK" in x for x in titles) and any("Kayseri" in x for x in titles)
    assert not any("Galatasaray" in x for x in titles)  # uncategorised: alerted nobody
    assert await ask("uzay asansörü") == []
