"""Telegram command and button handlers: parse, call storage, reply.

Handlers are thin; every text comes from `bot.i18n`, every keyboard from
`bot.telegram_app.keyboards`, every list of stories from `bot.delivery.render`.
Dependencies arrive through one typed object, `Services`, kept in the
application's bot_data.

Who may do what:
- anyone may read (/help, /settings, /latest, /keywords without arguments,
  the Why? button, "more");
- in groups only the group's administrators (checked with getChatMember, or
  the group itself posting as an anonymous admin) change settings; private
  chats always may;
- admin commands (/stats, /feeds, /reload, /broadcast) answer only the user
  ids of EVBOT_ADMIN_IDS and are silently ignored for everyone else.
"""

from __future__ import annotations

import contextlib
import html
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.clock import Clock
from bot.delivery.render import (
    TELEGRAM_TEXT_LIMIT,
    echo_words,
    item_view,
    render_latest,
    shorten,
    visible_length,
)
from bot.delivery.times import (
    DEFAULT_TIMEZONE,
    DeliveryPrefs,
    chat_prefs,
    format_hhmm,
    parse_hhmm,
    parse_quiet_range,
    release_time,
    valid_timezone,
)
from bot.i18n import language_for, t
from bot.models import ChatRow
from bot.storage import MAX_KEYWORDS, Storage
from bot.telegram_app.category_names import resolve
from bot.telegram_app.keyboards import (
    ALL,
    MORE_PREFIX,
    NONE,
    PREFIX,
    more_button,
    parse_more,
    picker,
)
from bot.telegram_app.throttle import CommandThrottle, Verdict
from rules import KeywordMatcher, RuleSet, match_key

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
SERVICES_KEY = "evbot.services"
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]
# What /reload reports: (what was reloaded, its error or None).
ReloadOutcome = tuple[str, str | None]

LATEST_PAGE = 10
MAX_KEYWORD_LENGTH = 100
_MAX_OFFSET = 1000  # "more" pages stop here; older stories are not worth paging to


def _nothing() -> None:
    return None


async def _no_reload() -> list[ReloadOutcome]:
    return []


@dataclass
class Services:
    """What handlers need, wired by the composition root."""

    storage: Storage
    rules: Callable[[], RuleSet]
    clock: Clock
    admin_ids: frozenset[int]
    # Reload the rules and the feed catalog now (admin /reload).
    reload: Callable[[], Awaitable[list[ReloadOutcome]]] = field(default=_no_reload)
    # Tell the delivery worker rows became due now (/quiet off, /digest off, /broadcast).
    wake_delivery: Callable[[], None] = field(default=_nothing)
    # The time zone of chats that chose none (EVBOT_TIMEZONE).
    default_timezone: str = DEFAULT_TIMEZONE

    def prefs(self, chat: ChatRow) -> DeliveryPrefs:
        """A chat's delivery preferences, parsed."""
        return chat_prefs(chat, self.default_timezone)
    # Per-chat flood control of commands, texts and button presses.
    throttle: CommandThrottle = field(default_factory=CommandThrottle)


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


async def _fresh(context: Context, chat: ChatRow) -> ChatRow:
    """The chat re-read after a change."""
    row = await services(context).storage.chat(chat.id)
    return row or chat


async def _may_change(update: Update, context: Context, chat: ChatRow) -> bool:
    """In groups only administrators change settings; private chats always may."""
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


async def _reply_long(update: Update, lines: Sequence[str]) -> None:
    """Reply with HTML lines, in as many messages as Telegram's limit needs.

    Each line is complete HTML; visible lengths are estimated on the raw HTML,
    which is never shorter than what Telegram shows.
    """
    chunk: list[str] = []
    used = 0
    for line in lines:
        size = visible_length(line) + 1
        if chunk and used + size > TELEGRAM_TEXT_LIMIT:
            await _reply(update, "\n".join(chunk), disable_web_page_preview=True)
            chunk, used = [], 0
        chunk.append(line)
        used += size
    if chunk:
        await _reply(update, "\n".join(chunk), disable_web_page_preview=True)


def _names(rules: RuleSet, ids: set[str] | tuple[str, ...] | list[str], lang: str) -> str:
    ordered = [c for c in rules.categories if c.id in set(ids)]
    if not ordered:
        return t(lang, "none")
    return ", ".join(html.escape(c.name(lang)) for c in ordered)


