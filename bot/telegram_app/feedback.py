"""The editor's loop: an admin corrects an alert's categories from the alert itself.

Under every alert in an admin's private chat the renderer puts a "wrong
category?" button. It turns the alert's keyboard into toggles, one per
category (pre-set to what the rules gave) plus "not relevant", and Save /
Cancel. Save stores the story with the chosen categories as a labelled example
(`Storage.add_feedback`); `evbot eval-rules --feedback` scores the rules on
those. Nothing here changes the rules.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.i18n import t
from bot.telegram_app.callbacks import (
    FEEDBACK_CANCEL,
    FEEDBACK_OPEN,
    FEEDBACK_SAVE,
    feedback_data,
    parse_feedback,
    why_data,
)
from bot.telegram_app.context import BotContext
from rules import CATEGORY_IDS, RuleSet

log = logging.getLogger(__name__)

# Bit n of the mask is CATEGORY_IDS[n]; the next bit is "not relevant".
NOT_RELEVANT_BIT = len(CATEGORY_IDS)


def mask_of(categories: Collection[str]) -> int:
    """The mask of a set of category ids (unknown ids are ignored)."""
    return sum(1 << n for n, c in enumerate(CATEGORY_IDS) if c in categories)


def categories_of(mask: int) -> tuple[str, ...]:
    """The category ids of a mask, in contract order."""
    return tuple(c for n, c in enumerate(CATEGORY_IDS) if mask >> n & 1)


def toggle(mask: int, bit: int) -> int:
    """Flip one choice; "not relevant" and the categories exclude each other."""
    mask ^= 1 << bit
    if bit == NOT_RELEVANT_BIT:
        return mask & (1 << NOT_RELEVANT_BIT)
    return mask & ~(1 << NOT_RELEVANT_BIT)


def alert_keyboard(item_id: int, lang: str) -> InlineKeyboardMarkup:
    """An alert's buttons in an admin's chat: Why? and wrong category?."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "why_button"), callback_data=why_data(item_id)),
                InlineKeyboardButton(
                    t(lang, "feedback_button"), callback_data=feedback_data(item_id)
                ),
            ]
        ]
    )


def editor(rules: RuleSet, item_id: int, mask: int, lang: str) -> InlineKeyboardMarkup:
    """One toggle per category (two per row), "not relevant", then Save and Cancel."""

    def mark(on: bool) -> str:
        return "✅" if on else "⬜"

    buttons = [
        InlineKeyboardButton(
            f"{mark(bool(mask >> n & 1))} {rules.category(c).name(lang)}",
            callback_data=feedback_data(item_id, mask, str(n)),
        )
        for n, c in enumerate(CATEGORY_IDS)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                f"{mark(bool(mask >> NOT_RELEVANT_BIT & 1))} {t(lang, 'feedback_not_relevant')}",
                callback_data=feedback_data(item_id, mask, str(NOT_RELEVANT_BIT)),
            )
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                t(lang, "feedback_save"), callback_data=feedback_data(item_id, mask, FEEDBACK_SAVE)
            ),
            InlineKeyboardButton(
                t(lang, "feedback_cancel"),
                callback_data=feedback_data(item_id, mask, FEEDBACK_CANCEL),
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def _show(update: Update, markup: InlineKeyboardMarkup) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except TelegramError as error:
        log.info("could not edit the feedback keyboard: %s", error)


async def on_feedback(update: Update, context: BotContext) -> None:
    """A press in the editor: open, toggle, save or cancel."""
    query = update.callback_query
    assert query is not None
    svc, lang = context.svc, context.chat.language
    parsed = parse_feedback(query.data or "")
    user = update.effective_user
    # Only the admins label stories; anyone else's press (or forged data) is stale.
    if parsed is None or user is None or user.id not in svc.admin_ids:
        await query.answer(t(lang, "picker_stale"), show_alert=True)
        return
    item_id, mask, action = parsed
    item = await svc.storage.item(item_id)
    if item is None:
        await query.answer(t(lang, "feedback_gone"), show_alert=True)
        return
    rules = svc.rules()
    if action == FEEDBACK_OPEN or mask is None:
        given = ", ".join(rules.category(c).name(lang) for c in item.categories) or t(lang, "none")
        await query.answer(t(lang, "feedback_title", rules=given)[:200])
        await _show(update, editor(rules, item_id, mask_of(item.categories), lang))
        return
    if action == FEEDBACK_CANCEL:
        await query.answer()
        await _show(update, alert_keyboard(item_id, lang))
        return
    if action == FEEDBACK_SAVE:
        if mask == 0:
            await query.answer(t(lang, "feedback_empty"), show_alert=True)
            return
        chosen = categories_of(mask)
        await svc.storage.add_feedback(item_id, chosen, user.id, svc.clock.now())
        names = ", ".join(rules.category(c).name(lang) for c in chosen)
        await query.answer(
            t(lang, "feedback_saved", categories=names or t(lang, "feedback_not_relevant"))[:200]
        )
        await _show(update, alert_keyboard(item_id, lang))
        return
    bit = int(action)
    if bit > NOT_RELEVANT_BIT:
        await query.answer(t(lang, "picker_stale"), show_alert=True)
        return
    await query.answer()
    await _show(update, editor(rules, item_id, toggle(mask, bit), lang))
