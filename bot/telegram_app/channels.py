"""Channels: an administrator links a channel from a private chat, then the bot posts there.

A channel is a chat row like any other (type `channel`), so alerts to it are
planned, rendered, paced (like a group) and held for quiet hours like any
chat's. What differs is who speaks for it: a channel has no member who can
send the bot a command, so its administrators manage it from their private
chat with `/channel add|list|remove` and `/channel quiet`, and its category
picker carries the channel's id (`callbacks.channel_picker_data`). A new
channel takes the linking admin's time zone.

Rules, stated here because tests and the README rely on them:

- Linking needs both the bot and the user to be administrators of the
  channel, and the bot to have the right to post; each refusal says which.
- Any administrator who linked the channel (`/channel add` by several admins
  links it for each) may change it, as long as Telegram still lists them as an
  administrator of the channel.
- A new channel starts with no category: nothing is posted to subscribers
  until an admin chooses. Linking a known channel again keeps its categories.
- Only `/channel add` makes a channel active. Removing the bot from the
  channel (or a 403 when posting) deactivates it; it stays in `/channel list`
  as not posting until it is linked again. `/channel remove` unlinks it for
  every admin and stops posting (the categories are kept for a later link).
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from functools import partial

from telegram import ChatMemberAdministrator, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.delivery.render import shorten
from bot.delivery.times import format_hhmm, parse_quiet_range
from bot.i18n import t
from bot.models import ChatRow
from bot.telegram_app.buttons import apply_choice, redraw_picker
from bot.telegram_app.callbacks import (
    ALL,
    CHANNEL_EDIT,
    CHANNEL_REMOVE,
    NONE,
    channel_action_data,
    channel_picker_data,
    parse_channel_action,
    parse_channel_picker,
)
from bot.telegram_app.context import BotContext
from bot.telegram_app.keyboards import picker
from bot.telegram_app.preferences import apply_prefs, twenty_four_hour
from bot.telegram_app.replies import OFF_WORDS, category_names, folded, reply

log = logging.getLogger(__name__)

_ADD = frozenset({"add", "ekle", "bagla"})
_REMOVE = frozenset({"remove", "rm", "delete", "sil", "cikar", "kaldir"})
_LIST = frozenset({"list", "liste", "listele"})
_QUIET = frozenset({"quiet", "sessiz"})
_ADMINS = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
# "@name", "name", "t.me/name" or "https://t.me/name"; or a numeric -100… id.
_USERNAME = re.compile(r"^(?:(?:https?://)?t(?:elegram)?\.me/|@)?([A-Za-z][A-Za-z0-9_]{3,31})$")
_CHANNEL_ID = re.compile(r"^-100\d{1,16}$")
BUTTON_NAME_LIMIT = 24


def parse_target(text: str) -> int | str | None:
    """A channel as the user named it: its id, `@username`, or None if it names none."""
    text = text.strip()
    if _CHANNEL_ID.match(text):
        return int(text)
    match = _USERNAME.match(text)
    return f"@{match.group(1)}" if match else None


def display_name(row: ChatRow, username: str | None) -> str:
    """How a channel is named to its admins (escaped HTML): @username, else its title."""
    if username:
        return html.escape(f"@{username}")
    return f"<b>{html.escape(row.title or str(row.id))}</b>"


async def channel(update: Update, context: BotContext) -> None:
    """/channel add|remove <@name|id> · /channel list · /channel quiet <@name|id> <hours|off>.

    Private chats only: a channel's admins manage it from their own chat.
    """
    chat = context.chat
    lang = chat.language
    if chat.type != ChatType.PRIVATE:
        bot = html.escape(context.bot.username or "evbot")
        await reply(update, t(lang, "channel_private_only", bot=bot))
        return
    args = context.arguments
    action = folded(args[0]) if args else ""
    if not args or (action in _LIST and len(args) == 1):
        await show_list(update, context)
        return
    target = parse_target(args[1]) if len(args) >= 2 else None
    if action in _ADD and target is not None and len(args) == 2:
        await _add(update, context, target)
    elif action in _REMOVE and target is not None and len(args) == 2:
        await _remove(update, context, target)
    elif action in _QUIET and target is not None and len(args) >= 3:
        await _quiet(update, context, target, " ".join(args[2:]))
    else:
        await reply(update, t(lang, "channel_usage"))


async def _add(update: Update, context: BotContext, target: int | str) -> None:
    svc, lang = context.svc, context.chat.language
    user = update.effective_user
    assert user is not None
    shown = html.escape(str(target))
    try:
        tg_chat = await context.bot.get_chat(target)
    except TelegramError as error:
        log.info("/channel add %s: getChat failed: %s", target, error)
        await reply(update, t(lang, "channel_not_found", channel=shown))
        return
    if tg_chat.type != ChatType.CHANNEL:
        await reply(update, t(lang, "channel_not_a_channel", channel=shown))
        return
    if tg_chat.username:
        shown = html.escape(f"@{tg_chat.username}")
    elif tg_chat.title:
        shown = f"<b>{html.escape(tg_chat.title)}</b>"
    try:
        me = await context.bot.get_chat_member(tg_chat.id, context.bot.id)
    except TelegramError as error:
        # Telegram hides a channel's members from a bot that is not its admin.
        log.info("/channel add %s: getChatMember (bot) failed: %s", target, error)
        me = None
    if me is None or me.status not in _ADMINS:
        await reply(update, t(lang, "channel_bot_not_admin", channel=shown))
        return
    if isinstance(me, ChatMemberAdministrator) and not me.can_post_messages:
        await reply(update, t(lang, "channel_bot_cannot_post", channel=shown))
        return
    if not await _is_channel_admin(context, tg_chat.id, user.id):
        await reply(update, t(lang, "channel_user_not_admin", channel=shown))
        return
    now = svc.clock.now()
    row, created = await svc.storage.ensure_chat(
        tg_chat.id, type=ChatType.CHANNEL, title=tg_chat.title, language=lang, now=now
    )
    if created and context.chat.timezone:
        # The linking admin's time zone is the best guess for the channel's quiet hours.
        await svc.storage.update_chat(row.id, now, timezone=context.chat.timezone)
    elif tg_chat.title and tg_chat.title != row.title:
        await svc.storage.update_chat(row.id, now, title=tg_chat.title)
    await svc.storage.link_channel(row.id, user.id, tg_chat.username, now)
    subscribed = await svc.storage.subscriptions(row.id)
    rules = svc.rules()
    await reply(
        update,
        t(
            lang,
            "channel_added",
            channel=shown,
            categories=category_names(rules, subscribed, lang),
        ),
        reply_markup=channel_picker(context, row.id, subscribed),
    )


def channel_picker(
    context: BotContext, channel_id: int, subscribed: set[str]
) -> InlineKeyboardMarkup:
    """The category picker of a channel, in the language of the admin's chat."""
    return picker(
        context.svc.rules(),
        subscribed,
        context.chat.language,
        data=partial(channel_picker_data, channel_id),
    )


