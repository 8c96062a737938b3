"""Telegram command and button handlers: parse, call storage, reply.

Handlers are thin; every text comes from `bot.i18n`, every keyboard from
`bot.telegram_app.keyboards`. Dependencies arrive through one typed object,
`Services`, kept in the application's bot_data.
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.category_names import resolve
from bot.clock import Clock
from bot.i18n import language_for, t
from bot.storage import ChatRow, Storage
from bot.telegram_app.keyboards import ALL, NONE, PREFIX, picker
from rules import RuleSet

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
SERVICES_KEY = "evbot.services"
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


@dataclass
class Services:
    """What handlers need, wired by the composition root."""

    storage: Storage
    rules: Callable[[], RuleSet]
    clock: Clock
    admin_ids: frozenset[int]


def services(context: Context) -> Services:
    """The application's services."""
    value = context.application.bot_data[SERVICES_KEY]
    assert isinstance(value, Services)
    return value


async def _chat(update: Update, context: Context) -> ChatRow:
    """The chat of this update, created on first contact in the user's language."""
    tg_chat = update.effective_chat
    assert tg_chat is not None
    user = update.effective_user
    svc = services(context)
    row, _ = await svc.storage.ensure_chat(
        tg_chat.id,
        type=tg_chat.type,
        title=tg_chat.title,
        language=language_for(user.language_code if user else None),
        now=svc.clock.now(),
    )
    return row


async def _may_change(update: Update, context: Context, chat: ChatRow) -> bool:
    """In groups only administrators change settings; private chats always may."""
    if chat.type == ChatType.PRIVATE:
        return True
    user = update.effective_user
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as error:
        log.warning("getChatMember failed for chat %s: %s", chat.id, error)
        return False
    return member.status in {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def _reply(update: Update, text: str, **kwargs: Any) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, parse_mode=ParseMode.HTML, **kwargs)


def _names(rules: RuleSet, ids: set[str] | tuple[str, ...] | list[str], lang: str) -> str:
    ordered = [c for c in rules.categories if c.id in set(ids)]
    if not ordered:
        return t(lang, "none")
    return ", ".join(html.escape(c.name(lang)) for c in ordered)


def _all_names(rules: RuleSet, lang: str) -> str:
    return ", ".join(f"<code>{c.id}</code> ({html.escape(c.name(lang))})" for c in rules.categories)


def changes_settings(
    handler: Callable[[Update, Context, ChatRow], Coroutine[Any, Any, None]],
) -> Handler:
    """Wrap a handler that changes chat settings: load the chat, refuse group non-admins."""

    async def wrapped(update: Update, context: Context) -> None:
        chat = await _chat(update, context)
        if not await _may_change(update, context, chat):
            await _reply(update, t(chat.language, "admins_only"))
            return
        await handler(update, context, chat)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


async def _show_picker(update: Update, context: Context, chat: ChatRow) -> None:
    svc = services(context)
    subscribed = await svc.storage.subscriptions(chat.id)
    await _reply(
        update,
        t(chat.language, "picker_title"),
        reply_markup=picker(svc.rules(), subscribed, chat.language),
    )


@changes_settings
async def start(update: Update, context: Context, chat: ChatRow) -> None:
    """/start: welcome, subscribe to every category, show the picker."""
    svc = services(context)
    await svc.storage.set_subscriptions(chat.id, (c.id for c in svc.rules().categories))
    if chat.paused:
        await svc.storage.update_chat(chat.id, svc.clock.now(), paused=False)
    await _reply(update, t(chat.language, "welcome"))
    await _show_picker(update, context, chat)


async def help_command(update: Update, context: Context) -> None:
    """/help: what the bot does and every command."""
    chat = await _chat(update, context)
    rules = services(context).rules()
    await _reply(update, t(chat.language, "help", categories=_all_names(rules, chat.language)))


async def categories(update: Update, context: Context) -> None:
    """/categories: the toggle keyboard."""
    chat = await _chat(update, context)
    await _show_picker(update, context, chat)


