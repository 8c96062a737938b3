"""Webhook mode (EVBOT_WEBHOOK_URL): Telegram posts updates to our HTTP server.

The route lives on the service's aiohttp server (bot.ops.http_server) in every
replica for the whole life of the process; what it does depends on the moment:

- a missing or wrong `X-Telegram-Bot-Api-Secret-Token` header → 401, nothing
  read further (compared in constant time);
- this replica does not lead (no Application, or its lease is not trusted
  now) → 503: Telegram keeps the update and retries, and the retry reaches
  the leader once the load balancer tries another replica or the webhook was
  set again by a new leader;
- otherwise the update goes into the PTB Application's `update_queue`, the
  same queue long polling feeds, and the answer is 200 at once.

The leader calls setWebhook when it starts Telegram (a new leader after a
failover does it again) and deleteWebhook when it stops while still leading
(see `bot.telegram_app.app.start_application`/`stop_application`).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import Update

from bot.telegram_app.context import AnyApplication

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookConfig:
    """Where Telegram posts updates and the secret it sends along."""

    url: str
    secret: str
    path: str


class WebhookRoute:
    """The aiohttp handler of the webhook path; see the module docstring for its answers."""

    def __init__(
        self,
        config: WebhookConfig,
        application: Callable[[], AnyApplication | None],
        may_act: Callable[[], bool],
        on_update: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.application = application
        self.may_act = may_act
        self.on_update = on_update
        self._secret = config.secret.encode()

    def route(self) -> tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]:
        """(method, path, handler) for `HttpServer(routes=...)`."""
        return ("POST", self.config.path, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        """Check the secret, then leadership, then queue the update."""
        from aiohttp import web

        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook request without the right secret token refused")
            return web.Response(status=401, text="Unauthorized")
        application = self.application()
        if application is None or not application.running or not self.may_act():
            # Not the leader (any more): Telegram retries later, possibly elsewhere.
            return web.Response(status=503, text="not the leader", headers={"Retry-After": "1"})
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("no update_id")
            update = Update.de_json(data, application.bot)
        except Exception:  # whatever the body is, it is not an update to handle
            log.warning("webhook request with a body that is not an update refused")
            return web.Response(status=400, text="not a Telegram update")
        await application.update_queue.put(update)
        if self.on_update is not None:
            self.on_update()
        return web.Response(text="ok")


__all__ = ["SECRET_HEADER", "WebhookConfig", "WebhookRoute"]
