"""When a handler fails: the user hears that something went wrong, the admins are told.

Admins get at most one notice per kind of error per `ErrorAlarm.window`
(through the paced outbox, like every other message), so a failure that hits
every update does not flood them.
"""

from __future__ import annotations

import contextlib
import html
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from telegram import Update
from telegram.error import TelegramError

from bot.i18n import language_for, t

if TYPE_CHECKING:  # context.py holds an ErrorAlarm, so import it for typing only
    from bot.telegram_app.context import BotContext

log = logging.getLogger(__name__)


class ErrorAlarm:
    """Decides whether a handler error is worth a notice to the admins now (pure)."""

    def __init__(self, window: timedelta = timedelta(minutes=10)) -> None:
        self.window = window
        self._last: dict[str, datetime] = {}
        self.suppressed = 0

    def should_tell(self, kind: str, now: datetime) -> bool:
        """True for the first error of a kind, then again once the window has passed."""
        last = self._last.get(kind)
        if last is not None and now - last < self.window:
            self.suppressed += 1
            return False
        self._last[kind] = now
        return True


async def on_error(update: object, context: BotContext) -> None:
    """Log a handler error; tell the user something went wrong, and the admins (rate-limited)."""
    error = context.error
    log.error("handler failed for update %s", update, exc_info=error)
    svc = context.svc
    kind = type(error).__name__ if error is not None else "unknown"
    tell = bool(svc.admin_ids) and svc.error_alarm.should_tell(kind, svc.clock.now())
    if isinstance(update, Update) and update.effective_message is not None:
        lang = language_for(update.effective_user.language_code if update.effective_user else None)
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(t(lang, "error"))
    if not tell:
        return
    detail = str(error).splitlines()[0][:300] if error is not None and str(error) else kind
    text = t("en", "admin_handler_error", kind=html.escape(kind), detail=html.escape(detail))
    try:
        await svc.storage.enqueue_notice(svc.admin_ids, text, svc.clock.now())
        svc.wake_delivery()
    except Exception:
        log.exception("could not queue the error notice for the admins")