async def _change(update: Update, context: Context, chat: ChatRow, *, on: bool) -> None:
    svc = services(context)
    rules = svc.rules()
    usage = "subscribe_usage" if on else "unsubscribe_usage"
    args = context.args or []
    if not args:
        await _reply(update, t(chat.language, usage, categories=_all_names(rules, chat.language)))
        return
    found = resolve(args, rules.categories)
    if found.unknown:
        await _reply(
            update,
            t(
                chat.language,
                "unknown_categories",
                unknown=html.escape(" ".join(found.unknown)),
                categories=_all_names(rules, chat.language),
            ),
        )
        if not found.ids:
            return
    if on:
        now = await svc.storage.change_subscriptions(chat.id, add=found.ids)
    else:
        now = await svc.storage.change_subscriptions(chat.id, remove=found.ids)
    if now:
        await _reply(
            update,
            t(chat.language, "subscriptions_now", categories=_names(rules, now, chat.language)),
        )
    else:
        await _reply(update, t(chat.language, "subscriptions_none"))


@changes_settings
async def subscribe(update: Update, context: Context, chat: ChatRow) -> None:
    """/subscribe <id or name> [...] | all."""
    await _change(update, context, chat, on=True)


@changes_settings
async def unsubscribe(update: Update, context: Context, chat: ChatRow) -> None:
    """/unsubscribe <id or name> [...] | all."""
    await _change(update, context, chat, on=False)


async def settings(update: Update, context: Context) -> None:
    """/settings: what this chat receives and how."""
    chat = await _chat(update, context)
    svc = services(context)
    subscribed = await svc.storage.subscriptions(chat.id)
    await _reply(
        update,
        t(
            chat.language,
            "settings",
            language="Türkçe" if chat.language == "tr" else "English",
            state=t(chat.language, "state_paused" if chat.paused else "state_active"),
            categories=_names(svc.rules(), subscribed, chat.language),
        ),
    )


@changes_settings
async def stop(update: Update, context: Context, chat: ChatRow) -> None:
    """/stop: pause all alerts, keeping the choices."""
    svc = services(context)
    await svc.storage.update_chat(chat.id, svc.clock.now(), paused=True)
    await _reply(update, t(chat.language, "paused"))


@changes_settings
async def resume(update: Update, context: Context, chat: ChatRow) -> None:
    """/resume: alerts again."""
    svc = services(context)
    await svc.storage.update_chat(chat.id, svc.clock.now(), paused=False)
    await _reply(update, t(chat.language, "resumed"))


@changes_settings
async def lang(update: Update, context: Context, chat: ChatRow) -> None:
    """/lang tr | /lang en."""
    args = [a.lower() for a in context.args or []]
    if len(args) != 1 or args[0] not in {"tr", "en"}:
        await _reply(update, t(chat.language, "lang_usage"))
        return
    svc = services(context)
    await svc.storage.update_chat(chat.id, svc.clock.now(), language=args[0])
    await _reply(update, t(args[0], "lang_set"))


async def latest(update: Update, context: Context) -> None:
    """/latest [category]: the most recent stories."""
    chat = await _chat(update, context)
    svc = services(context)
    rules = svc.rules()
    category: str | None = None
    if context.args:
        found = resolve(context.args, rules.categories)
        if found.unknown or len(found.ids) != 1:
            await _reply(
                update,
                t(
                    chat.language,
                    "unknown_categories",
                    unknown=html.escape(" ".join(context.args)),
                    categories=_all_names(rules, chat.language),
                ),
            )
            return
        category = found.ids[0]
    items = await svc.storage.latest_items(category=category, limit=10)
    if not items:
        await _reply(update, t(chat.language, "latest_empty"))
        return
    heading = t(
        chat.language,
        "latest_title",
        category=f" · {html.escape(rules.category(category).name(chat.language))}"
        if category
        else "",
    )
    lines = [heading]
    for item in items:
        title = html.escape(item.title[:200])
        source = html.escape(", ".join(item.sources[:3]))
        if item.link and item.link.startswith(("http://", "https://")):
            lines.append(f'• <a href="{html.escape(item.link)}">{title}</a> — {source}')
        else:
            lines.append(f"• {title} — {source}")
    await _reply(update, "\n".join(lines), disable_web_page_preview=True)