def _all_names(rules: RuleSet, lang: str) -> str:
    return ", ".join(f"<code>{c.id}</code> ({html.escape(c.name(lang))})" for c in rules.categories)


async def _reply_unknown(
    update: Update, chat: ChatRow, rules: RuleSet, words: Sequence[str]
) -> None:
    """Say which words named no category, and list the valid ones."""
    await _reply(
        update,
        t(
            chat.language,
            "unknown_categories",
            unknown=html.escape(echo_words(words)),
            categories=_all_names(rules, chat.language),
        ),
    )


def _args(context: Context) -> list[str]:
    return list(context.args or [])


def _word(text: str) -> str:
    """A command word folded for comparison (case and Turkish letters)."""
    return match_key(text).strip()


_OFF = {"off", "kapat", "kapali", "no", "0", "false", "hayir"}
_ON = {"on", "ac", "acik", "yes", "1", "true", "evet"}
_HOURLY = {"hourly", "saatlik"}
_DAILY = {"daily", "gunluk"}


def changes_settings(
    handler: Callable[[Update, Context, ChatRow], Coroutine[Any, Any, None]],
) -> Handler:
    """Wrap a handler that changes the chat's settings: find the chat, refuse group non-admins."""

    async def wrapped(update: Update, context: Context) -> None:
        chat = await _chat(update, context)
        if not await _may_change(update, context, chat):
            await _reply(update, t(chat.language, "admins_only"))
            return
        await handler(update, context, chat)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def admin_only(handler: Callable[[Update, Context, ChatRow], Coroutine[Any, Any, None]]) -> Handler:
    """Wrap an operator command: silently ignored unless the user is in EVBOT_ADMIN_IDS."""

    async def wrapped(update: Update, context: Context) -> None:
        user = update.effective_user
        if user is None or user.id not in services(context).admin_ids:
            return
        await handler(update, context, await _chat(update, context))

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


# ---- everyday commands ------------------------------------------------------


@changes_settings
async def start(update: Update, context: Context, chat: ChatRow) -> None:
    """/start: welcome, subscribe to every category, show the picker (idempotent)."""
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
    args = _args(context)
    if not args:
        await _reply(update, t(chat.language, usage, categories=_all_names(rules, chat.language)))
        return
    found = resolve(args, rules.categories)
    if found.unknown:
        await _reply_unknown(update, chat, rules, found.unknown)
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


