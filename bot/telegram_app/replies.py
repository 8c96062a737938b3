"""Replying to a chat, and the small text helpers every handler shares.

Replies are Telegram HTML (the application's default parse mode); every text
comes from `bot.i18n`, and values from users or feeds are escaped here or by
the caller.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from typing import Any

from telegram import Update

from bot.delivery.render import TELEGRAM_TEXT_LIMIT, echo_words, visible_length
from bot.i18n import t
from rules import RuleSet, match_key

OFF_WORDS = frozenset({"off", "kapat", "kapali", "no", "0", "false", "hayir"})
ON_WORDS = frozenset({"on", "ac", "acik", "yes", "1", "true", "evet"})


async def reply(update: Update, text: str, **kwargs: Any) -> None:
    """Answer the update's message in its chat."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, **kwargs)


async def reply_long(update: Update, lines: Sequence[str]) -> None:
    """Reply with HTML lines, in as many messages as Telegram's limit needs.

    Each line is complete HTML; visible lengths are estimated on the raw HTML,
    which is never shorter than what Telegram shows.
    """
    chunk: list[str] = []
    used = 0
    for line in lines:
        size = visible_length(line) + 1
        if chunk and used + size > TELEGRAM_TEXT_LIMIT:
            await reply(update, "\n".join(chunk), disable_web_page_preview=True)
            chunk, used = [], 0
        chunk.append(line)
        used += size
    if chunk:
        await reply(update, "\n".join(chunk), disable_web_page_preview=True)


def category_names(rules: RuleSet, ids: Collection[str], lang: str) -> str:
    """The names of these categories in the rules' order, escaped ("none" if empty)."""
    ordered = [c for c in rules.categories if c.id in set(ids)]
    if not ordered:
        return t(lang, "none")
    return ", ".join(html.escape(c.name(lang)) for c in ordered)


def all_category_names(rules: RuleSet, lang: str) -> str:
    """Every category as `id (name)`, for usage texts."""
    return ", ".join(f"<code>{c.id}</code> ({html.escape(c.name(lang))})" for c in rules.categories)


async def reply_unknown(update: Update, lang: str, rules: RuleSet, words: Sequence[str]) -> None:
    """Say which words named no category (quoted back, capped), and list the valid ones."""
    await reply(
        update,
        t(
            lang,
            "unknown_categories",
            unknown=html.escape(echo_words(words)),
            categories=all_category_names(rules, lang),
        ),
    )


def folded(text: str) -> str:
    """A command word folded for comparison (case and Turkish letters)."""
    return match_key(text).strip()
