"""What a private chat hears when the bot does not understand: a short pointer to /help.

Groups stay silent (people talk to each other there), and so do operator
commands sent by someone who is not an operator: the bot does not advertise them.
"""

from __future__ import annotations

from collections.abc import Collection

from telegram import Update

from bot.i18n import t
from bot.telegram_app.context import BotContext
from bot.telegram_app.gates import Handler
from bot.telegram_app.replies import reply


def command_name(text: str) -> str:
    """`/Stats@evbot now` → `stats`."""
    word = text.split(maxsplit=1)[0] if text.strip() else ""
    return word.removeprefix("/").split("@", 1)[0].lower()


def unknown_command(silent: Collection[str]) -> Handler:
    """A handler for commands no other handler took; the `silent` ones get no answer."""
    quiet = frozenset(silent)

    async def on_unknown_command(update: Update, context: BotContext) -> None:
        message = update.effective_message
        if message is None or message.text is None or command_name(message.text) in quiet:
            return
        await reply(update, t(context.chat.language, "unknown_command"))

    return on_unknown_command


async def on_text(update: Update, context: BotContext) -> None:
    """Plain text in a private chat: what the bot does understand."""
    await reply(update, t(context.chat.language, "text_hint"))
