"""Operator commands (/stats, /feeds, /reload, /broadcast) for EVBOT_ADMIN_IDS only.

They are registered behind `filters.User(admin_ids)`, so for anyone else they
do not exist: no reply, nothing logged beyond the update.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from telegram import Update

from bot.delivery.render import TELEGRAM_TEXT_LIMIT, shorten, visible_length
from bot.i18n import t
from bot.models import ChatRow
from bot.telegram_app.context import BotContext, Services
from bot.telegram_app.replies import reply, reply_long


def _when(value: datetime | None, chat: ChatRow, svc: Services, lang: str) -> str:
    if value is None:
        return t(lang, "never")
    tz = svc.prefs(chat).timezone
    return value.astimezone(tz).strftime("%d.%m %H:%M")


async def stats(update: Update, context: BotContext) -> None:
    """/stats: chats, receiving chats, subscriptions per category, sent today, queue depth."""
    svc, chat = context.svc, context.chat
    lang = chat.language
    tz = svc.prefs(chat).timezone
    local = svc.clock.now().astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    counts = await svc.storage.chat_stats(midnight)
    per_category = "\n".join(
        f"• {html.escape(c.name(lang))}: {counts.per_category.get(c.id, 0)}"
        for c in svc.rules().categories
    )
    await reply(
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


async def feeds(update: Update, context: BotContext) -> None:
    """/feeds: every feed's health — last success, last error, consecutive failures."""
    svc, chat = context.svc, context.chat
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
    await reply_long(update, lines)


async def reload(update: Update, context: BotContext) -> None:
    """/reload: rules and feed catalog now; errors are reported, the old version stays."""
    outcomes = await context.svc.reload()
    lang = context.chat.language
    good = [what for what, error in outcomes if error is None]
    if good:
        await reply(update, t(lang, "reload_ok", what=html.escape(", ".join(good))))
    for what, error in outcomes:
        if error is not None:
            shown = html.escape(shorten(error, 3000) if len(error) > 3000 else error)
            await reply(update, t(lang, "reload_failed", what=html.escape(what), error=shown))


async def broadcast(update: Update, context: BotContext) -> None:
    """/broadcast <text>: to every receiving chat through the paced outbox (sent escaped)."""
    chat = context.chat
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message is not None else []
    text = parts[1].strip() if len(parts) == 2 else ""
    if not text:
        await reply(update, t(chat.language, "broadcast_usage"))
        return
    # Telegram counts UTF-16 code units: a text cut to 4,096 characters could still be
    # refused, and a refused broadcast used to be retried for ever. Say so now instead.
    length = visible_length(text)
    if length > TELEGRAM_TEXT_LIMIT:
        await reply(
            update,
            t(chat.language, "broadcast_too_long", length=length, limit=TELEGRAM_TEXT_LIMIT),
        )
        return
    svc = context.svc
    count = await svc.storage.enqueue_broadcast(text, svc.clock.now())
    svc.wake_delivery()
    await reply(update, t(chat.language, "broadcast_queued", count=count))
