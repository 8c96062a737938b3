"""Sends rendered messages through python-telegram-bot and classifies its errors."""

from __future__ import annotations

from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.delivery.render import RenderedMessage
from bot.delivery.worker import FailureKind, SendFailure

_BLOCKED = (
    "bot was blocked by the user",
    "user is deactivated",
    "bot was kicked",
    "bot is not a member",
    "chat was deleted",
    "group chat was deactivated",
)


def keyboard(message: RenderedMessage) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a rendered message, if it has buttons."""
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in message.buttons]]
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
        if any(marker in lowered for marker in _BLOCKED):
            return SendFailure(FailureKind.BLOCKED, text)
        return SendFailure(FailureKind.FORBIDDEN_OTHER, text)
    if isinstance(error, BadRequest):
        if "chat not found" in lowered:
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
    """Delivers rendered messages with the real Bot client."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, message: RenderedMessage) -> int | None:
        """Send HTML (or plain text when the message has no HTML); raise SendFailure."""
        try:
            sent = await self.bot.send_message(
                chat_id=chat_id,
                text=message.html or message.plain,
                parse_mode=ParseMode.HTML if message.html else None,
                reply_markup=keyboard(message),
                link_preview_options=LinkPreviewOptions(is_disabled=not message.link_preview),
            )
        except Exception as error:
            raise classify_error(error) from error
        return sent.message_id
