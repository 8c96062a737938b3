"""The fake Telegram Bot API, driven by the real python-telegram-bot client.

If these pass, PTB cannot tell the fake from api.telegram.org for everything
evbot uses: requests are decoded like Telegram does, answers parse into PTB's
objects, and errors surface as PTB's real exceptions.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_server import (
    EntityParseError,
    FakeTelegram,
    ThreadedFakeTelegram,
    parse_html,
    spawn_fake_telegram,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server
    assert server.errors == []  # nothing the fake failed to handle


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(fake) as b:
        yield b


def retry_seconds(exc: RetryAfter) -> float:
    """PTB 22 reports retry_after as int (deprecated) or timedelta depending on PTB_TIMEDELTA."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("✅ EV Market", callback_data="toggle:ev-market")],
        [
            InlineKeyboardButton("All", callback_data="all"),
            InlineKeyboardButton("Source", url="https://example.org/a?b=1&c=2"),
        ],
    ]
)


# --------------------------------------------------------------------------- basics


async def test_get_me(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "evbot_test_bot"
    assert me.is_bot
    assert bot.username == "evbot_test_bot"
    assert fake.calls_of("getMe")
    assert fake.api_root.startswith("http://127.0.0.1:")


async def test_send_html_with_keyboard_is_stored(fake: FakeTelegram, bot: Bot) -> None:
    text = '<b>Togg</b> yeni fabrika &amp; <a href="https://ex.org/?a=1&amp;b=2">kaynak</a>'
    msg = await bot.send_message(
        42,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=KEYBOARD,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert msg.message_id == 1
    assert msg.chat.id == 42
    assert msg.text == "Togg yeni fabrika & kaynak"
    assert msg.entities[0].type == MessageEntity.BOLD
    assert (msg.entities[1].type, msg.entities[1].url) == (
        MessageEntity.TEXT_LINK,
        "https://ex.org/?a=1&b=2",
    )
    assert msg.reply_markup == KEYBOARD

    stored = fake.last_message(42)
    assert stored.text == text  # as the bot sent it
    assert stored.plain_text == "Togg yeni fabrika & kaynak"
    assert stored.parse_mode == "HTML"
    assert stored.reply_markup == KEYBOARD.to_dict()
    assert stored.callback_data == ["toggle:ev-market", "all"]
    assert stored.button("EV Market")["callback_data"] == "toggle:ev-market"
    assert stored.link_preview_options == {"is_disabled": True}

    [call] = fake.calls_of("sendMessage", chat_id=42)
    assert call.params["chat_id"] == 42  # decoded from the form's "42"
    assert isinstance(call.params["reply_markup"], dict)

    second = await bot.send_message(42, "plain")
    assert second.message_id == 2
    assert (await bot.send_message(7, "other chat")).message_id == 1
    assert [m.message_id for m in fake.messages[42]] == [1, 2]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<p>hi</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("İş <script>", 'Unsupported start tag "script" at byte offset 5'),  # UTF-8 bytes,
    ],
)
async def test_invalid_html_is_bad_request(
    fake: FakeTelegram, bot: Bot, text: str, fragment: str
) -> None:
    with pytest.raises(BadRequest) as info:
        await bot.send_message(1, text, parse_mode=ParseMode.HTML)
    # PTB strips "Bad Request: " and re-cases the text; the raw answer keeps Telegram's wording.
    assert fragment.lower() in info.value.message.lower()
    [call] = fake.calls_of("sendMessage")
    assert call.response is not None
    assert call.response["description"].startswith("Bad Request: can't parse entities: ")
    assert fragment in call.response["description"]


