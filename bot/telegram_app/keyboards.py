"""Inline keyboards (pure builders); their callback data comes from `callbacks`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import t
from bot.telegram_app.callbacks import ALL, NONE, more_data, picker_data
from rules import RuleSet

ON_MARK = "✅"
OFF_MARK = "⬜"


def picker(
    rules: RuleSet,
    subscribed: Collection[str],
    lang: str,
    *,
    data: Callable[..., str] = picker_data,
) -> InlineKeyboardMarkup:
    """One toggle per category (two per row), then all / none; each carries what it shows.

    `data(choice, shown_on=...)` builds each button's callback data: this chat's
    by default, a channel's (`callbacks.channel_picker_data` bound to its id) for
    the picker of a channel shown in a private chat.
    """
    buttons = [
        InlineKeyboardButton(
            f"{ON_MARK if c.id in subscribed else OFF_MARK} {c.name(lang)}",
            callback_data=data(c.id, shown_on=c.id in subscribed),
        )
        for c in rules.categories
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(t(lang, "picker_all"), callback_data=data(ALL)),
            InlineKeyboardButton(t(lang, "picker_none"), callback_data=data(NONE)),
        ]
    )
    return InlineKeyboardMarkup(rows)


def shown_on(markup: InlineKeyboardMarkup | None, data: str) -> bool | None:
    """Whether the pressed button (by its data) showed ✅; None if the keyboard is not at hand."""
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            if button.callback_data == data and isinstance(button.text, str):
                return button.text.startswith(ON_MARK)
    return None


def more_button(lang: str, offset: int, categories: Sequence[str]) -> InlineKeyboardMarkup | None:
    """The /latest "more" button (None when its data would not fit Telegram's 64 bytes)."""
    data = more_data(offset, categories)
    if len(data.encode()) > 64:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(lang, "latest_more"), callback_data=data)]]
    )
