"""Inline keyboards (pure builders)."""

from __future__ import annotations

from collections.abc import Collection

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import t
from rules import RuleSet

PREFIX = "cat:"
ALL = "*all"
NONE = "*none"


def picker(rules: RuleSet, subscribed: Collection[str], lang: str) -> InlineKeyboardMarkup:
    """One toggle per category (two per row), then all / none."""
    buttons = [
        InlineKeyboardButton(
            f"{'✅' if c.id in subscribed else '⬜'} {c.name(lang)}", callback_data=PREFIX + c.id
        )
        for c in rules.categories
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(t(lang, "picker_all"), callback_data=PREFIX + ALL),
            InlineKeyboardButton(t(lang, "picker_none"), callback_data=PREFIX + NONE),
        ]
    )
    return InlineKeyboardMarkup(rows)