async def settings(update: Update, context: Context) -> None:
    """/settings: language, categories, keywords, delivery mode, quiet hours, pause, previews."""
    chat = await _chat(update, context)
    svc = services(context)
    subscribed = await svc.storage.subscriptions(chat.id)
    terms = await svc.storage.keywords(chat.id)
    prefs = svc.prefs(chat)
    lang = chat.language
    await _reply(
        update,
        t(
            lang,
            "settings",
            language="Türkçe" if lang == "tr" else "English",
            state=t(lang, "state_paused" if chat.paused else "state_active"),
            categories=_names(svc.rules(), subscribed, lang),
            keywords=html.escape(", ".join(terms)) if terms else t(lang, "none"),
            mode=_mode_text(prefs, lang),
            quiet=_quiet_text(prefs, lang),
            timezone=html.escape(prefs.timezone.key),
            preview=t(lang, "on" if chat.link_preview else "off"),
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
    args = [a.lower() for a in _args(context)]
    if len(args) != 1 or args[0] not in {"tr", "en"}:
        await _reply(update, t(chat.language, "lang_usage"))
        return
    svc = services(context)
    await svc.storage.update_chat(chat.id, svc.clock.now(), language=args[0])
    await _reply(update, t(args[0], "lang_set"))


# ---- /latest and its "more" pages ---------------------------------------------


async def _latest_page(
    context: Context, chat: ChatRow, category: str | None, offset: int
) -> tuple[str, bool] | None:
    """The HTML of one /latest page and whether there is a next one; None if empty."""
    svc = services(context)
    rules = svc.rules()
    items = await svc.storage.latest_items(category=category, limit=LATEST_PAGE + 1, offset=offset)
    if not items:
        return None
    lang = chat.language
    label = ""
    if category is not None and category in {c.id for c in rules.categories}:
        label = f" · {rules.category(category).name(lang)}"
    heading = t(lang, "latest_title", category=label).replace("<b>", "").replace("</b>", "")
    views = [item_view(item, rules, lang) for item in items[:LATEST_PAGE]]
    message = render_latest(
        views, heading=heading, lang=lang, tz=svc.prefs(chat).timezone
    )
    more = len(items) > LATEST_PAGE and offset + LATEST_PAGE < _MAX_OFFSET
    return message.html, more


async def latest(update: Update, context: Context) -> None:
    """/latest [category]: the 10 most recent stories, with a "more" button."""
    chat = await _chat(update, context)
    rules = services(context).rules()
    category: str | None = None
    if context.args:
        found = resolve(context.args, rules.categories)
        if found.unknown or len(found.ids) != 1:
            await _reply_unknown(update, chat, rules, context.args)
            return
        category = found.ids[0]
    page = await _latest_page(context, chat, category, 0)
    if page is None:
        await _reply(update, t(chat.language, "latest_empty"))
        return
    text, more = page
    markup = more_button(chat.language, LATEST_PAGE, category) if more else None
    await _reply(update, text, disable_web_page_preview=True, reply_markup=markup)


async def _answer_more(update: Update, context: Context, chat: ChatRow, data: str) -> None:
    query = update.callback_query
    assert query is not None
    parsed = parse_more(data)
    rules = services(context).rules()
    if parsed is None or (
        parsed[1] is not None and parsed[1] not in {c.id for c in rules.categories}
    ):
        await query.answer(t(chat.language, "picker_stale"), show_alert=True)
        return
    offset, category = parsed
    page = await _latest_page(context, chat, category, offset)
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
        chat.id,
        text,
        parse_mode=ParseMode.HTML,
        disable_web_page_preview=True,
        reply_markup=markup,
    )


# ---- personal keywords --------------------------------------------------------


async def keywords(update: Update, context: Context) -> None:
    """/keywords, /keywords add <term>, /keywords remove <term>."""
    chat = await _chat(update, context)
    svc = services(context)
    args = _args(context)
    lang = chat.language
    if not args:
        terms = await svc.storage.keywords(chat.id)
        if not terms:
            await _reply(update, t(lang, "keywords_empty"))
        else:
            shown = ", ".join(f"<code>{html.escape(x)}</code>" for x in terms)
            await _reply(update, t(lang, "keywords_list", keywords=shown))
        return
    action = _word(args[0])
    term = " ".join(args[1:]).strip()
    if action not in {"add", "ekle", "remove", "rm", "delete", "sil", "cikar"} or not term:
        await _reply(update, t(lang, "keywords_usage"))
        return
    if not await _may_change(update, context, chat):
        await _reply(update, t(lang, "admins_only"))
        return
    # Quoted back in the reply: never more than a keyword may be long.
    shown = html.escape(shorten(term, MAX_KEYWORD_LENGTH))
    if action in {"add", "ekle"}:
        try:
            if len(term) > MAX_KEYWORD_LENGTH:
                raise ValueError(f"longer than {MAX_KEYWORD_LENGTH} characters")
            KeywordMatcher.compile([term])
        except ValueError as error:
            await _reply(update, t(lang, "keyword_invalid", error=html.escape(str(error))))
            return
        if len(await svc.storage.keywords(chat.id)) >= MAX_KEYWORDS:
            await _reply(update, t(lang, "keywords_full", limit=MAX_KEYWORDS))
            return
        added = await svc.storage.add_keyword(chat.id, term)
        await _reply(update, t(lang, "keyword_added" if added else "keyword_exists", term=shown))
        return
    removed = await svc.storage.remove_keyword(chat.id, term)
    if removed is None:
        await _reply(update, t(lang, "keyword_missing", term=shown))
    else:
        await _reply(update, t(lang, "keyword_removed", term=html.escape(removed)))


# ---- delivery mode, quiet hours, time zone, previews -----------------------------


async def _apply_prefs(context: Context, chat: ChatRow, **values: Any) -> tuple[ChatRow, int]:
    """Store new preferences and re-time the chat's held alerts to the new release time.

    Returns the updated chat and how many held alerts are now due at once.
    """
    svc = services(context)
    now = svc.clock.now()
    await svc.storage.update_chat(chat.id, now, **values)
    fresh = await _fresh(context, chat)
    at = release_time(svc.prefs(fresh), now)
    moved = await svc.storage.release_held(chat.id, at)
    if moved and at <= now:
        svc.wake_delivery()
    return fresh, moved if at <= now else 0


def _released(lang: str, count: int) -> str:
    return t(lang, "released", count=count) if count else ""


@changes_settings
async def digest(update: Update, context: Context, chat: ChatRow) -> None:
    """/digest off | /digest hourly | /digest daily HH:MM."""
    args = _args(context)
    lang = chat.language
    mode = _word(args[0]) if args else ""
    if mode in _OFF and len(args) == 1:
        _, count = await _apply_prefs(context, chat, digest_mode="off", digest_time=None)
        await _reply(update, t(lang, "digest_set_off", released=_released(lang, count)))
        return
    if mode in _HOURLY and len(args) == 1:
        await _apply_prefs(context, chat, digest_mode="hourly", digest_time=None)
        await _reply(update, t(lang, "digest_set_hourly"))
        return
    at = parse_hhmm(args[1]) if mode in _DAILY and len(args) == 2 else None
    if at is None:
        await _reply(update, t(lang, "digest_usage"))
        return
    fresh, _ = await _apply_prefs(context, chat, digest_mode="daily", digest_time=format_hhmm(at))
    zone = services(context).prefs(fresh).timezone.key
    await _reply(update, t(lang, "digest_set_daily", time=format_hhmm(at), timezone=zone))


@changes_settings
async def quiet(update: Update, context: Context, chat: ChatRow) -> None:
    """/quiet HH:MM-HH:MM | /quiet off."""
    text = " ".join(_args(context))
    lang = chat.language
    if _word(text) in _OFF:
        _, count = await _apply_prefs(context, chat, quiet_start=None, quiet_end=None)
        await _reply(update, t(lang, "quiet_off", released=_released(lang, count)))
        return
    window = parse_quiet_range(text)
    if window is None:
        await _reply(update, t(lang, "quiet_usage"))
        return
    start_at, end_at = (format_hhmm(x) for x in window)
    fresh, _ = await _apply_prefs(context, chat, quiet_start=start_at, quiet_end=end_at)
    zone = services(context).prefs(fresh).timezone.key
    await _reply(update, t(lang, "quiet_set", start=start_at, end=end_at, timezone=zone))


@changes_settings
async def timezone(update: Update, context: Context, chat: ChatRow) -> None:
    """/timezone Area/City."""
    args = _args(context)
    lang = chat.language
    if not args:
        zone = services(context).prefs(chat).timezone.key
        await _reply(update, t(lang, "timezone_usage", timezone=html.escape(zone)))
        return
    name = valid_timezone(" ".join(args))
    if name is None:
        shown = html.escape(shorten(" ".join(args), 64))
        await _reply(update, t(lang, "timezone_unknown", timezone=shown))
        return
    await _apply_prefs(context, chat, timezone=name)
    await _reply(update, t(lang, "timezone_set", timezone=name))


@changes_settings
async def preview(update: Update, context: Context, chat: ChatRow) -> None:
    """/preview on | /preview off: Telegram's link preview under this chat's alerts."""
    args = _args(context)
    lang = chat.language
    word = _word(args[0]) if len(args) == 1 else ""
    if word not in _ON | _OFF:
        state = t(lang, "on" if chat.link_preview else "off")
        await _reply(update, t(lang, "preview_usage", state=state))
        return
    svc = services(context)
    await svc.storage.update_chat(chat.id, svc.clock.now(), link_preview=word in _ON)
    await _reply(update, t(lang, "preview_set", state=t(lang, "on" if word in _ON else "off")))


# ---- buttons ----------------------------------------------------------------------


async def on_button(update: Update, context: Context) -> None:
    """Picker toggles, the alert's Why? button, /latest's "more"; anything else is stale."""
    query = update.callback_query
    assert query is not None
    data = query.data or ""
    chat = await _chat(update, context)
    svc = services(context)
    rules = svc.rules()
    if data.startswith("why:"):
        await _answer_why(update, context, chat, data)
        return
    if data.startswith(MORE_PREFIX):
        await _answer_more(update, context, chat, data)
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
    lang = chat.language
    raw = data.removeprefix("why:")
    if not raw.isdigit() or len(raw) > 18:
        await query.answer(t(lang, "picker_stale"), show_alert=True)
        return
    item_id = int(raw)
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


# ---- groups: membership and migration -------------------------------------------------


async def on_membership(update: Update, context: Context) -> None:
    """The bot was added to / removed from a chat (or a user blocked / unblocked it)."""
    change = update.my_chat_member
    if change is None:
        return
    svc = services(context)
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
        await svc.storage.set_subscriptions(row.id, (c.id for c in svc.rules().categories))
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                row.id, t(row.language, "group_welcome"), parse_mode=ParseMode.HTML
            )


async def on_migrate(update: Update, context: Context) -> None:
    """A group became a supergroup: its settings, keywords and queued alerts move along."""
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    now = svc.clock.now()
    if message.migrate_to_chat_id:
        await svc.storage.migrate_chat(message.chat.id, message.migrate_to_chat_id, now)
    elif message.migrate_from_chat_id:
        # The same event seen from the new chat; migrating twice is harmless.
        await svc.storage.migrate_chat(message.migrate_from_chat_id, message.chat.id, now)


# ---- operator commands ------------------------------------------------------------------


def _when(value: datetime | None, chat: ChatRow, svc: Services, lang: str) -> str:
    if value is None:
        return t(lang, "never")
    tz = svc.prefs(chat).timezone
    return value.astimezone(tz).strftime("%d.%m %H:%M")


@admin_only
async def stats(update: Update, context: Context, chat: ChatRow) -> None:
    """/stats: chats, receiving chats, subscriptions per category, sent today, queue depth."""
    svc = services(context)
    lang = chat.language
    tz = svc.prefs(chat).timezone
    local = svc.clock.now().astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    counts = await svc.storage.chat_stats(midnight)
    per_category = "\n".join(
        f"• {html.escape(c.name(lang))}: {counts.per_category.get(c.id, 0)}"
        for c in svc.rules().categories
    )
    await _reply(
        update,
        t(
            lang,
            "stats",
            chats=counts.chats,
            active=counts.receiving,
            sent_today=counts.sent_since,
            queue=counts.queue,
            per_category=per_category,
        ),
    )


@admin_only
async def feeds(update: Update, context: Context, chat: ChatRow) -> None:
    """/feeds: every feed's health — last success, last error, consecutive failures."""
    svc = services(context)
    lang = chat.language
    rows = [f for f in await svc.storage.feeds() if f.in_catalog]
    lines = [t(lang, "feeds_title", count=len(rows))]
    for feed in rows:
        if not feed.enabled or feed.disabled_reason:
            mark = "⛔"
        elif feed.consecutive_failures:
            mark = "⚠️"
        else:
            mark = "✅" if feed.last_success_at else "⏳"
        error = ""
        if feed.last_error:
            error = t(lang, "feed_error", error=html.escape(shorten(feed.last_error, 200)))
        lines.append(
            t(
                lang,
                "feed_line",
                mark=mark,
                id=html.escape(feed.id),
                success=_when(feed.last_success_at, chat, svc, lang),
                failures=feed.consecutive_failures,
                error=error,
            )
        )
    await _reply_long(update, lines)


@admin_only
async def reload(update: Update, context: Context, chat: ChatRow) -> None:
    """/reload: rules and feed catalog now; errors are reported, the old version stays."""
    outcomes = await services(context).reload()
    lang = chat.language
    good = [what for what, error in outcomes if error is None]
    if good:
        await _reply(update, t(lang, "reload_ok", what=html.escape(", ".join(good))))
    for what, error in outcomes:
        if error is not None:
            shown = html.escape(shorten(error, 3000) if len(error) > 3000 else error)
            await _reply(update, t(lang, "reload_failed", what=html.escape(what), error=shown))


@admin_only
async def broadcast(update: Update, context: Context, chat: ChatRow) -> None:
    """/broadcast <text>: to every receiving chat through the paced outbox (sent escaped)."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message is not None else []
    text = parts[1].strip() if len(parts) == 2 else ""
    if not text:
        await _reply(update, t(chat.language, "broadcast_usage"))
        return
    # Telegram counts UTF-16 code units: a text cut to 4,096 characters could still be
    # refused, and a refused broadcast used to be retried for ever. Say so now instead.
    length = visible_length(text)
    if length > TELEGRAM_TEXT_LIMIT:
        await _reply(
            update,
            t(chat.language, "broadcast_too_long", length=length, limit=TELEGRAM_TEXT_LIMIT),
        )
        return
    svc = services(context)
    count = await svc.storage.enqueue_broadcast(text, svc.clock.now())
    svc.wake_delivery()
    await _reply(update, t(chat.language, "broadcast_queued", count=count))


async def throttle_gate(update: Update, context: Context) -> None:
    """Before every handler: a chat sending too much is told to slow down once, then ignored."""
    tg_chat = update.effective_chat
    counted = update.callback_query is not None or (
        update.message is not None and bool(update.message.text)
    )
    if tg_chat is None or not counted:
        return  # membership changes, migrations, edits: not something a user floods with
    svc = services(context)
    verdict = svc.throttle.check(tg_chat.id)
    if verdict is Verdict.ANSWER:
        return
    if verdict is Verdict.WARN:
        known = await svc.storage.chat(tg_chat.id)
        user = update.effective_user
        lang = known.language if known else language_for(user.language_code if user else None)
        seconds = max(1, math.ceil(svc.throttle.wait_seconds(tg_chat.id)))
        text = t(lang, "slow_down", seconds=seconds)
        log.info("chat %s sends too fast: ignored for %d s", tg_chat.id, seconds)
        with contextlib.suppress(TelegramError):
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            else:
                await _reply(update, text)
    raise ApplicationHandlerStop


async def on_error(update: object, context: Context) -> None:
    """Log every handler error and tell the user something went wrong."""
    log.error("handler failed for update %s", update, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        lang = language_for(update.effective_user.language_code if update.effective_user else None)
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(t(lang, "error"))


# (command, handler, English menu text, Turkish menu text); all are in the command menu.
COMMANDS: list[tuple[str, Handler, str, str]] = [
    ("start", start, "Start: subscribe to all categories", "Başla: tüm kategorilere abone ol"),
    ("categories", categories, "Choose categories", "Kategorileri seç"),
    ("subscribe", subscribe, "Turn categories on", "Kategorileri aç"),
    ("unsubscribe", unsubscribe, "Turn categories off", "Kategorileri kapat"),
    ("keywords", keywords, "Personal keyword alerts", "Kişisel anahtar kelime uyarıları"),
    ("digest", digest, "Instant alerts or a digest", "Anında uyarı veya özet"),
    ("quiet", quiet, "Quiet hours", "Sessiz saatler"),
    ("timezone", timezone, "Time zone", "Saat dilimi"),
    ("preview", preview, "Link previews on or off", "Bağlantı önizlemesi açık/kapalı"),
    ("settings", settings, "What this chat receives", "Bu sohbetin aldıkları"),
    ("latest", latest, "Most recent stories", "En son haberler"),
    ("stop", stop, "Pause all alerts", "Uyarıları duraklat"),
    ("resume", resume, "Resume alerts", "Uyarıları sürdür"),
    ("lang", lang, "Interface language: tr or en", "Arayüz dili: tr veya en"),
    ("help", help_command, "What the bot does", "Bot ne yapar"),
]

# Operator commands: not in the public menu, silently ignored for non-admins.
ADMIN_COMMANDS: list[tuple[str, Handler]] = [
    ("stats", stats),
    ("feeds", feeds),
    ("reload", reload),
    ("broadcast", broadcast),
]


def install(application: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
    """Register every handler and the services on an application."""
    application.bot_data[SERVICES_KEY] = svc
    # Group -1 runs first; ApplicationHandlerStop there keeps the update from every handler.
    application.add_handler(TypeHandler(Update, throttle_gate), group=-1)
    for name, callback, _, _ in COMMANDS:
        application.add_handler(CommandHandler(name, callback))
    for name, callback in ADMIN_COMMANDS:
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate))
    application.add_handler(ChatMemberHandler(on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)
