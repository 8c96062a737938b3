"""Every callback-data format of the bot's inline buttons: built and parsed here only.

Telegram hands button data back verbatim and anyone can forge it, so every
parser returns None for anything not well formed. Data stays within Telegram's
64 bytes. This module imports nothing of the bot, so renderers may use it too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

WHY_PREFIX = "why:"
PICKER_PREFIX = "cat:"
MORE_PREFIX = "more:"
FEEDBACK_PREFIX = "fb:"
CHANNEL_PICKER_PREFIX = "chp:"
CHANNEL_ACTION_PREFIX = "cha:"
ALL = "*all"
NONE = "*none"

# CallbackQueryHandler patterns, one per button family.
WHY_PATTERN = re.compile("^" + re.escape(WHY_PREFIX))
PICKER_PATTERN = re.compile("^" + re.escape(PICKER_PREFIX))
MORE_PATTERN = re.compile("^" + re.escape(MORE_PREFIX))
FEEDBACK_PATTERN = re.compile("^" + re.escape(FEEDBACK_PREFIX))
CHANNEL_PICKER_PATTERN = re.compile("^" + re.escape(CHANNEL_PICKER_PREFIX))
CHANNEL_ACTION_PATTERN = re.compile("^" + re.escape(CHANNEL_ACTION_PREFIX))


def why_data(item_id: int) -> str:
    """The Why? button under an alert of this story."""
    return f"{WHY_PREFIX}{item_id}"


def parse_why(data: str) -> int | None:
    """The story id of a Why? button."""
    raw = data.removeprefix(WHY_PREFIX)
    if data == raw or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


# A picker toggle carries what it showed: "cat:<id>" showed ⬜ (press turns it
# on), "cat:-<id>" showed ✅ (press turns it off). Keyboards sent before this
# encoding used "cat:<id>" for both; the handler reads their mark instead.
SHOWN_ON = "-"


def picker_data(choice: str, *, shown_on: bool = False) -> str:
    """A category picker button: a category id (with the state it shows), ALL or NONE."""
    return PICKER_PREFIX + (SHOWN_ON if shown_on and choice not in {ALL, NONE} else "") + choice


def parse_picker(data: str) -> tuple[str, bool] | None:
    """(choice, whether the button showed it on) of a picker button; choice not checked."""
    choice = data.removeprefix(PICKER_PREFIX)
    if data == choice or not choice or len(choice) > 60:
        return None
    shown_on = choice.startswith(SHOWN_ON)
    choice = choice.removeprefix(SHOWN_ON)
    return (choice, shown_on) if choice else None


def more_data(offset: int, categories: Sequence[str]) -> str:
    """/latest's "more" button: the next page starts at `offset` (categories comma-separated)."""
    return f"{MORE_PREFIX}{offset}:{','.join(categories)}"


def parse_more(data: str) -> tuple[int, tuple[str, ...]] | None:
    """(offset, categories) from "more" callback data; None if it is not well formed."""
    body = data.removeprefix(MORE_PREFIX)
    offset, sep, categories = body.partition(":")
    if data == body or not sep or not offset.isdigit() or len(offset) > 6:
        return None
    return int(offset), tuple(c for c in categories.split(",") if c)


# The admin's "wrong category?" editor. The choice so far travels in the data as
# a bit mask over the contract's category order (bit n = category n, the next bit =
# "not relevant"), so the editor keeps no state between presses.
FEEDBACK_OPEN = "open"
FEEDBACK_SAVE = "ok"
FEEDBACK_CANCEL = "x"
FEEDBACK_MAX_MASK = (1 << 16) - 1


def feedback_data(item_id: int, mask: int | None = None, action: str = FEEDBACK_OPEN) -> str:
    """An editor button: open it (no mask), toggle bit `action` (a digit string), save or cancel."""
    if mask is None:
        return f"{FEEDBACK_PREFIX}{item_id}"
    return f"{FEEDBACK_PREFIX}{item_id}:{mask}:{action}"


def parse_feedback(data: str) -> tuple[int, int | None, str] | None:
    """(story id, mask or None, action) of an editor button: open, ok, x or a bit number."""
    body = data.removeprefix(FEEDBACK_PREFIX)
    if data == body:
        return None
    parts = body.split(":")
    if not parts[0].isdigit() or len(parts[0]) > 18:
        return None
    item_id = int(parts[0])
    if len(parts) == 1:
        return item_id, None, FEEDBACK_OPEN
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 5:
        return None
    mask, action = int(parts[1]), parts[2]
    if mask > FEEDBACK_MAX_MASK:
        return None
    is_bit = action.isdigit() and len(action) <= 2
    if action not in (FEEDBACK_SAVE, FEEDBACK_CANCEL) and not is_bit:
        return None
    return item_id, mask, action


# Channels are managed from a private chat, so their buttons name the channel:
# "chp:<channel id>:<picker choice>" (the choice encoded as by `picker_data`,
# "-" when it showed ✅) and "cha:<channel id>:<action>" for /channel list's
# buttons. A channel id is -100 followed by up to 13 digits: with the longest
# category id the data stays far below 64 bytes.
CHANNEL_EDIT = "edit"
CHANNEL_REMOVE = "rm"
_CHANNEL_ACTIONS = frozenset({CHANNEL_EDIT, CHANNEL_REMOVE})


def _parse_channel_id(raw: str) -> int | None:
    digits = raw.removeprefix("-")
    if raw == digits or not digits.isdigit() or len(digits) > 16:
        return None  # channels always have negative ids
    return int(raw)


def channel_picker_data(channel_id: int, choice: str, *, shown_on: bool = False) -> str:
    """A picker button of a channel: like `picker_data`, for the channel `channel_id`."""
    return (
        f"{CHANNEL_PICKER_PREFIX}{channel_id}:"
        + picker_data(choice, shown_on=shown_on)[len(PICKER_PREFIX) :]
    )


def parse_channel_picker(data: str) -> tuple[int, str, bool] | None:
    """(channel id, choice, whether it showed on) of a channel picker button."""
    body = data.removeprefix(CHANNEL_PICKER_PREFIX)
    raw_id, sep, rest = body.partition(":")
    channel_id = _parse_channel_id(raw_id)
    if data == body or not sep or channel_id is None:
        return None
    parsed = parse_picker(PICKER_PREFIX + rest)
    return None if parsed is None else (channel_id, *parsed)


def channel_action_data(channel_id: int, action: str) -> str:
    """A /channel list button: change the channel's categories (CHANNEL_EDIT) or remove it."""
    return f"{CHANNEL_ACTION_PREFIX}{channel_id}:{action}"


def parse_channel_action(data: str) -> tuple[int, str] | None:
    """(channel id, action) of a /channel list button."""
    body = data.removeprefix(CHANNEL_ACTION_PREFIX)
    raw_id, sep, action = body.partition(":")
    channel_id = _parse_channel_id(raw_id)
    if data == body or not sep or channel_id is None or action not in _CHANNEL_ACTIONS:
        return None
    return channel_id, action
