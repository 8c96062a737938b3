"""The bot's own membership: added to or removed from a chat, blocked, and group migrations."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.i18n import language_for, t
from bot.telegram_app.channels import on_channel_membership
from bot.telegram_app.context import BotContext


async def on_membership(update: Update, context: BotContext) -> None:
    """The bot was added to / removed from a chat (or a user blocked / unblocked it)."""
    change = update.my_chat_member
    if change is None:
        return
    if change.chat.type == ChatType.CHANNEL:
        await on_channel_membership(update, context)
        return
    svc = context.svc
    tg_chat = change.chat
    status = change.new_chat_member.status
    now = svc.clock.now()
    if status in {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}:
        await svc.storage.deactivate_chat(tg_chat.id, f"bot {status}", now)
        return
    if status not in {
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.ADMINISTRATOR,
        ChatMemberStatus.RESTRICTED,
    }:
        return
    user_lang = language_for(change.from_user.language_code if change.from_user else None)
    row, created = await svc.storage.ensure_chat(
        tg_chat.id, type=tg_chat.type, title=tg_chat.title, language=user_lang, now=now
    )
    if created and tg_chat.type != ChatType.PRIVATE:
        # A default, not the group's choice: the group has not started, so an
        # admin's first /start still decides (`t.me/<bot>?startgroup=regulation`
        # adds the bot, then sends "/start regulation": that group gets regulation only).
        await svc.storage.set_subscriptions(row.id, (c.id for c in svc.rules().categories))
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(row.id, t(row.language, "group_welcome"))


async def on_migrate(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its settings, keywords and queued alerts move along."""
    message = update.effective_message
    if message is None:
        return
    svc = context.svc
    now = svc.clock.now()
    if message.migrate_to_chat_id:
        await svc.storage.migrate_chat(message.chat.id, message.migrate_to_chat_id, now)
    elif message.migrate_from_chat_id:
        # The same event seen from the new chat; migrating twice is harmless.
        await svc.storage.migrate_chat(message.migrate_from_chat_id, message.chat.id, now)
