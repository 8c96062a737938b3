"""The operations HTTP endpoint (`EVBOT_HTTP_PORT`, off by default): probes and /metrics.

`/healthz` (liveness) answers 200 `{"status": "ok", ...}` when the process
does its work, and 503 `{"status": "fail", "reason": "..."}` when not: the
database does not answer, the scheduler stopped, or (`stale_reasons`) the
leader's Telegram long poll has not completed for a while, a due alert has
waited too long in the leader's outbox, or no feed poll succeeded anywhere
for a while. Docker's HEALTHCHECK and orchestrators restart such a process.
`/readyz` (readiness) is separate: 200 once the schema is migrated, the
catalog synced and the replica knows whether it leads, 503 before.

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
from collections.abc import Awaitable, Callable, Sequence
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


@dataclass(frozen=True)
class Staleness:
    """Seconds since each thing last went well (None: does not apply here), and the limits."""

    telegram_poll: float | None
    outbox_overdue: float | None
    feeds: float | None
    telegram_limit: float
    outbox_limit: float
    feeds_limit: float

    def details(self) -> dict[str, Any]:
        """The ages as /healthz shows them (rounded seconds)."""
        ages = {
            "telegram_poll_age": self.telegram_poll,
            "outbox_overdue": self.outbox_overdue,
            "feeds_success_age": self.feeds,
        }
        return {k: round(v, 1) for k, v in ages.items() if v is not None}


def stale_reasons(age: Staleness) -> list[str]:
    """Why the process is not doing its work, one line per problem (empty: it is)."""
    reasons = []
    if age.telegram_poll is not None and age.telegram_poll > age.telegram_limit:
        reasons.append(
            f"telegram: no getUpdates completed for {age.telegram_poll:.0f} s "
            f"(limit {age.telegram_limit:g} s)"
        )
    if age.outbox_overdue is not None and age.outbox_overdue > age.outbox_limit:
        reasons.append(
            f"delivery: a due alert has waited {age.outbox_overdue:.0f} s "
            f"(limit {age.outbox_limit:g} s)"
        )
    if age.feeds is not None and age.feeds > age.feeds_limit:
        reasons.append(
            f"feeds: no poll succeeded for {age.feeds:.0f} s (limit {age.feeds_limit:g} s)"
        )
    return reasons


HealthCallback = Callable[[], Awaitable[Health]]
RefreshCallback = Callable[[], Awaitable[None]]
# (method, path, handler): extra routes from the service, e.g. WebSub callbacks.
Route = tuple[str, str, Callable[["web.Request"], Awaitable["web.StreamResponse"]]]
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
        routes: Sequence[Route] = (),
        ready: HealthCallback | None = None,
        mount: RoutesCallback | None = None,
        metrics_port: int | None = None,
    ) -> None:
        self.health = health
        self.routes = list(routes)
        self.ready = ready
        self.mount = mount
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
        app.router.add_get("/readyz", self._readyz)
        if self.requested_metrics_port is None:
            app.router.add_get("/metrics", self._metrics)
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)
        if self.mount is not None:
            self.mount(app)
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
                "health and metrics on http://%s:%d (/healthz, /readyz, /metrics)",
                self.host,
                self.port,
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
            "health on http://%s:%d/healthz and /readyz, metrics on http://%s:%d/metrics",
            self.host,
            self.port,
            self.host,
            self.metrics_port,
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
        return await self._probe(self.health)

    async def _readyz(self, request: web.Request) -> web.Response:
        return await self._probe(self.ready or self.health)

    async def _probe(self, check: HealthCallback) -> web.Response:
        try:
            health = await check()
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