async def _is_channel_admin(context: BotContext, channel_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(channel_id, user_id)
    except TelegramError as error:
        log.info("getChatMember %s in channel %s failed: %s", user_id, channel_id, error)
        return False
    return member.status in _ADMINS


async def _may_manage(context: BotContext, channel_id: int, user_id: int) -> bool:
    """A linked admin who is still an administrator of the channel.

    When the bot itself lost the channel Telegram tells it nothing about its
    members; the link alone then lets its admins tidy up.
    """
    if user_id not in await context.svc.storage.channel_linkers(channel_id):
        return False
    try:
        member = await context.bot.get_chat_member(channel_id, user_id)
    except TelegramError:
        return True
    return member.status in _ADMINS


async def _find_linked(
    context: BotContext, user_id: int, target: int | str
) -> tuple[ChatRow, str | None] | None:
    for row, username in await context.svc.storage.linked_channels(user_id):
        if row.id == target:
            return row, username
        if isinstance(target, str) and username and folded(username) == folded(target[1:]):
            return row, username
    return None


async def _remove(update: Update, context: BotContext, target: int | str) -> None:
    lang = context.chat.language
    user = update.effective_user
    assert user is not None
    found = await _find_linked(context, user.id, target)
    if found is None:
        await reply(update, t(lang, "channel_not_linked", channel=html.escape(str(target))))
        return
    row, username = found
    await _unlink(update, context, row, username, user.id)


async def _unlink(
    update: Update, context: BotContext, row: ChatRow, username: str | None, user_id: int
) -> None:
    svc, lang = context.svc, context.chat.language
    if not await _may_manage(context, row.id, user_id):
        await reply(update, t(lang, "channel_user_not_admin", channel=display_name(row, username)))
        return
    await svc.storage.unlink_channel(row.id, f"unlinked by {user_id}", svc.clock.now())
    await reply(update, t(lang, "channel_removed", channel=display_name(row, username)))


async def _quiet(update: Update, context: BotContext, target: int | str, text: str) -> None:
    """/channel quiet <channel> HH:MM-HH:MM | off: the channel's quiet hours, as /quiet's."""
    svc, lang = context.svc, context.chat.language
    user = update.effective_user
    assert user is not None
    found = await _find_linked(context, user.id, target)
    if found is None:
        await reply(update, t(lang, "channel_not_linked", channel=html.escape(str(target))))
        return
    row, username = found
    name = display_name(row, username)
    if not await _may_manage(context, row.id, user.id):
        await reply(update, t(lang, "channel_user_not_admin", channel=name))
        return
    if folded(text) in OFF_WORDS:
        await apply_prefs(svc, row, quiet_start=None, quiet_end=None)
        await reply(update, t(lang, "channel_quiet_off", channel=name))
        return
    window = parse_quiet_range(twenty_four_hour(text))
    if window is None:
        await reply(update, t(lang, "quiet_usage"))
        return
    start_at, end_at = (format_hhmm(x) for x in window)
    fresh, _ = await apply_prefs(svc, row, quiet_start=start_at, quiet_end=end_at)
    zone = svc.prefs(fresh).timezone.key
    await reply(
        update,
        t(lang, "channel_quiet_set", channel=name, start=start_at, end=end_at, timezone=zone),
    )


async def show_list(update: Update, context: BotContext) -> None:
    """The user's linked channels: categories or "not posting", with edit and remove buttons."""
    svc, lang = context.svc, context.chat.language
    user = update.effective_user
    assert user is not None
    linked = await svc.storage.linked_channels(user.id)
    if not linked:
        await reply(update, t(lang, "channel_list_empty"))
        return
    rules = svc.rules()
    lines = [t(lang, "channel_list_title")]
    rows: list[list[InlineKeyboardButton]] = []
    for row, username in linked:
        name = display_name(row, username)
        if row.active:
            categories = category_names(rules, await svc.storage.subscriptions(row.id), lang)
            lines.append(t(lang, "channel_list_line", channel=name, categories=categories))
        else:
            lines.append(t(lang, "channel_list_inactive", channel=name))
        label = shorten(f"@{username}" if username else row.title or str(row.id), BUTTON_NAME_LIMIT)
        rows.append(
            [
                InlineKeyboardButton(
                    t(lang, "channel_button_edit", channel=label),
                    callback_data=channel_action_data(row.id, CHANNEL_EDIT),
                ),
                InlineKeyboardButton(
                    t(lang, "channel_button_remove", channel=label),
                    callback_data=channel_action_data(row.id, CHANNEL_REMOVE),
                ),
            ]
        )
    await reply(update, "\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


async def on_channel_picker(update: Update, context: BotContext) -> None:
    """A press on a channel's picker (in an admin's private chat)."""
    query = update.callback_query
    assert query is not None
    lang = context.chat.language
    parsed = parse_channel_picker(query.data or "")
    ids = {c.id for c in context.svc.rules().categories}
    if parsed is None or (parsed[1] not in ids and parsed[1] not in {ALL, NONE}):
        await query.answer(t(lang, "picker_stale"), show_alert=True)
        return
    channel_id, choice, data_on = parsed
    if not await _may_manage(context, channel_id, query.from_user.id):
        await query.answer(t(lang, "channel_not_yours"), show_alert=True)
        return
    new = await apply_choice(update, context, channel_id, choice, data_on)
    await query.answer(t(lang, "picker_updated"))
    await redraw_picker(update, channel_picker(context, channel_id, new))


async def on_channel_action(update: Update, context: BotContext) -> None:
    """/channel list's buttons: show a channel's picker, or unlink the channel."""
    query = update.callback_query
    assert query is not None
    svc, lang = context.svc, context.chat.language
    parsed = parse_channel_action(query.data or "")
    found = None if parsed is None else await _find_linked(context, query.from_user.id, parsed[0])
    if parsed is None or found is None:
        await query.answer(t(lang, "picker_stale"), show_alert=True)
        return
    row, username = found
    await query.answer()
    if parsed[1] == CHANNEL_REMOVE:
        await _unlink(update, context, row, username, query.from_user.id)
        return
    subscribed = await svc.storage.subscriptions(row.id)
    await reply(
        update,
        t(lang, "channel_picker_title", channel=display_name(row, username)),
        reply_markup=channel_picker(context, row.id, subscribed),
    )


async def on_channel_membership(update: Update, context: BotContext) -> None:
    """The bot's rights in a channel changed: losing the channel (or posting) deactivates it.

    Being added to a channel does nothing by itself: the admin links it with
    /channel add, which checks who asks.
    """
    change = update.my_chat_member
    assert change is not None
    svc = context.svc
    member = change.new_chat_member
    if member.status in {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}:
        reason = f"bot {member.status}"
    elif isinstance(member, ChatMemberAdministrator) and not member.can_post_messages:
        reason = "bot may not post"
    else:
        return
    known = await svc.storage.chat(change.chat.id)
    if known is None or not known.active:
        return
    await svc.storage.deactivate_chat(known.id, reason, svc.clock.now())
    log.info("channel %s deactivated: %s", known.id, reason)
    username = change.chat.username
    for user_id in await svc.storage.channel_linkers(known.id):
        admin = await svc.storage.chat(user_id)
        lang = admin.language if admin is not None else known.language
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                user_id, t(lang, "channel_lost", channel=display_name(known, username))
            )
