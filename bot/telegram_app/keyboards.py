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


MORE_PREFIX = "more:"


def more_button(lang: str, offset: int, category: str | None) -> InlineKeyboardMarkup:
    """The /latest "more" button: the next page starts at `offset` (data fits in 64 bytes)."""
    data = f"{MORE_PREFIX}{offset}:{category or ''}"
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(lang, "latest_more"), callback_data=data)]]
    )


def parse_more(data: str) -> tuple[int, str | None] | None:
    """(offset, category) from "more" callback data; None if it is not well formed."""
    body = data.removeprefix(MORE_PREFIX)
    offset, sep, category = body.partition(":")
    if not sep or not offset.isdigit() or len(offset) > 6:
        return None
    return int(offset), category or None