async def test_text_validation(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(1, "x" * 4097)
    # 4096 characters *after* entity parsing are fine, tags do not count.
    await bot.send_message(1, "<b>" + "ş" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="empty"):
        await bot.send_message(1, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(
            1,
            "x",
            reply_markup=InlineKeyboardMarkup.from_button(
                InlineKeyboardButton("too long", callback_data="d" * 65)
            ),
        )
    assert len(fake.messages[1]) == 1
    assert fake.counters["400"] == 3


# --------------------------------------------------------------------------- faults


async def test_rate_limit_gives_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_limits(per_chat_per_second=1, retry_after=3)
    await bot.send_message(5, "one")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(5, "two")
    assert retry_seconds(info.value) == 3
    await bot.send_message(6, "another chat is fine")
    assert fake.counters["429"] == 1
    assert fake.counters["sent"] == 2
    [refused] = fake.calls_of("sendMessage", ok=False)
    assert refused.status == 429
    assert refused.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }


async def test_global_and_group_limits(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_limits(global_per_second=3, per_chat_per_second=None, per_group_per_minute=2)
    await bot.send_message(-10, "g1")
    await bot.send_message(-10, "g2")
    with pytest.raises(RetryAfter):
        await bot.send_message(-10, "g3")
    await bot.send_message(1, "p1")  # third send in this second
    with pytest.raises(RetryAfter):
        await bot.send_message(2, "p2")  # global limit
    fake.clear_limits()
    await bot.send_message(2, "p2")


async def test_blocked_chat_is_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(99)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(99, "hello")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(99, "typing")
    await bot.send_message(98, "others still work")
    fake.unblock(99)
    await bot.send_message(99, "hello again")
    assert fake.counters["403"] == 2


async def test_block_with_notification(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_message(55, "/start")
    update = fake.block(55, notify=True)
    assert update is not None
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None
    assert member.chat.id == 55
    assert member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden):
        await bot.send_message(55, "x")


async def test_reply_target_must_exist(fake: FakeTelegram, bot: Bot) -> None:
    update = fake.send_message(-40, "/settings", chat_type="group")
    asked = update["message"]["message_id"]
    sent = await bot.send_message(-40, "ok", reply_parameters=ReplyParameters(asked))
    assert fake.last_message(-40).reply_to_message_id == asked
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(-40, "x", reply_parameters=ReplyParameters(sent.message_id + 5))
    await bot.send_message(
        -40,
        "x",
        reply_parameters=ReplyParameters(999, allow_sending_without_reply=True),
    )


async def test_migrated_group_gives_chat_migrated(fake: FakeTelegram, bot: Bot) -> None:
    update = fake.migrate_group(-500, -1000500)
    assert update["message"]["migrate_to_chat_id"] == -1000500
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-500, "hi")
    assert info.value.new_chat_id == -1000500
    await bot.send_message(-1000500, "hi")

    updates = await bot.get_updates()
    assert updates[0].message is not None
    assert updates[0].message.migrate_to_chat_id == -1000500
    assert updates[1].message is not None
    assert updates[1].message.migrate_from_chat_id == -500


async def test_fail_next(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
        chat_id=3,
    )
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found", times=2)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(4, "x")  # the chat-3 fault does not apply here
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(3, "x")
    assert retry_seconds(info.value) == 7
    with pytest.raises(BadRequest):
        await bot.send_message(3, "x")
    await bot.send_message(3, "x")
    fake.fail_next("*", status=500, description="Internal Server Error")
    with pytest.raises(NetworkError):
        await bot.get_me()
    fake.fail_next(
        "sendMessage", status=400, description="Bad Request: x", migrate_to_chat_id=-1009
    )
    with pytest.raises(ChatMigrated):
        await bot.send_message(3, "x")


async def test_bad_gateway_while_unavailable(fake: FakeTelegram) -> None:
    fake.unavailable_for = 2
    bot = make_bot(fake)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.initialize()  # getMe
    async with bot:
        assert bot.username == "evbot_test_bot"
    assert fake.counters["502"] == 2
    assert [c.status for c in fake.calls_of("getMe")] == [502, 502, 200]


async def test_wrong_token_and_unknown_method(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(InvalidToken):
        await make_bot(fake, token="999:WRONG").get_me()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    async with httpx.AsyncClient() as client:
        resp = await client.post(f"{fake.base_url}{fake.token}/noSuchMethod")
        assert resp.status_code == 404
        assert resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        resp = await client.post(f"{fake.base_url}999:WRONG/getMe")
        assert resp.status_code == 401
        assert resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


# --------------------------------------------------------------------------- updates


async def test_get_updates_parsed_by_ptb(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_message(
        -200,
        "/subscribe@evbot_test_bot ev-market",
        user_id=77,
        chat_type="group",
        chat_title="EV Fans",
        language_code="tr",
    )
    sent = await bot.send_message(77, "pick", reply_markup=KEYBOARD)
    fake.press_button(77, sent.message_id, "toggle:ev-market", language_code="tr")

    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 2
    command, press = updates
    assert isinstance(command, Update)
    msg = command.message
    assert msg is not None and msg.from_user is not None
    assert msg.chat.type == "group" and msg.chat.title == "EV Fans"
    assert msg.from_user.id == 77 and msg.from_user.language_code == "tr"
    assert msg.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 25),)
    assert msg.parse_entities(["bot_command"]) == {msg.entities[0]: "/subscribe@evbot_test_bot"}

    query = press.callback_query
    assert query is not None
    assert query.data == "toggle:ev-market"
    assert query.from_user.language_code == "tr"
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id
    assert query.message.reply_markup == KEYBOARD

    # Unconfirmed updates are delivered again; an offset confirms them.
    assert len(await bot.get_updates()) == 2
    assert await bot.get_updates(offset=press.update_id + 1) == ()
    assert fake.pending_updates() == []

    assert await bot.answer_callback_query(query.id, text="OK")
    assert fake.callback_answers[query.id]["text"] == "OK"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)


