"""The leader's link to Telegram: building the Application, long polling or webhook, stopping.

`TelegramLink` owns the python-telegram-bot Application while this replica
leads. It chooses between long polling (the default) and webhook mode
(EVBOT_WEBHOOK_URL): the webhook route is served by every replica for the
process's whole life and answers 503 unless this replica leads (see
bot.telegram_app.webhook). Telegram's refusals at start-up become a
`StartupError` naming the variable to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.delivery.pacing import SendGate
from bot.ops.http_server import Route
from bot.ops.metrics import Metrics
from bot.service.support import StartupError, reason
from bot.settings import Settings
from bot.telegram_app.app import build_application, start_application, stop_application
from bot.telegram_app.context import AnyApplication, Services
from bot.telegram_app.webhook import WebhookConfig, WebhookRoute

log = logging.getLogger(__name__)


def webhook_config(settings: Settings) -> WebhookConfig | None:
    """The webhook settings, or None for long polling."""
    path = settings.webhook_path
    if settings.webhook_url is None or settings.webhook_secret is None or path is None:
        return None
    return WebhookConfig(settings.webhook_url, settings.webhook_secret.get_secret_value(), path)


class TelegramLink:
    """The Application of the leading replica and how updates reach it."""

    def __init__(
        self,
        settings: Settings,
        *,
        may_act: Callable[[], bool],
        metrics: Metrics,
        monotonic: Callable[[], float],
        poll_timeout: int,
    ) -> None:
        self.settings = settings
        self.may_act = may_act
        self.metrics = metrics
        self.monotonic = monotonic
        self.poll_timeout = poll_timeout
        self.webhook = webhook_config(settings)
        self.application: AnyApplication | None = None
        # When a getUpdates last completed (monotonic); liveness of the long poll.
        self.last_get_updates: float | None = None

    def routes(self) -> list[Route]:
        """The webhook route for the HTTP server (none when long polling)."""
        if self.webhook is None:
            return []
        return [WebhookRoute(self.webhook, lambda: self.application, self.may_act).route()]

    async def start(self, svc: Services, gate: SendGate) -> AnyApplication:
        """Build the Application, connect (getMe, menus) and poll or set the webhook."""
        settings = self.settings
        assert settings.telegram_token is not None
        self.last_get_updates = None
        self.application = application = build_application(
            settings.telegram_token.get_secret_value(),
            settings.telegram_api_url,
            svc,
            may_act=self.may_act,
            on_ok=self._ok,
            gate=gate,
        )
        try:
            await start_application(
                application, poll_timeout=self.poll_timeout, webhook=self.webhook
            )
        except InvalidToken as error:
            raise StartupError(
                "EVBOT_TELEGRAM_TOKEN: Telegram rejected the token (401 Unauthorized): "
                "check it with @BotFather"
            ) from error
        except (NetworkError, TimedOut) as error:
            raise StartupError(
                f"EVBOT_TELEGRAM_API_URL: the Bot API at {settings.telegram_api_url} "
                f"did not answer: {reason(error)}"
            ) from error
        return application

    async def stop(self) -> None:
        """Stop the Application; the webhook is deleted only while still leading."""
        if self.application is not None:
            await stop_application(self.application, webhook=self.webhook, may_act=self.may_act)
            self.application = None

    def _ok(self, method: str) -> None:
        """Every successful Bot API call; a completed getUpdates proves the poll is alive."""
        if method == "getUpdates":
            self.last_get_updates = self.monotonic()
            self.metrics.get_updates_ok()
