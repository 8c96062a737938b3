"""What runs before the handlers: flood control, loading the chat, and who may change settings.

Group -2 throttles a chat that sends too much; group -1 loads (or creates) the
chat row once per update; `changes_settings` guards handlers that change a
chat: in groups only its administrators may (checked with getChatMember, or the
group itself posting as an anonymous admin); private chats always may.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.i18n import DEFAULT_LANGUAGE, language_for, t
from bot.telegram_app.context import BotContext
from bot.telegram_app.errors import on_error
from bot.telegram_app.replies import reply
from bot.telegram_app.throttle import Verdict

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


async def throttle_gate(update: Update, context: BotContext) -> None:
    """A chat sending too much is told to slow down once, then ignored until the window passes."""
    tg_chat = update.effective_chat
    counted = update.callback_query is not None or (
        update.message is not None and bool(update.message.text)
    )
    if tg_chat is None or not counted:
        return  # membership changes, migrations, edits: not something a user floods with
    svc = context.svc
    # A channel's readers are strangers to each other: each reader pressing Why?
    # is throttled alone, not the whole channel for one reader's taps.
    key = tg_chat.id
    if tg_chat.type == ChatType.CHANNEL and update.effective_user is not None:
        key = update.effective_user.id
    verdict = svc.throttle.check(key)
    if verdict is Verdict.ANSWER:
        return
    if verdict is Verdict.WARN:
        known = await svc.storage.chat(tg_chat.id)
        user = update.effective_user
        lang = known.language if known else language_for(user.language_code if user else None)
        seconds = max(1, math.ceil(svc.throttle.wait_seconds(key)))
        text = t(lang, "slow_down", seconds=seconds)
        log.info("chat %s sends too fast: ignored for %d s", tg_chat.id, seconds)
        with contextlib.suppress(TelegramError):
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            else:
                await reply(update, text)
    raise ApplicationHandlerStop


async def load_chat(update: Update, context: BotContext) -> None:
    """The chat of a message or button press, created on first contact in the user's language.

    If the chat cannot be loaded (the database is away), the user is told that
    something went wrong and the update goes no further: every later handler
    needs the chat row.
    """
    try:
        await _load_chat(update, context)
    except Exception as error:
        context.error = error
        await on_error(update, context)
        raise ApplicationHandlerStop from error


async def _load_chat(update: Update, context: BotContext) -> None:
    message = update.message
    if update.callback_query is None and (message is None or message.text is None):
        # Membership changes and migrations manage the chat row themselves (a
        # migrated group's new row must be created by the migration, not here).
        return
    tg_chat = update.effective_chat
    if tg_chat is None:
        return
    user = update.effective_user
    svc = context.svc
    known = await svc.storage.chat(tg_chat.id)
    if known is not None and known.active:
        context.chat = known
        return
    if tg_chat.type == ChatType.CHANNEL:
        # Only /channel add (from an admin's private chat) makes a channel
        # active: a reader's press on an old post must not bring it back.
        if known is None:
            raise ApplicationHandlerStop
        context.chat = known
        return
    language = language_for(user.language_code if user else None)
    if known is None and tg_chat.type != ChatType.PRIVATE and not await _is_admin(context, update):
        # A group's language is its administrators' choice (the adder's, see
        # membership), never that of whoever happens to speak first.
        language = DEFAULT_LANGUAGE
    context.chat, _ = await svc.storage.ensure_chat(
        tg_chat.id, type=tg_chat.type, title=tg_chat.title, language=language, now=svc.clock.now()
    )


async def _is_admin(context: BotContext, update: Update) -> bool:
    tg_chat, user = update.effective_chat, update.effective_user
    if tg_chat is None or user is None:
        return False
    try:
        member = await context.bot.get_chat_member(tg_chat.id, user.id)
    except TelegramError as error:
        log.warning("getChatMember failed for chat %s: %s", tg_chat.id, error)
        return False
    return member.status in {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def may_change(update: Update, context: BotContext) -> bool:
    """In groups only administrators change settings; private chats always may."""
    chat = context.chat
    if chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message
    if (
        update.callback_query is None
        and message is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat.id
    ):
        return True  # an anonymous administrator, posting as the group itself
    return await _is_admin(context, update)


def changes_settings(handler: Handler) -> Handler:
    """Wrap a handler that changes the chat's settings: group non-admins are refused."""

    async def wrapped(update: Update, context: BotContext) -> None:
        if not await may_change(update, context):
            await reply(update, t(context.chat.language, "admins_only"))
            return
        await handler(update, context)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped
