"""How a chat receives alerts: personal keywords, digests, quiet hours, time zone, previews.

Changing the delivery preferences re-times the chat's held alerts (via the
planner's release time) and wakes the delivery worker when they fall due now.
"""

from __future__ import annotations

import html
import re
from typing import Any

from telegram import Update

from bot.delivery.render import shorten
from bot.delivery.times import (
    format_hhmm,
    parse_hhmm,
    parse_quiet_range,
    release_time,
    valid_timezone,
)
from bot.i18n import N_, t
from bot.models import ChatRow
from bot.storage import MAX_KEYWORDS
from bot.telegram_app.context import BotContext, Services
from bot.telegram_app.gates import changes_settings, may_change
from bot.telegram_app.replies import OFF_WORDS, ON_WORDS, folded, reply
from rules import KeywordMatcher

MAX_KEYWORD_LENGTH = 100
MIN_KEYWORD_LETTERS = 3
MIN_EXACT_LETTERS = 2  # "=EV": an exact word may be shorter, a single letter never
_HOURLY = {"hourly", "saatlik"}
_DAILY = {"daily", "gunluk"}
_ADD = {"add", "ekle"}
ADDED = {True: N_("keyword_added"), False: N_("keyword_exists")}
ON_OFF = {True: N_("on"), False: N_("off")}
_REMOVE = {"remove", "rm", "delete", "sil", "cikar"}


def keyword_problem(term: str) -> tuple[str, dict[str, object]] | None:
    """Why a term cannot be a keyword, as (catalog key, values); None if it can.

    A term with fewer than MIN_KEYWORD_LETTERS letters or digits would match
    nearly every story (`a`), unless it is exact (`=EV`): then only the word itself.
    """
    if len(term) > MAX_KEYWORD_LENGTH:
        return N_("keyword_too_long"), {"limit": MAX_KEYWORD_LENGTH}
    exclude = term.startswith("-")
    body = term[1:].strip() if exclude else term
    if not body:
        return N_("keyword_empty_exclusion"), {}
    letters = sum(ch.isalnum() for ch in body)
    if letters == 0:
        return N_("keyword_no_letters"), {}
    try:
        KeywordMatcher.compile([term])
    except ValueError:
        inner = body.lstrip("=").rstrip("*")
        if "=" in inner or "*" in inner or (body.startswith("=") and body.endswith("*")):
            return N_("keyword_bad_markers"), {}
        return N_("keyword_invalid"), {}
    if letters < (MIN_EXACT_LETTERS if body.startswith("=") else MIN_KEYWORD_LETTERS):
        return N_("keyword_too_short"), {"minimum": MIN_KEYWORD_LETTERS}
    return None


async def keywords(update: Update, context: BotContext) -> None:
    """/keywords, /keywords add <term>, /keywords remove <term>."""
    svc, chat = context.svc, context.chat
    args = context.arguments
    lang = chat.language
    if not args:
        terms = await svc.storage.keywords(chat.id)
        if not terms:
            await reply(update, t(lang, "keywords_empty"))
        else:
            shown = ", ".join(f"<code>{html.escape(x)}</code>" for x in terms)
            await reply(update, t(lang, "keywords_list", keywords=shown))
        return
    action = folded(args[0])
    term = " ".join(args[1:]).strip()
    if action not in _ADD | _REMOVE or not term:
        await reply(update, t(lang, "keywords_usage"))
        return
    if not await may_change(update, context):
        await reply(update, t(lang, "admins_only"))
        return
    # Quoted back in the reply: never more than a keyword may be long.
    shown = html.escape(shorten(term, MAX_KEYWORD_LENGTH))
    if action in _ADD:
        problem = keyword_problem(term)
        if problem is not None:
            key, values = problem
            await reply(update, t(lang, key, **values))
            return
        if len(await svc.storage.keywords(chat.id)) >= MAX_KEYWORDS:
            await reply(update, t(lang, "keywords_full", limit=MAX_KEYWORDS))
            return
        added = await svc.storage.add_keyword(chat.id, term)
        await reply(update, t(lang, ADDED[added], term=shown))
        return
    removed = await svc.storage.remove_keyword(chat.id, term)
    if removed is None:
        await reply(update, t(lang, "keyword_missing", term=shown))
    else:
        await reply(update, t(lang, "keyword_removed", term=html.escape(removed)))


async def _apply_prefs(context: BotContext, **values: Any) -> tuple[ChatRow, int]:
    """Store new preferences and re-time the chat's held alerts to the new release time.

    Returns the updated chat and how many held alerts are now due at once.
    """
    return await apply_prefs(context.svc, context.chat, **values)


async def apply_prefs(svc: Services, chat: ChatRow, **values: Any) -> tuple[ChatRow, int]:
    """`_apply_prefs` for any chat (a channel's, set from an admin's private chat)."""
    now = svc.clock.now()
    await svc.storage.update_chat(chat.id, now, **values)
    fresh = await svc.storage.chat(chat.id) or chat
    at = release_time(svc.prefs(fresh), now)
    moved = await svc.storage.release_held(chat.id, at)
    if moved and at <= now:
        svc.wake_delivery()
    return fresh, moved if at <= now else 0


def _released(lang: str, count: int) -> str:
    return t(lang, "released", count=count) if count else ""


_AM_PM = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?m\.?", re.IGNORECASE)


def twenty_four_hour(text: str) -> str:
    """`10pm-7am` → `22:00-07:00`; `12am` is midnight, `12pm` noon; other text is kept."""

    def convert(match: re.Match[str]) -> str:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if not 1 <= hour <= 12:
            return match.group(0)
        hour = hour % 12 + (12 if match.group(3).lower() == "p" else 0)
        return f"{hour:02d}:{minute:02d}"

    return _AM_PM.sub(convert, text)


def zone_label(name: str) -> str:
    """How a zone is shown: `Etc/GMT-3` (IANA's inverted sign) as `UTC+3`."""
    if name.startswith("Etc/GMT") and name[7:8] in {"+", "-"}:
        return f"UTC{'-' if name[7] == '+' else '+'}{name[8:]}"
    return name


@changes_settings
async def digest(update: Update, context: BotContext) -> None:
    """/digest off | /digest hourly | /digest daily HH:MM."""
    args = context.arguments
    lang = context.chat.language
    mode = folded(args[0]) if args else ""
    if mode in OFF_WORDS and len(args) == 1:
        _, count = await _apply_prefs(context, digest_mode="off", digest_time=None)
        await reply(update, t(lang, "digest_set_off", released=_released(lang, count)))
        return
    if mode in _HOURLY and len(args) == 1:
        await _apply_prefs(context, digest_mode="hourly", digest_time=None)
        await reply(update, t(lang, "digest_set_hourly"))
        return
    at = parse_hhmm(args[1]) if mode in _DAILY and len(args) == 2 else None
    if at is None:
        await reply(update, t(lang, "digest_usage"))
        return
    fresh, _ = await _apply_prefs(context, digest_mode="daily", digest_time=format_hhmm(at))
    zone = context.svc.prefs(fresh).timezone.key
    await reply(update, t(lang, "digest_set_daily", time=format_hhmm(at), timezone=zone))


@changes_settings
async def quiet(update: Update, context: BotContext) -> None:
    """/quiet HH:MM-HH:MM | /quiet off."""
    text = " ".join(context.arguments)
    lang = context.chat.language
    if folded(text) in OFF_WORDS:
        _, count = await _apply_prefs(context, quiet_start=None, quiet_end=None)
        await reply(update, t(lang, "quiet_off", released=_released(lang, count)))
        return
    window = parse_quiet_range(twenty_four_hour(text))
    if window is None:
        await reply(update, t(lang, "quiet_usage"))
        return
    start_at, end_at = (format_hhmm(x) for x in window)
    fresh, _ = await _apply_prefs(context, quiet_start=start_at, quiet_end=end_at)
    zone = context.svc.prefs(fresh).timezone.key
    await reply(update, t(lang, "quiet_set", start=start_at, end=end_at, timezone=zone))


@changes_settings
async def timezone(update: Update, context: BotContext) -> None:
    """/timezone Area/City."""
    args = context.arguments
    lang = context.chat.language
    if not args:
        zone = context.svc.prefs(context.chat).timezone.key
        await reply(update, t(lang, "timezone_usage", timezone=html.escape(zone)))
        return
    name = valid_timezone(" ".join(args))
    if name is None:
        shown = html.escape(shorten(" ".join(args), 64))
        await reply(update, t(lang, "timezone_unknown", timezone=shown))
        return
    await _apply_prefs(context, timezone=name)
    await reply(update, t(lang, "timezone_set", timezone=html.escape(zone_label(name))))


@changes_settings
async def preview(update: Update, context: BotContext) -> None:
    """/preview on | /preview off: Telegram's link preview under this chat's alerts."""
    args = context.arguments
    chat = context.chat
    lang = chat.language
    word = folded(args[0]) if len(args) == 1 else ""
    if word not in ON_WORDS | OFF_WORDS:
        state = t(lang, ON_OFF[chat.link_preview])
        await reply(update, t(lang, "preview_usage", state=state))
        return
    svc = context.svc
    await svc.storage.update_chat(chat.id, svc.clock.now(), link_preview=word in ON_WORDS)
    state = t(lang, ON_OFF[word in ON_WORDS])
    await reply(update, t(lang, "preview_set", state=state))
