"""Inline buttons: the category picker's toggles, an alert's Why?, /latest's "more".

Each family is routed by its own `CallbackQueryHandler(pattern=...)`; data that
matches none of them (old or forged) gets a polite "stale" answer.
"""

from __future__ import annotations

import contextlib
import html
import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.i18n import t
from bot.telegram_app.callbacks import ALL, NONE, parse_more, parse_picker, parse_why
from bot.telegram_app.commands import LATEST_PAGE, latest_page
from bot.telegram_app.context import BotContext
from bot.telegram_app.gates import may_change
from bot.telegram_app.keyboards import more_button, picker, shown_on
from bot.telegram_app.replies import reply
from bot.telegram_app.topics import topics_for
from bot.telegram_app.why import ANSWER_LIMIT, matched_text

log = logging.getLogger(__name__)


async def _stale(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(t(context.chat.language, "picker_stale"), show_alert=True)


async def on_picker(update: Update, context: BotContext) -> None:
    """A category toggle, or all / none: it does what the pressed button showed.

    A stale "✅ X" (the chat dropped X by command since) turns X off, not on;
    afterwards the keyboard is redrawn from what is stored.
    """
    query = update.callback_query
    assert query is not None
    svc, chat = context.svc, context.chat
    rules = svc.rules()
    data = query.data or ""
    parsed = parse_picker(data)
    ids = {c.id for c in rules.categories}
    if parsed is None or (parsed[0] not in ids and parsed[0] not in {ALL, NONE}):
        await _stale(update, context)
        return
    if not await may_change(update, context):
        await query.answer(t(chat.language, "admins_only"), show_alert=True)
        return
    choice, data_on = parsed
    before = await svc.storage.subscriptions(chat.id)
    new = await apply_choice(update, context, chat.id, choice, data_on)
    await topics_for(context, ids if choice == ALL else sorted(new - before))
    await query.answer(t(chat.language, "picker_updated"))
    await redraw_picker(update, picker(rules, new, chat.language))


async def apply_choice(
    update: Update, context: BotContext, chat_id: int, choice: str, data_on: bool
) -> set[str]:
    """Store a picker press for `chat_id` (this chat, or a channel); returns its categories.

    A toggle does what the pressed button showed (its mark, else its data).
    """
    query = update.callback_query
    assert query is not None
    storage = context.svc.storage
    # A press is the chat's own choice: a later first /start keeps it.
    chosen_at = context.svc.clock.now()
    if choice == ALL:
        return await storage.set_subscriptions(
            chat_id, {c.id for c in context.svc.rules().categories}, chosen_at=chosen_at
        )
    if choice == NONE:
        return await storage.set_subscriptions(chat_id, (), chosen_at=chosen_at)
    pressed = query.message if isinstance(query.message, Message) else None
    showed = shown_on(pressed.reply_markup if pressed else None, query.data or "")
    if data_on if showed is None else showed:
        return await storage.change_subscriptions(chat_id, remove=[choice], chosen_at=chosen_at)
    return await storage.change_subscriptions(chat_id, add=[choice], chosen_at=chosen_at)


async def redraw_picker(update: Update, markup: InlineKeyboardMarkup) -> None:
    """Show the stored state on the pressed picker (already showing it is fine)."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():  # already showing the truth
            log.info("could not edit a picker: %s", error)
    except TelegramError as error:
        log.info("could not edit a picker: %s", error)


async def why_text(context: BotContext, item_id: int) -> str | None:
    """What put this story in this chat: the keyword, the categories and their matched words."""
    svc, chat = context.svc, context.chat
    rules = svc.rules()
    lang = chat.language
    item = await svc.storage.item(item_id)
    reason = await svc.storage.delivery_reason(chat.id, item_id)
    if item is None or reason is None:
        return None
    known = {c.id for c in rules.categories}
    cats = [c for c in reason.categories if c in item.matches and c in known]
    parts: list[str] = []
    if reason.keyword:
        # The keyword first: it is this chat's own choice, and must survive any cut.
        parts.append(t(lang, "why_keyword", keyword=html.escape(reason.keyword)))
    if cats:
        explanation = "; ".join(
            f"{html.escape(rules.category(c).name(lang))}: "
            + ", ".join(
                f"“{html.escape(word)}”"
                for word in matched_text(item.matches[c], item.title, item.summary)
            )
            for c in cats
        )
        parts.append(
            t(
                lang,
                "why_categories",
                count=len(cats),
                categories=", ".join(html.escape(rules.category(c).name(lang)) for c in cats),
                explanation=explanation,
            )
        )
    return "\n".join(parts) or None


async def on_why(update: Update, context: BotContext) -> None:
    """Why did this story reach this chat; too long for an answer → a message in the chat.

    In a channel the answer is always the reader's own popup (cut to fit).
    """
    query = update.callback_query
    assert query is not None
    lang = context.chat.language
    item_id = parse_why(query.data or "")
    if item_id is None:
        await _stale(update, context)
        return
    text = await why_text(context, item_id)
    if text is None:
        await query.answer(t(lang, "why_missing"), show_alert=True)
        return
    plain = html.unescape(text)  # callback answers are plain text
    if len(plain) <= ANSWER_LIMIT:
        await query.answer(plain, show_alert=True)
        return
    if context.chat.type == ChatType.CHANNEL:
        # A channel has no reader's chat to answer in, and a message there would
        # be posted to every subscriber: the popup is all there is. The keyword
        # comes first in the text, so a cut loses the tail of the categories.
        await query.answer(plain[: ANSWER_LIMIT - 1].rstrip() + "…", show_alert=True)
        return
    await query.answer(t(lang, "why_long"))
    await reply(update, text, disable_web_page_preview=True)


async def on_more(update: Update, context: BotContext) -> None:
    """The next page of /latest, as a new message; the pressed button goes away."""
    query = update.callback_query
    assert query is not None
    chat = context.chat
    parsed = parse_more(query.data or "")
    rules = context.svc.rules()
    known = {c.id for c in rules.categories}
    if parsed is None or not set(parsed[1]) <= known:
        await _stale(update, context)
        return
    offset, categories = parsed
    page = await latest_page(context, categories, offset, LATEST_PAGE)
    if page is None:
        await query.answer(t(chat.language, "latest_end"))
        return
    await query.answer()
    # The pressed button has done its job; the new page carries the next one.
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(reply_markup=None)
    text, more = page
    markup = more_button(chat.language, offset + LATEST_PAGE, categories) if more else None
    await reply(update, text, disable_web_page_preview=True, reply_markup=markup)


async def on_unknown_button(update: Update, context: BotContext) -> None:
    """Button data of no known family: an old keyboard or a forged press."""
    await _stale(update, context)
