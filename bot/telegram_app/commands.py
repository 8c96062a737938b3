"""Everyday commands: /start, /help, /categories, (un)subscribing, /settings, /stop, /latest.

Anyone may read (/help, /settings, /latest, the picker); changing a chat's
choices goes through `gates.changes_settings`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from telegram import Update

from bot.delivery.render import item_view, render_latest
from bot.delivery.times import DeliveryPrefs, format_hhmm
from bot.i18n import LANGUAGES, N_, t
from bot.telegram_app.category_names import resolve
from bot.telegram_app.context import BotContext
from bot.telegram_app.gates import changes_settings
from bot.telegram_app.keyboards import more_button, picker
from bot.telegram_app.replies import (
    all_category_names,
    category_names,
    folded,
    reply,
    reply_unknown,
)
from bot.telegram_app.topics import topics_for

LATEST_PAGE = 10
STATE = {True: N_("state_paused"), False: N_("state_active")}
ON_OFF = {True: N_("on"), False: N_("off")}
NONE_WORDS = frozenset({"none", "hicbiri", "hic", "yok", "nothing"})
LANGUAGE_WORDS = {
    "tr": "tr",
    "turkce": "tr",
    "turkish": "tr",
    "en": "en",
    "english": "en",
    "ingilizce": "en",
    "eng": "en",
}
MAX_OFFSET = 1000  # "more" pages stop here; older stories are not worth paging to


async def show_picker(update: Update, context: BotContext) -> None:
    """The category toggles of this chat."""
    svc, chat = context.svc, context.chat
    subscribed = await svc.storage.subscriptions(chat.id)
    await reply(
        update,
        t(chat.language, "picker_title"),
        reply_markup=picker(svc.rules(), subscribed, chat.language),
    )


@changes_settings
async def start(update: Update, context: BotContext) -> None:
    """/start [category]: welcome, unpause, show the picker.

    A chat's first /start subscribes it to every category, or only to the one a
    deep link (`t.me/<bot>?start=regulation`) names, whatever it said before
    (/help, "hello"). A chat that started already, by /start or by choosing
    categories, keeps its choices, even none (clients send /start again on
    "Restart"); a deep link adds its category.
    """
    svc, chat = context.svc, context.chat
    rules = svc.rules()
    lang = chat.language
    linked = resolve(context.arguments, rules.categories).ids if context.arguments else ()
    first = await svc.storage.start_chat(
        chat.id, linked or tuple(c.id for c in rules.categories), svc.clock.now()
    )
    if first is not None:
        await topics_for(context, first)
        if linked:
            text = t(lang, "welcome_one", categories=category_names(rules, first, lang))
        else:
            text = t(lang, "welcome")
    elif linked:
        now = await svc.storage.change_subscriptions(chat.id, add=linked)
        await topics_for(context, linked)
        text = t(
            lang,
            "welcome_added",
            added=category_names(rules, linked, lang),
            categories=category_names(rules, now, lang),
        )
    else:
        now = await svc.storage.subscriptions(chat.id)
        text = t(lang, "welcome_back", categories=category_names(rules, now, lang))
    if chat.paused:
        await svc.storage.update_chat(chat.id, svc.clock.now(), paused=False)
    await reply(update, text)
    await show_picker(update, context)


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the bot does and every command."""
    lang = context.chat.language
    rules = context.svc.rules()
    bot = html.escape(context.bot.username or "evbot")
    await reply(update, t(lang, "help", categories=all_category_names(rules, lang), bot=bot))


def deep_link(bot_username: str, category_id: str) -> str:
    """`https://t.me/<bot>?start=<id>`: opening it sends `/start <id>`."""
    return f"https://t.me/{bot_username}?start={category_id}"


async def categories(update: Update, context: BotContext) -> None:
    """/categories: the toggle keyboard, then a link per category to share."""
    await show_picker(update, context)
    username = context.bot.username
    if not username:
        return
    lang = context.chat.language
    links = "\n".join(
        f'• <a href="{html.escape(deep_link(username, c.id))}">{html.escape(c.name(lang))}</a>'
        f" — <code>{html.escape(deep_link(username, c.id))}</code>"
        for c in context.svc.rules().categories
    )
    await reply(update, t(lang, "category_links", links=links), disable_web_page_preview=True)


async def _change(update: Update, context: BotContext, *, on: bool) -> None:
    svc, chat = context.svc, context.chat
    rules = svc.rules()
    usage = N_("subscribe_usage") if on else N_("unsubscribe_usage")
    args = context.arguments
    if not args:
        await reply(
            update, t(chat.language, usage, categories=all_category_names(rules, chat.language))
        )
        return
    if not on and {folded(a) for a in args} <= NONE_WORDS:
        # "/unsubscribe none": the picker's own "None" button, typed.
        args = ["all"]
    found = resolve(args, rules.categories)
    if found.unknown:
        await reply_unknown(update, chat.language, rules, found.unknown)
        if not found.ids:
            return
    # A choice made before any /start counts: that /start then keeps it.
    chosen_at = svc.clock.now()
    if on:
        now = await svc.storage.change_subscriptions(chat.id, add=found.ids, chosen_at=chosen_at)
        await topics_for(context, found.ids)
    else:
        now = await svc.storage.change_subscriptions(chat.id, remove=found.ids, chosen_at=chosen_at)
    if now:
        names = category_names(rules, now, chat.language)
        await reply(update, t(chat.language, "subscriptions_now", categories=names))
    else:
        await reply(update, t(chat.language, "subscriptions_none"))


