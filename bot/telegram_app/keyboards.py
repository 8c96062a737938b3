"""Inline keyboards (pure builders); their callback data comes from `callbacks`."""

from __future__ import annotations

from collections.abc import Collection

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import t
from bot.telegram_app.callbacks import ALL, NONE, more_data, picker_data
from rules import RuleSet


def picker(rules: RuleSet, subscribed: Collection[str], lang: str) -> InlineKeyboardMarkup:
    """One toggle per category (two per row), then all / none."""
    buttons = [
        InlineKeyboardButton(
            f"{'✅' if c.id in subscribed else '⬜'} {c.name(lang)}",
            callback_data=picker_data(c.id),
        )
        for c in rules.categories
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(t(lang, "picker_all"), callback_data=picker_data(ALL)),
            InlineKeyboardButton(t(lang, "picker_none"), callback_data=picker_data(NONE)),
        ]
    )
    return InlineKeyboardMarkup(rows)


def more_button(lang: str, offset: int, category: str | None) -> InlineKeyboardMarkup:
    """The /latest "more" button: the next page starts at `offset` (data fits in 64 bytes)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(lang, "latest_more"), callback_data=more_data(offset, category))]]
    )
