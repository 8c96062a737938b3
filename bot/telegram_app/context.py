"""What every handler receives: the application's services and this update's chat row.

`BotContext` is python-telegram-bot's context type for this application
(`ContextTypes(context=BotContext)`): `context.svc` gives the services wired by
the composition root, and `context.chat` the chat row that `gates.load_chat`
loaded once for the update (in handler group -1) instead of every handler
reading it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.clock import Clock
from bot.delivery.times import DEFAULT_TIMEZONE, DeliveryPrefs, chat_prefs
from bot.models import ChatRow
from bot.storage import Storage
from bot.telegram_app.errors import ErrorAlarm
from bot.telegram_app.throttle import CommandThrottle
from rules import RuleSet

SERVICES_KEY = "evbot.services"
# What /reload reports: (what was reloaded, its error or None).
ReloadOutcome = tuple[str, str | None]


def _nothing() -> None:
    return None


async def _no_reload() -> list[ReloadOutcome]:
    return []


@dataclass
class Services:
    """What handlers need, wired by the composition root."""

    storage: Storage
    rules: Callable[[], RuleSet]
    clock: Clock
    admin_ids: frozenset[int]
    # Reload the rules and the feed catalog now (admin /reload).
    reload: Callable[[], Awaitable[list[ReloadOutcome]]] = field(default=_no_reload)
    # Tell the delivery worker rows became due now (/quiet off, /digest off, /broadcast).
    wake_delivery: Callable[[], None] = field(default=_nothing)
    # The time zone of chats that chose none (EVBOT_TIMEZONE).
    default_timezone: str = DEFAULT_TIMEZONE
    # Per-chat flood control of commands, texts and button presses.
    throttle: CommandThrottle = field(default_factory=CommandThrottle)
    # Handler errors the admins were told about, so they are told once per window.
    error_alarm: ErrorAlarm = field(default_factory=ErrorAlarm)

    def prefs(self, chat: ChatRow) -> DeliveryPrefs:
        """A chat's delivery preferences, parsed."""
        return chat_prefs(chat, self.default_timezone)


AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The handlers' context: `svc` for the services, `chat` for this update's chat row."""

    def __init__(
        self, application: AnyApplication, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._chat: ChatRow | None = None

    @property
    def svc(self) -> Services:
        """The application's services."""
        value = self.application.bot_data[SERVICES_KEY]
        assert isinstance(value, Services)
        return value

    @property
    def chat(self) -> ChatRow:
        """This update's chat row (loaded by `gates.load_chat` before any handler runs)."""
        assert self._chat is not None, "no chat row loaded for this update"
        return self._chat

    @chat.setter
    def chat(self, row: ChatRow) -> None:
        self._chat = row

    @property
    def arguments(self) -> list[str]:
        """The command's words after the command itself."""
        return list(self.args or [])


CONTEXT_TYPES = ContextTypes(context=BotContext)