@changes_settings
async def subscribe(update: Update, context: BotContext) -> None:
    """/subscribe <id or name> [...] | all."""
    await _change(update, context, on=True)


@changes_settings
async def unsubscribe(update: Update, context: BotContext) -> None:
    """/unsubscribe <id or name> [...] | all."""
    await _change(update, context, on=False)


def _mode_text(prefs: DeliveryPrefs, lang: str) -> str:
    if prefs.digest_mode == "hourly":
        return t(lang, "mode_hourly")
    if prefs.digest_mode == "daily" and prefs.digest_time is not None:
        return t(lang, "mode_daily", time=format_hhmm(prefs.digest_time))
    return t(lang, "mode_instant")


def _quiet_text(prefs: DeliveryPrefs, lang: str) -> str:
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return t(lang, "off")
    return f"{format_hhmm(prefs.quiet_start)}–{format_hhmm(prefs.quiet_end)}"


async def settings(update: Update, context: BotContext) -> None:
    """/settings: language, categories, keywords, delivery mode, quiet hours, pause, previews."""
    svc, chat = context.svc, context.chat
    subscribed = await svc.storage.subscriptions(chat.id)
    terms = await svc.storage.keywords(chat.id)
    prefs = svc.prefs(chat)
    lang = chat.language
    await reply(
        update,
        t(
            lang,
            "settings",
            language=t(lang, "language_name"),
            state=t(lang, STATE[chat.paused]),
            categories=category_names(svc.rules(), subscribed, lang),
            keywords=html.escape(", ".join(terms)) if terms else t(lang, "none"),
            mode=_mode_text(prefs, lang),
            quiet=_quiet_text(prefs, lang),
            timezone=html.escape(prefs.timezone.key),
            preview=t(lang, ON_OFF[chat.link_preview]),
        ),
    )


@changes_settings
async def stop(update: Update, context: BotContext) -> None:
    """/stop: pause all alerts, keeping the choices."""
    svc, chat = context.svc, context.chat
    await svc.storage.update_chat(chat.id, svc.clock.now(), paused=True)
    await reply(update, t(chat.language, "paused"))


@changes_settings
async def resume(update: Update, context: BotContext) -> None:
    """/resume: alerts again."""
    svc, chat = context.svc, context.chat
    await svc.storage.update_chat(chat.id, svc.clock.now(), paused=False)
    await reply(update, t(chat.language, "resumed"))


@changes_settings
async def lang(update: Update, context: BotContext) -> None:
    """/lang tr | /lang en."""
    args = [folded(a) for a in context.arguments]
    word = args[0] if len(args) == 1 else ""
    chosen = LANGUAGE_WORDS.get(word) or (word if word in LANGUAGES else None)
    if chosen is None:
        await reply(update, t(context.chat.language, "lang_usage"))
        return
    svc = context.svc
    await svc.storage.update_chat(context.chat.id, svc.clock.now(), language=chosen)
    await reply(update, t(chosen, "lang_set"))


MAX_COUNT = 30  # /latest N: more than this is what "more" is for


async def latest_page(
    context: BotContext, categories: Sequence[str], offset: int, size: int
) -> tuple[str, bool] | None:
    """The HTML of one /latest page and whether there is a next one; None if empty.

    Without categories only categorised stories are listed: the rest alerted nobody.
    """
    svc, chat = context.svc, context.chat
    rules = svc.rules()
    items = await svc.storage.latest_items(
        categories=categories, categorised=True, limit=size + 1, offset=offset
    )
    if not items:
        return None
    lang = chat.language
    label = f" · {category_names(rules, categories, lang)}" if categories else ""
    heading = t(lang, "latest_title", category=label).replace("<b>", "").replace("</b>", "")
    views = [item_view(item, rules, lang) for item in items[:size]]
    message = render_latest(views, heading=heading, lang=lang, tz=svc.prefs(chat).timezone)
    more = len(items) > size and offset + size < MAX_OFFSET
    return message.html, more


def _count_and_words(args: Sequence[str]) -> tuple[int | None, list[str]]:
    """`/latest mevzuat 5` → (5, ["mevzuat"]); the last number given wins."""
    count: int | None = None
    words: list[str] = []
    for arg in args:
        if arg.isdigit() and len(arg) <= 4:
            count = max(1, min(int(arg), MAX_COUNT))
        else:
            words.append(arg)
    return count, words


async def latest(update: Update, context: BotContext) -> None:
    """/latest [category…] [count]: the most recent stories, with a "more" button."""
    chat = context.chat
    lang = chat.language
    rules = context.svc.rules()
    count, words = _count_and_words(context.arguments)
    categories: tuple[str, ...] = ()
    if words:
        found = resolve(words, rules.categories)
        if found.unknown:
            await reply_unknown(update, lang, rules, found.unknown)
            return
        categories = () if found.all else found.ids
    size = count or LATEST_PAGE
    page = await latest_page(context, categories, 0, size)
    if page is None:
        if categories:
            names = category_names(rules, categories, lang)
            await reply(update, t(lang, "latest_empty_in", categories=names))
        else:
            await reply(update, t(lang, "latest_empty"))
        return
    text, more = page
    markup = more_button(lang, size, categories) if more else None
    await reply(update, text, disable_web_page_preview=True, reply_markup=markup)