async def on_button(update: Update, context: Context) -> None:
    """Picker toggles and the alert's Why? button."""
    query = update.callback_query
    assert query is not None
    data = query.data or ""
    chat = await _chat(update, context)
    svc = services(context)
    rules = svc.rules()
    if data.startswith("why:"):
        await _answer_why(update, context, chat, data)
        return
    if not data.startswith(PREFIX):
        await query.answer(t(chat.language, "picker_stale"), show_alert=True)
        return
    if not await _may_change(update, context, chat):
        await query.answer(t(chat.language, "admins_only"), show_alert=True)
        return
    choice = data[len(PREFIX) :]
    ids = {c.id for c in rules.categories}
    current = await svc.storage.subscriptions(chat.id)
    if choice == ALL:
        new = set(ids)
    elif choice == NONE:
        new = set()
    elif choice in ids:
        new = current ^ {choice}
    else:
        await query.answer(t(chat.language, "picker_stale"), show_alert=True)
        return
    await svc.storage.set_subscriptions(chat.id, new)
    await query.answer(t(chat.language, "picker_updated"))
    if new != current:
        try:
            await query.edit_message_reply_markup(reply_markup=picker(rules, new, chat.language))
        except TelegramError as error:
            log.info("could not edit the picker in chat %s: %s", chat.id, error)


async def _answer_why(update: Update, context: Context, chat: ChatRow, data: str) -> None:
    query = update.callback_query
    assert query is not None
    svc = services(context)
    rules = svc.rules()
    try:
        item_id = int(data.removeprefix("why:"))
    except ValueError:
        await query.answer(t(chat.language, "picker_stale"), show_alert=True)
        return
    item = await svc.storage.item(item_id)
    reason = await svc.storage.delivery_reason(chat.id, item_id)
    if item is None or reason is None:
        await query.answer(t(chat.language, "why_missing"), show_alert=True)
        return
    cats = [c for c in reason.get("categories", []) if c in item.matches]
    explanation = "; ".join(
        f"{rules.category(c).name(chat.language)}: "
        + ", ".join(f"'{term}'" for term in item.matches[c])
        for c in cats
    )
    text = t(
        chat.language,
        "why_categories",
        categories=", ".join(rules.category(c).name(chat.language) for c in cats) or "-",
        explanation=explanation or "-",
    )
    # Telegram caps callback answers at 200 characters.
    await query.answer(text[:200], show_alert=True)


async def on_error(update: object, context: Context) -> None:
    """Log every handler error and tell the user something went wrong."""
    log.error("handler failed for update %s", update, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        lang = language_for(update.effective_user.language_code if update.effective_user else None)
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(t(lang, "error"))


COMMANDS: list[tuple[str, Handler, str, str]] = [
    ("start", start, "Start: subscribe to all categories", "Başla: tüm kategorilere abone ol"),
    ("categories", categories, "Choose categories", "Kategorileri seç"),
    ("subscribe", subscribe, "Turn categories on", "Kategorileri aç"),
    ("unsubscribe", unsubscribe, "Turn categories off", "Kategorileri kapat"),
    ("settings", settings, "What this chat receives", "Bu sohbetin aldıkları"),
    ("latest", latest, "Most recent stories", "En son haberler"),
    ("stop", stop, "Pause all alerts", "Uyarıları duraklat"),
    ("resume", resume, "Resume alerts", "Uyarıları sürdür"),
    ("lang", lang, "Interface language: tr or en", "Arayüz dili: tr veya en"),
    ("help", help_command, "What the bot does", "Bot ne yapar"),
]


def install(application: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
    """Register every handler and the services on an application."""
    application.bot_data[SERVICES_KEY] = svc
    for name, callback, _, _ in COMMANDS:
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)
