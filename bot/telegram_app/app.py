"""Building, starting and stopping the python-telegram-bot Application inside our event loop."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
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
from bot.i18n import t
from bot.telegram_app import (
    admin,
    buttons,
    channels,
    commands,
    feedback,
    hints,
    inline,
    membership,
    preferences,
    topics,
)
from bot.telegram_app.callbacks import (
    CHANNEL_ACTION_PATTERN,
    CHANNEL_PICKER_PATTERN,
    FEEDBACK_PATTERN,
    MORE_PATTERN,
    PICKER_PATTERN,
    WHY_PATTERN,
)
from bot.telegram_app.context import CONTEXT_TYPES, SERVICES_KEY, AnyApplication, Services
from bot.telegram_app.errors import on_error
from bot.telegram_app.fencing import FencedRequest
from bot.telegram_app.gates import Handler, load_chat, throttle_gate
from bot.telegram_app.limiter import PacedRateLimiter, PerChatUpdateProcessor
from bot.telegram_app.webhook import WebhookConfig

log = logging.getLogger(__name__)

# (command, handler); all are in the command menu, described by the catalog's `menu_<command>`.
COMMANDS: list[tuple[str, Handler]] = [
    ("start", commands.start),
    ("categories", commands.categories),
    ("subscribe", commands.subscribe),
    ("unsubscribe", commands.unsubscribe),
    ("keywords", preferences.keywords),
    ("digest", preferences.digest),
    ("quiet", preferences.quiet),
    ("timezone", preferences.timezone),
    ("preview", preferences.preview),
    ("settings", commands.settings),
    ("latest", commands.latest),
    ("stop", commands.stop),
    ("resume", commands.resume),
    ("lang", commands.lang),
    ("topics", topics.topics),
    ("channel", channels.channel),
    ("help", commands.help_command),
]

# Operator commands: not in the public menu, and only for EVBOT_ADMIN_IDS.
ADMIN_COMMANDS: list[tuple[str, Handler]] = [
    ("stats", admin.stats),
    ("feeds", admin.feeds),
    ("reload", admin.reload),
    ("broadcast", admin.broadcast),
]


# Edits are not asked for: an edited message is not a new command.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member", "inline_query"]


def install(application: AnyApplication, svc: Services) -> None:
    """Register every handler and the services on an application."""
    application.bot_data[SERVICES_KEY] = svc
    # Lower groups run first; ApplicationHandlerStop in a gate keeps the update from the rest.
    application.add_handler(TypeHandler(Update, throttle_gate), group=-2)
    application.add_handler(TypeHandler(Update, load_chat), group=-1)
    # An edited message is not a new command: an admin fixing a typo in
    # /broadcast must not broadcast twice (edits are not even requested, see
    # ALLOWED_UPDATES, but a webhook set elsewhere may still deliver them).
    fresh = ~filters.UpdateType.EDITED
    for name, callback in COMMANDS:
        application.add_handler(CommandHandler(name, callback, filters=fresh))
    admins = filters.User(user_id=svc.admin_ids)
    for name, callback in ADMIN_COMMANDS:
        application.add_handler(CommandHandler(name, callback, filters=admins & fresh))
    private = filters.ChatType.PRIVATE & fresh
    application.add_handler(
        MessageHandler(
            private & filters.COMMAND,
            hints.unknown_command([name for name, _ in ADMIN_COMMANDS]),
        )
    )
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, hints.on_text)
    )
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, membership.on_migrate))
    application.add_handler(
        ChatMemberHandler(membership.on_membership, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(CallbackQueryHandler(buttons.on_picker, pattern=PICKER_PATTERN))
    application.add_handler(CallbackQueryHandler(buttons.on_why, pattern=WHY_PATTERN))
    application.add_handler(CallbackQueryHandler(buttons.on_more, pattern=MORE_PATTERN))
    application.add_handler(CallbackQueryHandler(feedback.on_feedback, pattern=FEEDBACK_PATTERN))
    application.add_handler(
        CallbackQueryHandler(channels.on_channel_picker, pattern=CHANNEL_PICKER_PATTERN)
    )
    application.add_handler(
        CallbackQueryHandler(channels.on_channel_action, pattern=CHANNEL_ACTION_PATTERN)
    )
    application.add_handler(CallbackQueryHandler(buttons.on_unknown_button))
    application.add_handler(InlineQueryHandler(inline.on_inline_query))
    application.add_error_handler(on_error)


def build_application(
    token: str,
    api_url: str,
    svc: Services,
    *,
    gate: SendGate | None = None,
    may_act: Callable[[], bool] | None = None,
    on_ok: Callable[[str], None] | None = None,
) -> AnyApplication:
    """An Application talking to `{api_url}/bot{token}/{method}` with our handlers installed.

    Every request the handlers make is paced by `gate`, the budget the delivery
    worker's alerts share (a fresh one at 30/s if none is given), and updates of
    different chats are handled concurrently. `may_act` fences every Bot API
    request (leadership, bot.telegram_app.fencing); `on_ok` hears the method name
    of every successful one.
    """
    gate = gate or SendGate(Pacer(clock=time.monotonic))
    builder = ApplicationBuilder().request(
        FencedRequest(may_act or (lambda: True), on_ok, wire=gate.wire)
    )
    if may_act is not None:
        builder = builder.get_updates_request(FencedRequest(may_act, on_ok, connection_pool_size=1))
    application = (
        builder.token(token)
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
    application: AnyApplication,
    *,
    give_up_after: float = 300.0,
    poll_timeout: int = 10,
    webhook: WebhookConfig | None = None,
) -> None:
    """Initialize (getMe), register commands, then long-poll or set the webhook.

    Retries while the API is down. With `webhook`, updates arrive through
    bot.telegram_app.webhook's route instead of getUpdates.
    """
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
            await update_profile(application)
    me = application.bot.username
    log.info("connected to Telegram as @%s", me)
    await application.start()
    if webhook is not None:
        # Pending updates stay: Telegram held them while no leader had the webhook.
        await application.bot.set_webhook(
            webhook.url,
            secret_token=webhook.secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        log.info("Telegram posts updates to the webhook %s", webhook.url)
        return
    assert application.updater is not None
    await application.updater.start_polling(
        timeout=poll_timeout,
        allowed_updates=ALLOWED_UPDATES,
        error_callback=lambda error: log.warning("getUpdates failed: %s", error),
    )


def _menu(lang: str, names: list[str]) -> list[BotCommand]:
    return [BotCommand(name, t(lang, f"menu_{name}")) for name in names]


async def _register_commands(application: AnyApplication) -> None:
    bot = application.bot
    public = [name for name, _ in COMMANDS]
    operator = public + [name for name, _ in ADMIN_COMMANDS]
    await bot.set_my_commands(_menu("en", public))
    await bot.set_my_commands(_menu("tr", public), language_code="tr")
    svc = application.bot_data.get(SERVICES_KEY)
    admins = sorted(svc.admin_ids) if isinstance(svc, Services) else []
    for admin_id in admins:
        scope = BotCommandScopeChat(admin_id)
        try:
            await bot.set_my_commands(_menu("en", operator), scope=scope)
            await bot.set_my_commands(_menu("tr", operator), scope=scope, language_code="tr")
        except BadRequest as error:
            # An admin who never opened the bot has no chat yet; the menu can wait.
            log.info("no admin command menu for %s yet: %s", admin_id, error)


async def update_profile(application: AnyApplication) -> None:
    """The bot's description and short description in every language, set only if changed.

    English is also the default (no language code) for clients in other languages.
    """
    bot = application.bot
    for lang, code in (("en", None), ("en", "en"), ("tr", "tr")):
        description = t(lang, "bot_description")
        short = t(lang, "bot_short_description")
        try:
            if (await bot.get_my_description(code)).description != description:
                await bot.set_my_description(description, language_code=code)
            if (await bot.get_my_short_description(code)).short_description != short:
                await bot.set_my_short_description(short, language_code=code)
        except BadRequest as error:
            log.warning("could not update the bot's description (%s): %s", code or "-", error)


async def stop_application(
    application: AnyApplication,
    *,
    webhook: WebhookConfig | None = None,
    may_act: Callable[[], bool] | None = None,
) -> None:
    """Stop polling (or delete the webhook) and the application, in reverse order of start.

    The webhook is deleted only while `may_act()` (still the leader): after a
    takeover it belongs to the new leader.
    """
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if webhook is not None and application.running and (may_act is None or may_act()):
        try:
            await application.bot.delete_webhook(drop_pending_updates=False)
        except (NetworkError, TimedOut, BadRequest) as error:
            log.warning("could not delete the webhook: %s", error)
    if application.running:
        await application.stop()
    await application.shutdown()
