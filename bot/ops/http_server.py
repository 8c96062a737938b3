"""The operations HTTP endpoint (`EVBOT_HTTP_PORT`, off by default): /healthz and /metrics.

The public archive's routes (`bot.web`) are mounted beside them when given;
with `metrics_port` (EVBOT_METRICS_PORT) /metrics moves to a port of its own,
so the public port serves the archive and /healthz only.

`/healthz` answers 200 `{"status": "ok", ...}` when the database answers and
the scheduler runs, and 503 `{"status": "fail", "reason": "..."}` otherwise,
so Docker's HEALTHCHECK and orchestrators can restart a stuck process.
`/metrics` serves the process's private Prometheus registry.

The server knows nothing of the service: it is handed a health callback and
the `Metrics` object, plus an optional coroutine run before each scrape to
refresh gauges that live in the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.ops.metrics import CONTENT_TYPE_LATEST, Metrics

if TYPE_CHECKING:  # aiohttp is imported only when the endpoint is switched on
    from aiohttp import web

log = logging.getLogger(__name__)

#: How long /healthz waits for the database before calling it down: an
#: orchestrator's probe has its own short timeout, and a hung connection
#: must turn into a 503, not a probe timeout.
PING_TIMEOUT = 3.0


@dataclass(frozen=True)
class Health:
    """The answer of a health check."""

    ok: bool
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The /healthz body."""
        body: dict[str, Any] = {"status": "ok" if self.ok else "fail"}
        if self.reason:
            body["reason"] = self.reason
        body.update(self.details)
        return body


class Pingable(Protocol):
    """Anything with `Storage.ping()`'s shape."""

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        ...


async def check_health(
    storage: Pingable | None, *, scheduler_running: bool, ping_timeout: float = PING_TIMEOUT
) -> Health:
    """Database answers within `ping_timeout` and the scheduler runs → ok."""
    details: dict[str, Any] = {"scheduler": "running" if scheduler_running else "stopped"}
    if storage is None:
        return Health(False, "database: not open", {**details, "database": "not open"})
    try:
        async with asyncio.timeout(ping_timeout):
            await storage.ping()
    except TimeoutError:
        reason = f"database: no answer within {ping_timeout:g} s"
        return Health(False, reason, {**details, "database": "timeout"})
    except Exception as error:
        # The reason goes to whoever can reach the port; the class and message
        # are enough to act on and carry no credentials (URLs are not echoed).
        reason = f"database: {type(error).__name__}: {_first_line(error)}"
        return Health(False, reason, {**details, "database": "down"})
    details["database"] = "ok"
    if not scheduler_running:
        return Health(False, "scheduler not running", details)
    return Health(True, None, details)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else ""


HealthCallback = Callable[[], Awaitable[Health]]
RefreshCallback = Callable[[], Awaitable[None]]
RoutesCallback = Callable[["web.Application"], None]


class HttpServer:
    """aiohttp serving /healthz and /metrics on `host:port` (port 0: any free port)."""

    def __init__(
        self,
        *,
        health: HealthCallback,
        metrics: Metrics,
        port: int,
        # Loopback by default (EVBOT_HTTP_HOST); a container sets 0.0.0.0 to be probed.
        host: str = "127.0.0.1",
        before_scrape: RefreshCallback | None = None,
        routes: RoutesCallback | None = None,
        metrics_port: int | None = None,
    ) -> None:
        self.health = health
        self.routes = routes
        self.requested_metrics_port = metrics_port
        self._metrics_runner: web.AppRunner | None = None
        self.metrics_port: int | None = None
        self.metrics = metrics
        self.host = host
        self.requested_port = port
        self.before_scrape = before_scrape
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def make_app(self) -> web.Application:
        """The aiohttp application (also usable with aiohttp's test client)."""
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        if self.requested_metrics_port is None:
            app.router.add_get("/metrics", self._metrics)
        if self.routes is not None:
            self.routes(app)
        return app

    def make_metrics_app(self) -> web.Application:
        """The application of the separate metrics port: /metrics alone."""
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        """Bind and serve; `self.port` is the bound port afterwards."""
        from aiohttp import web

        # No access log: a probe every few seconds would drown the event log.
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        if self.requested_metrics_port is None:
            log.info(
                "health and metrics on http://%s:%d (/healthz, /metrics)", self.host, self.port
            )
            return
        self._metrics_runner = web.AppRunner(self.make_metrics_app(), access_log=None)
        await self._metrics_runner.setup()
        try:
            await web.TCPSite(self._metrics_runner, self.host, self.requested_metrics_port).start()
        except OSError:
            await self.stop()
            raise
        self.metrics_port = int(self._metrics_runner.addresses[0][1])
        log.info(
            "health on http://%s:%d/healthz, metrics on http://%s:%d/metrics",
            self.host, self.port, self.host, self.metrics_port,
        )

    async def stop(self) -> None:
        """Stop serving and close connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()
            self._metrics_runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            health = await self.health()
        except Exception as error:  # a bug in the check is still an unhealthy answer
            log.exception("health check failed")
            health = Health(False, f"health check error: {type(error).__name__}")
        from aiohttp import web

        return web.json_response(health.to_json(), status=200 if health.ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.before_scrape is not None:
            try:
                await self.before_scrape()
            except Exception:
                # Serve the process's own counters even when the database is
                # away; the stale gauges are better than no scrape at all.
                log.warning("refreshing database gauges for /metrics failed", exc_info=True)
        from aiohttp import web

        body = self.metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
