"""Sends rendered messages through python-telegram-bot and classifies its errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.delivery.failures import FailureKind, SendFailure
from bot.delivery.render import RenderedMessage
from bot.delivery.threads import is_thread_closed, is_thread_gone
from bot.telegram_app.limiter import PACED

_BLOCKED = (
    "bot was blocked by the user",
    "user is deactivated",
    "bot was kicked",
    "bot is not a member",
    "chat was deleted",
    "group chat was deactivated",
)

_CHANNEL = "channel chat"
# A channel whose admins took the bot's right to post answers 400 with this.
_NOT_CHANNEL_ADMIN = "need administrator rights in the channel chat"


# Buttons per keyboard row: a bundle's numbered Why? buttons wrap after this many.
BUTTONS_PER_ROW = 5


def keyboard(message: RenderedMessage) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a rendered message, if it has buttons."""
    if not message.buttons:
        return None
    keys = [InlineKeyboardButton(b.label, callback_data=b.data) for b in message.buttons]
    return InlineKeyboardMarkup(
        [keys[i : i + BUTTONS_PER_ROW] for i in range(0, len(keys), BUTTONS_PER_ROW)]
    )


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify_error(error: Exception) -> SendFailure:
    """Map a python-telegram-bot exception onto what delivery should do about it."""
    text = str(error)
    lowered = text.lower()
    if isinstance(error, RetryAfter):
        return SendFailure(FailureKind.FLOOD, text, retry_after=_seconds(error.retry_after))
    if isinstance(error, ChatMigrated):
        return SendFailure(FailureKind.MIGRATED, text, migrate_to=int(error.new_chat_id))
    if isinstance(error, Forbidden):
        # Every 403 about a channel means the bot may no longer post there
        # ("... the channel chat"): only /channel add brings it back.
        if any(marker in lowered for marker in _BLOCKED) or _CHANNEL in lowered:
            return SendFailure(FailureKind.BLOCKED, text)
        return SendFailure(FailureKind.FORBIDDEN_OTHER, text)
    if isinstance(error, BadRequest):
        if is_thread_gone(text):
            return SendFailure(FailureKind.THREAD_GONE, text)
        if is_thread_closed(text):
            return SendFailure(FailureKind.THREAD_CLOSED, text)
        if "chat not found" in lowered or _NOT_CHANNEL_ADMIN in lowered:
            return SendFailure(FailureKind.CHAT_GONE, text)
        if "can't parse entities" in lowered or "unsupported start tag" in lowered:
            return SendFailure(FailureKind.BAD_MARKUP, text)
        if "message is too long" in lowered:
            return SendFailure(FailureKind.TOO_LONG, text)
        return SendFailure(FailureKind.PERMANENT, text)
    if isinstance(error, TimedOut | NetworkError):
        return SendFailure(FailureKind.TRANSIENT, text or type(error).__name__)
    return SendFailure(FailureKind.TRANSIENT, f"{type(error).__name__}: {text}")


class TelegramSender:
    """Delivers rendered messages with the real Bot client.

    The delivery worker has already taken the send's slot, so a bot with our
    rate limiter is told to let it through (`PACED`). With `paid_broadcast`
    every alert is sent with `allow_paid_broadcast`: Telegram then allows up to
    1,000 messages a second and charges Stars for those above the free limit.
    """

    def __init__(self, bot: Bot, *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self.paid_broadcast = paid_broadcast

    async def send(self, chat_id: int, message: RenderedMessage) -> int | None:
        """Send HTML (or plain text when the message has no HTML); raise SendFailure."""
        extra: dict[str, Any] = {}
        if isinstance(self.bot, ExtBot) and self.bot.rate_limiter is not None:
            extra["rate_limit_args"] = PACED
        if self.paid_broadcast:
            extra["allow_paid_broadcast"] = True
        try:
            sent = await self.bot.send_message(
                chat_id=chat_id,
                text=message.html or message.plain,
                parse_mode=ParseMode.HTML if message.html else None,
                reply_markup=keyboard(message),
                message_thread_id=message.thread_id,
                link_preview_options=LinkPreviewOptions(is_disabled=not message.link_preview),
                **extra,
            )
        except Exception as error:
            raise classify_error(error) from error
        return sent.message_id
