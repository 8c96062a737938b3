"""/topics: in a forum supergroup, each category posted to a topic of its own.

`/topics on` (administrators only, like every settings change) creates one
topic per subscribed category, named in the chat's language, or reuses the one
created before; `/topics off` posts in General again and keeps the topics for
next time; `/topics` shows the state. While topics are on, subscribing to a
category creates its topic if it has none (`topics_for`). Which topic an alert
goes to, and what happens when a topic was deleted, is bot.delivery.threads.

Creating topics needs the bot to be an administrator with the "Manage topics"
right; without it the chat is told what to change.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable

from telegram import ChatMemberAdministrator, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.i18n import N_, t
from bot.telegram_app.context import BotContext
from bot.telegram_app.gates import may_change
from bot.telegram_app.replies import OFF_WORDS, ON_WORDS, folded, reply

log = logging.getLogger(__name__)


class NoRights(Exception):
    """The bot may not create topics in this chat."""


async def _may_manage_topics(context: BotContext) -> bool:
    try:
        member = await context.bot.get_chat_member(context.chat.id, context.bot.id)
    except TelegramError as error:
        log.warning("getChatMember (bot) failed in chat %s: %s", context.chat.id, error)
        return False
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_manage_topics)


async def _create(context: BotContext, wanted: Iterable[str]) -> tuple[int, int]:
    """Topics for these categories (in the rules' order) that have none; (created, reused).

    Raises NoRights when Telegram refuses for lack of rights (topics created
    before the refusal are kept).
    """
    svc, chat = context.svc, context.chat
    existing = await svc.storage.chat_topics(chat.id)
    wanted_ids = set(wanted)
    created = reused = 0
    for category in svc.rules().categories:
        if category.id not in wanted_ids:
            continue
        if category.id in existing:
            reused += 1
            continue
        name = category.name(chat.language)
        try:
            topic = await context.bot.create_forum_topic(chat.id, name)
        except (BadRequest, Forbidden) as error:
            lowered = str(error).lower()
            if "right" in lowered or "admin" in lowered or isinstance(error, Forbidden):
                raise NoRights(str(error)) from error
            raise
        await svc.storage.add_topic(
            chat.id, category.id, topic.message_thread_id, name, svc.clock.now()
        )
        created += 1
    return created, reused


async def topics_for(context: BotContext, categories: Iterable[str]) -> None:
    """After subscribing: the new categories' topics, if this chat has topics on."""
    if not context.chat.topics:
        return
    try:
        await _create(context, categories)
    except (NoRights, TelegramError) as error:
        # Their alerts go to General meanwhile; /topics on says what is wrong.
        log.info("chat %s: no topic for the new categories: %s", context.chat.id, error)


def _topic_lines(context: BotContext, subscribed: set[str], mapped: set[str]) -> str:
    lang = context.chat.language
    lines = []
    for category in context.svc.rules().categories:
        if category.id not in subscribed:
            continue
        name = html.escape(category.name(lang))
        key = N_("topics_line") if category.id in mapped else N_("topics_line_general")
        lines.append(t(lang, key, name=name))
    return "\n".join(lines) if lines else t(lang, "none")


async def _state(update: Update, context: BotContext) -> None:
    svc, chat = context.svc, context.chat
    subscribed = await svc.storage.subscriptions(chat.id)
    mapped = set(await svc.storage.chat_topics(chat.id))
    if chat.topics:
        text = t(chat.language, "topics_state_on", topics=_topic_lines(context, subscribed, mapped))
    else:
        text = t(chat.language, "topics_state_off")
    await reply(update, text)


async def topics(update: Update, context: BotContext) -> None:
    """/topics [on|off]: one forum topic per category, or General; without a word, the state."""
    chat = context.chat
    lang = chat.language
    tg_chat = update.effective_chat
    if chat.type == ChatType.PRIVATE or tg_chat is None:
        await reply(update, t(lang, "topics_private"))
        return
    if not tg_chat.is_forum:
        await reply(update, t(lang, "topics_not_forum"))
        return
    words = [folded(a) for a in context.arguments]
    if not words:
        await _state(update, context)
        return
    if len(words) != 1 or words[0] not in ON_WORDS | OFF_WORDS:
        await reply(update, t(lang, "topics_usage"))
        return
    if not await may_change(update, context):
        await reply(update, t(lang, "admins_only"))
        return
    svc = context.svc
    if words[0] in OFF_WORDS:
        await svc.storage.set_topics(chat.id, False, svc.clock.now())
        await reply(update, t(lang, "topics_off"))
        return
    if not await _may_manage_topics(context):
        await reply(update, t(lang, "topics_no_rights"))
        return
    subscribed = await svc.storage.subscriptions(chat.id)
    try:
        await _create(context, subscribed)
    except NoRights:
        await reply(update, t(lang, "topics_no_rights"))
        return
    await svc.storage.set_topics(chat.id, True, svc.clock.now())
    mapped = set(await svc.storage.chat_topics(chat.id))
    await reply(update, t(lang, "topics_on", topics=_topic_lines(context, subscribed, mapped)))