async def test_press_button_checks_the_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(1, "pick", reply_markup=KEYBOARD)
    with pytest.raises(LookupError, match="toggle:ev-market"):
        fake.press_button(1, sent.message_id, "nope")
    with pytest.raises(LookupError):
        fake.press_button(1, 999, "all")
    fake.press_button(1, sent.message_id, "nope", strict=False)


async def test_long_poll_is_woken_by_new_update(fake: FakeTelegram, bot: Bot) -> None:
    fake.long_poll_cap = 30  # long enough that only the wake-up can end it in time
    poll = asyncio.create_task(bot.get_updates(timeout=20, read_timeout=30))
    await fake.wait_until(lambda: any(c.status is None for c in fake.calls_of("getUpdates")))
    loop = asyncio.get_running_loop()
    started = loop.time()
    fake.send_message(5, "/help")
    updates = await asyncio.wait_for(poll, 5)
    assert loop.time() - started < 2
    assert updates[0].message is not None and updates[0].message.text == "/help"


async def test_my_chat_member_and_admins(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_bot_to_group(-300, by_user_id=11, title="Belediye")
    fake.set_admins(-300, [11, 12], creator=10)
    [update] = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "member"
    assert update.my_chat_member.from_user.id == 11

    assert isinstance(await bot.get_chat_member(-300, 11), ChatMemberAdministrator)
    assert isinstance(await bot.get_chat_member(-300, 10), ChatMemberOwner)
    assert isinstance(await bot.get_chat_member(-300, 13), ChatMemberMember)
    admins = await bot.get_chat_administrators(-300)
    assert {a.user.id for a in admins} == {10, 11, 12}
    chat = await bot.get_chat(-300)
    assert (chat.type, chat.title) == ("group", "Belediye")
    assert (await bot.get_chat(42)).type == "private"


async def test_edits(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(1, "<b>v1</b>", parse_mode="HTML", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text(
        "v2", chat_id=1, message_id=sent.message_id, reply_markup=KEYBOARD
    )
    assert not isinstance(edited, bool) and edited.text == "v2"
    stored = fake.last_message(1)
    assert stored.text == "v2" and stored.reply_markup == KEYBOARD.to_dict()
    assert [v.text for v in stored.edits] == ["<b>v1</b>"]
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "v2", chat_id=1, message_id=sent.message_id, reply_markup=KEYBOARD
        )
    # Like Telegram, an edit without reply_markup drops the keyboard.
    await bot.edit_message_text("v3", chat_id=1, message_id=sent.message_id)
    assert fake.last_message(1).reply_markup is None
    await bot.edit_message_reply_markup(
        chat_id=1, message_id=sent.message_id, reply_markup=KEYBOARD
    )
    assert fake.last_message(1).callback_data == ["toggle:ev-market", "all"]
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("x", chat_id=1, message_id=99)
    assert fake.counters["edited"] == 3


async def test_commands_and_misc(fake: FakeTelegram, bot: Bot) -> None:
    cmds = [BotCommand("start", "Başla"), BotCommand("help", "Yardım")]
    assert await bot.set_my_commands(cmds, language_code="tr")
    assert await bot.get_my_commands(language_code="tr") == tuple(cmds)
    assert await bot.get_my_commands() == ()
    assert [c["command"] for c in fake.my_commands(language_code="tr")] == ["start", "help"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await bot.send_chat_action(1, "typing")
    assert fake.chat_actions == [(1, "typing")]
    assert await bot.delete_webhook()
    assert await bot.log_out()
    assert await bot.close()


# --------------------------------------------------------------------------- raw HTTP


async def test_request_encodings(fake: FakeTelegram) -> None:
    base = f"{fake.base_url}{fake.token}"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]}
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{base}/sendMessage", params={"chat_id": "1", "text": "123"})
        assert r.json()["result"]["text"] == "123"
        r = await client.post(
            f"{base}/sendMessage", json={"chat_id": 2, "text": "true", "reply_markup": markup}
        )
        assert r.json()["ok"]
        r = await client.post(
            f"{base}/sendMessage",
            data={"chat_id": "3", "text": "multi", "reply_markup": json.dumps(markup)},
            files={"document": ("a.txt", b"abc", "text/plain")},
        )
        assert r.json()["ok"]
        r = await client.post(f"{base}/sendMessage", data={"chat_id": "@channel", "text": "x"})
        assert r.status_code == 400
    assert fake.last_message(1).text == "123"  # string params are never JSON-decoded
    assert fake.last_message(2).text == "true"
    assert fake.last_message(3).reply_markup == markup
    assert fake.calls_of("sendMessage", chat_id=3)[0].params["document"]["size"] == 3
    assert fake.calls_of("sendMessage", chat_id="3")  # ints and their strings match


async def test_wait_for_timeout_is_readable(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(1, "something else")
    with pytest.raises(TimeoutError) as info:
        await fake.wait_for("sendMessage", chat_id=2, timeout=0.2)
    assert "sendMessage(chat_id=1, text='something else')" in str(info.value)
    mark = len(fake.calls)
    await bot.send_message(2, "now")
    assert len(await fake.wait_for("sendMessage", since=mark, text=lambda t: "no" in t)) == 1


# --------------------------------------------------------------------------- Application


async def test_application_replies_to_start(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_user is not None
        lang = update.effective_user.language_code
        await context.bot.send_message(
            update.effective_chat.id,
            f"<b>Hoş geldin</b> ({lang})",
            parse_mode=ParseMode.HTML,
            reply_markup=KEYBOARD,
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("done")

    app = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0)
    try:
        fake.send_message(1234, "/start", language_code="tr")
        [call] = await fake.wait_for("sendMessage", chat_id=1234)
        assert call.ok
        assert fake.last_message(1234).plain_text == "Hoş geldin (tr)"

        # In a group the command is addressed to the bot by name.
        fake.send_message(-77, "/start@evbot_test_bot", chat_type="group", user_id=5)
        await fake.wait_for("sendMessage", chat_id=-77)

        fake.press_button(1234, fake.last_message(1234).message_id, "all")
        [answer] = await fake.wait_for("answerCallbackQuery")
        assert answer.params["text"] == "done"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    # PTB confirmed every update on the way out.
    assert fake.pending_updates() == []


# --------------------------------------------------------------------------- standalone


async def test_standalone_process() -> None:
    async with spawn_fake_telegram("--per-chat-rate", "1", "--retry-after", "2") as remote:
        info = await remote.health()
        bot = Bot(remote.token, base_url=remote.base_url)
        async with bot:
            update = await remote.send_message(8, "/start")
            [got] = await bot.get_updates()
            assert got.update_id == update["update_id"]
            assert got.message is not None and got.message.text == "/start"

            sent = await bot.send_message(8, "pick", reply_markup=KEYBOARD)
            with pytest.raises(RetryAfter):
                await bot.send_message(8, "again")
            await remote.press_button(8, sent.message_id, "all")
            [press] = await bot.get_updates(offset=got.update_id + 1)
            assert press.callback_query is not None
            assert press.callback_query.data == "all"

            await remote.fail_next("getMe", status=502, description="Bad Gateway")
            with pytest.raises(NetworkError):
                await bot.get_me()

        calls = await remote.wait_for("sendMessage", chat_id=8, ok=True)
        assert [c["params"]["text"] for c in calls] == ["pick"]
        [stored] = await remote.messages(8)
        assert stored["reply_markup"] == KEYBOARD.to_dict()
        refused = await remote.calls_of("sendMessage", ok=False, chat_id=8)
        assert [c["status"] for c in refused] == [429]
        assert len(await remote.calls_of("getMe")) == 2
        counters = await remote.counters()
        assert counters["429"] == 1
        assert info["bot_username"] == "evbot_test_bot"
        with pytest.raises(TimeoutError):
            await remote.wait_for("sendMessage", chat_id=9, timeout=0.2)


def test_threaded_fake_for_sync_code() -> None:
    with ThreadedFakeTelegram(bot_username="sync_bot") as tg:
        base = f"{tg.base_url}{tg.token}"
        tg.send_message(3, "/start")
        with httpx.Client() as client:
            updates = client.get(f"{base}/getUpdates").json()["result"]
            assert updates[0]["message"]["text"] == "/start"
            markup = {"inline_keyboard": [[{"text": "a", "callback_data": "x"}]]}
            sent = client.post(
                f"{base}/sendMessage",
                data={"chat_id": "3", "text": "hi", "reply_markup": json.dumps(markup)},
            ).json()["result"]
        [call] = tg.wait_for("sendMessage", chat_id=3, timeout=5)
        assert call.ok
        assert tg.last_message(3).callback_data == ["x"]
        update = tg.press_button(3, sent["message_id"], "x")
        assert update["callback_query"]["data"] == "x"
        with pytest.raises(TimeoutError):
            tg.wait_for("sendMessage", chat_id=4, timeout=0.1)


async def test_known_chats_only(fake: FakeTelegram, bot: Bot) -> None:
    fake.known_chats_only = True
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(12345, "hi")
    fake.send_message(12345, "/start")
    fake.register_chat(-1001234)
    await bot.send_message(12345, "hi")
    await bot.send_message(-1001234, "hi")
    assert (await bot.get_chat(-1001234)).type == "supergroup"


async def test_wait_for_many_calls_stays_fast(fake: FakeTelegram, bot: Bot) -> None:
    """Waiters scan only new calls, so thousands of calls do not make waiting quadratic."""
    waiter = asyncio.create_task(fake.wait_for("sendMessage", chat_id=1, count=100))
    for i in range(300):
        await bot.send_message(1 + i % 3, f"m{i}")
    assert len(await asyncio.wait_for(waiter, 10)) == 100


# --------------------------------------------------------------------------- parse_html


def test_parse_html_entities() -> None:
    text, entities = parse_html(
        '  <b>Şarj</b> 🔋 <i>a<u>b</u></i> <pre><code class="language-py">x</code></pre>'
        " <blockquote expandable>q</blockquote> <tg-spoiler>s</tg-spoiler> 1 &lt; 2 &#x1F600; & ;"
    )
    assert text == "Şarj 🔋 ab x q s 1 < 2 😀 & ;"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 8, "length": 2},  # the emoji is 2 UTF-16 units
        {"type": "underline", "offset": 9, "length": 1},
        {"type": "pre", "offset": 11, "length": 1, "language": "py"},
        {"type": "expandable_blockquote", "offset": 13, "length": 1},
        {"type": "spoiler", "offset": 15, "length": 1},
    ]


@pytest.mark.parametrize(
    "bad",
    ['<a href=x"y">z</a>', "<b", "<b>x</b", '<a href="x" =>y</a>', "<b x>y</b>"],
)
def test_parse_html_rejects(bad: str) -> None:
    with pytest.raises(EntityParseError):
        parse_html(bad)


def test_parse_html_accepts_telegram_html() -> None:
    ok: list[Any] = [
        '<a href="https://a.b/?x=1&amp;y=2">l</a>',
        "<strong>a</strong><em>b</em><ins>c</ins><s>d</s><strike>e</strike><del>f</del>",
        '<span class="tg-spoiler">s</span><code>c</code><B>upper</B>',
        "Fiyat &amp; menzil &quot;x&quot; &#39;y&#39;",
    ]
    for html in ok:
        parse_html(html)
