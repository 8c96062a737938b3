"""Inline buttons: the category picker's toggles, an alert's Why?, /latest's "more".

Each family is routed by its own `CallbackQueryHandler(pattern=...)`; data that
matches none of them (old or forged) gets a polite "stale" answer.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import TelegramError

from bot.delivery.render import shorten
from bot.i18n import t
from bot.telegram_app.callbacks import ALL, NONE, parse_more, parse_picker, parse_why
from bot.telegram_app.commands import LATEST_PAGE, latest_page
from bot.telegram_app.context import BotContext
from bot.telegram_app.gates import may_change
from bot.telegram_app.keyboards import more_button, picker

log = logging.getLogger(__name__)


async def _stale(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(t(context.chat.language, "picker_stale"), show_alert=True)


async def on_picker(update: Update, context: BotContext) -> None:
    """A category toggle, or all / none."""
    query = update.callback_query
    assert query is not None
    svc, chat = context.svc, context.chat
    rules = svc.rules()
    choice = parse_picker(query.data or "")
    ids = {c.id for c in rules.categories}
    if choice is None or (choice not in ids and choice not in {ALL, NONE}):
        await _stale(update, context)
        return
    if not await may_change(update, context):
        await query.answer(t(chat.language, "admins_only"), show_alert=True)
        return
    current = await svc.storage.subscriptions(chat.id)
    if choice == ALL:
        new = set(ids)
    elif choice == NONE:
        new = set()
    else:
        new = current ^ {choice}
    await svc.storage.set_subscriptions(chat.id, new)
    await query.answer(t(chat.language, "picker_updated"))
    if new != current:
        try:
            await query.edit_message_reply_markup(reply_markup=picker(rules, new, chat.language))
        except TelegramError as error:
            log.info("could not edit the picker in chat %s: %s", chat.id, error)


async def on_why(update: Update, context: BotContext) -> None:
    """Why did this story reach this chat: the categories and their terms, or the keyword."""
    query = update.callback_query
    assert query is not None
    svc, chat = context.svc, context.chat
    rules = svc.rules()
    lang = chat.language
    item_id = parse_why(query.data or "")
    if item_id is None:
        await _stale(update, context)
        return
    item = await svc.storage.item(item_id)
    reason = await svc.storage.delivery_reason(chat.id, item_id)
    if item is None or reason is None:
        await query.answer(t(lang, "why_missing"), show_alert=True)
        return
    known = {c.id for c in rules.categories}
    cats = [c for c in reason.categories if c in item.matches and c in known]
    parts: list[str] = []
    if cats:
        explanation = "; ".join(
            f"{rules.category(c).name(lang)}: " + ", ".join(f"'{term}'" for term in item.matches[c])
            for c in cats
        )
        parts.append(
            t(
                lang,
                "why_categories",
                categories=", ".join(rules.category(c).name(lang) for c in cats),
                explanation=explanation,
            )
        )
    if reason.keyword:
        parts.append(t(lang, "why_keyword", keyword=reason.keyword))
    text = "\n".join(parts) or t(lang, "why_missing")
    # Telegram caps callback answers at 200 characters.
    await query.answer(shorten(text, 200) if len(text) > 200 else text, show_alert=True)


async def on_more(update: Update, context: BotContext) -> None:
    """The next page of /latest, as a new message; the pressed button goes away."""
    query = update.callback_query
    assert query is not None
    chat = context.chat
    parsed = parse_more(query.data or "")
    rules = context.svc.rules()
    if parsed is None or (
        parsed[1] is not None and parsed[1] not in {c.id for c in rules.categories}
    ):
        await _stale(update, context)
        return
    offset, category = parsed
    page = await latest_page(context, category, offset)
    if page is None:
        await query.answer(t(chat.language, "latest_end"))
        return
    await query.answer()
    # The pressed button has done its job; the new page carries the next one.
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(reply_markup=None)
    text, more = page
    markup = more_button(chat.language, offset + LATEST_PAGE, category) if more else None
    await context.bot.send_message(
        chat.id, text, disable_web_page_preview=True, reply_markup=markup
    )


async def on_unknown_button(update: Update, context: BotContext) -> None:
    """Button data of no known family: an old keyboard or a forged press."""
    await _stale(update, context)
