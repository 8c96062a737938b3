"""Building, starting and stopping the python-telegram-bot Application inside our event loop."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import Application, ApplicationBuilder
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

from bot.telegram_app.handlers import COMMANDS, SERVICES_KEY, Services, install

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(token: str, api_url: str, svc: Services) -> AnyApplication:
    """An Application talking to `{api_url}/bot{token}/{method}` with our handlers installed."""
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .concurrent_updates(False)
        .build()
    )
    install(application, svc)
    return application


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    # PTB puts the whole HTML error page in the message; its first line says enough.
    reason = str(error).split(". Parsing the server response")[0] if error else "?"
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    log.warning(
        "Telegram Bot API not available (%s); retrying in %.1f s (attempt %d)",
        reason,
        wait,
        state.attempt_number,
    )


async def start_application(
    application: AnyApplication, *, give_up_after: float = 300.0, poll_timeout: int = 10
) -> None:
    """Initialize (getMe), register commands, start long polling; retry while the API is down."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type((NetworkError, TimedOut)),
        wait=wait_exponential_jitter(multiplier=0.5, max=30.0),
        stop=stop_after_delay(give_up_after),
        before_sleep=_log_retry,
        reraise=True,
    ):
        with attempt:
            await application.initialize()
            await _register_commands(application)
    me = application.bot.username
    log.info("connected to Telegram as @%s", me)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(
        timeout=poll_timeout,
        allowed_updates=["message", "callback_query", "my_chat_member", "edited_message"],
        error_callback=lambda error: log.warning("getUpdates failed: %s", error),
    )


# Menu texts of the admin commands, shown only in the admins' own chats.
ADMIN_MENU = {
    "stats": ("Statistics (admins)", "İstatistikler (yöneticiler)"),
    "feeds": ("Health of every feed (admins)", "Kaynakların durumu (yöneticiler)"),
    "reload": ("Reload rules and catalog (admins)", "Kuralları ve kataloğu yenile (yöneticiler)"),
    "broadcast": ("Message every chat (admins)", "Tüm sohbetlere mesaj (yöneticiler)"),
}


async def _register_commands(application: AnyApplication) -> None:
    bot = application.bot
    english = [BotCommand(name, en) for name, _, en, _ in COMMANDS]
    turkish = [BotCommand(name, tr) for name, _, _, tr in COMMANDS]
    await bot.set_my_commands(english)
    await bot.set_my_commands(turkish, language_code="tr")
    svc = application.bot_data.get(SERVICES_KEY)
    admins = sorted(svc.admin_ids) if isinstance(svc, Services) else []
    for admin in admins:
        scope = BotCommandScopeChat(admin)
        try:
            await bot.set_my_commands(
                english + [BotCommand(n, en) for n, (en, _) in ADMIN_MENU.items()], scope=scope
            )
            await bot.set_my_commands(
                turkish + [BotCommand(n, tr) for n, (_, tr) in ADMIN_MENU.items()],
                scope=scope,
                language_code="tr",
            )
        except BadRequest as error:
            # An admin who never opened the bot has no chat yet; the menu can wait.
            log.info("no admin command menu for %s yet: %s", admin, error)


async def stop_application(application: AnyApplication) -> None:
    """Stop polling and the application, in the reverse order of start."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
