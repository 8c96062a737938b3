"""Building, starting and stopping the python-telegram-bot Application inside our event loop."""

from __future__ import annotations

import logging
import time

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

from bot.delivery.pacing import Pacer, SendGate
from bot.telegram_app import admin, buttons, commands, membership, preferences
from bot.telegram_app.callbacks import MORE_PATTERN, PICKER_PATTERN, WHY_PATTERN
from bot.telegram_app.context import CONTEXT_TYPES, SERVICES_KEY, AnyApplication, Services
from bot.telegram_app.errors import on_error
from bot.telegram_app.gates import Handler, load_chat, throttle_gate
from bot.telegram_app.limiter import PacedRateLimiter, PerChatUpdateProcessor

log = logging.getLogger(__name__)

# (command, handler, English menu text, Turkish menu text); all are in the command menu.
COMMANDS: list[tuple[str, Handler, str, str]] = [
    (
        "start",
        commands.start,
        "Start: subscribe to all categories",
        "Başla: tüm kategorilere abone ol",
    ),
    ("categories", commands.categories, "Choose categories", "Kategorileri seç"),
    ("subscribe", commands.subscribe, "Turn categories on", "Kategorileri aç"),
    ("unsubscribe", commands.unsubscribe, "Turn categories off", "Kategorileri kapat"),
    (
        "keywords",
        preferences.keywords,
        "Personal keyword alerts",
        "Kişisel anahtar kelime uyarıları",
    ),
    ("digest", preferences.digest, "Instant alerts or a digest", "Anında uyarı veya özet"),
    ("quiet", preferences.quiet, "Quiet hours", "Sessiz saatler"),
    ("timezone", preferences.timezone, "Time zone", "Saat dilimi"),
    ("preview", preferences.preview, "Link previews on or off", "Bağlantı önizlemesi açık/kapalı"),
    ("settings", commands.settings, "What this chat receives", "Bu sohbetin aldıkları"),
    ("latest", commands.latest, "Most recent stories", "En son haberler"),
    ("stop", commands.stop, "Pause all alerts", "Uyarıları duraklat"),
    ("resume", commands.resume, "Resume alerts", "Uyarıları sürdür"),
    ("lang", commands.lang, "Interface language: tr or en", "Arayüz dili: tr veya en"),
    ("help", commands.help_command, "What the bot does", "Bot ne yapar"),
]

# Operator commands: not in the public menu, and only for EVBOT_ADMIN_IDS.
ADMIN_COMMANDS: list[tuple[str, Handler]] = [
    ("stats", admin.stats),
    ("feeds", admin.feeds),
    ("reload", admin.reload),
    ("broadcast", admin.broadcast),
]


def install(application: AnyApplication, svc: Services) -> None:
    """Register every handler and the services on an application."""
    application.bot_data[SERVICES_KEY] = svc
    # Lower groups run first; ApplicationHandlerStop in a gate keeps the update from the rest.
    application.add_handler(TypeHandler(Update, throttle_gate), group=-2)
    application.add_handler(TypeHandler(Update, load_chat), group=-1)
    for name, callback, _, _ in COMMANDS:
        application.add_handler(CommandHandler(name, callback))
    admins = filters.User(user_id=svc.admin_ids)
    for name, callback in ADMIN_COMMANDS:
        application.add_handler(CommandHandler(name, callback, filters=admins))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, membership.on_migrate))
    application.add_handler(
        ChatMemberHandler(membership.on_membership, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(CallbackQueryHandler(buttons.on_picker, pattern=PICKER_PATTERN))
    application.add_handler(CallbackQueryHandler(buttons.on_why, pattern=WHY_PATTERN))
    application.add_handler(CallbackQueryHandler(buttons.on_more, pattern=MORE_PATTERN))
    application.add_handler(CallbackQueryHandler(buttons.on_unknown_button))
    application.add_error_handler(on_error)


def build_application(
    token: str, api_url: str, svc: Services, *, gate: SendGate | None = None
) -> AnyApplication:
    """An Application talking to `{api_url}/bot{token}/{method}` with our handlers installed.

    Every request the handlers make is paced by `gate`, the budget the delivery
    worker's alerts share (a fresh one at 30/s if none is given), and updates of
    different chats are handled concurrently.
    """
    gate = gate or SendGate(Pacer(clock=time.monotonic))
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(PerChatUpdateProcessor())
        .rate_limiter(PacedRateLimiter(gate))
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
    for admin_id in admins:
        scope = BotCommandScopeChat(admin_id)
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
            log.info("no admin command menu for %s yet: %s", admin_id, error)


async def stop_application(application: AnyApplication) -> None:
    """Stop polling and the application, in the reverse order of start."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
