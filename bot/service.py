"""The composition root: wires feeds, rules, storage, scheduler, delivery and Telegram.

One event loop holds everything: the APScheduler `AsyncIOScheduler` runs the
poll and reload jobs, the delivery worker is a task woken when alerts are
queued, and python-telegram-bot's Application polls for updates beside them.
`--console` mode runs the same pipeline with a console chat instead of Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.clock import Clock, SystemClock
from bot.delivery.alerts import AlertRenderer
from bot.delivery.render import RenderedMessage
from bot.delivery.worker import DeliveryWorker, Sender
from bot.ingest.poll import Ingestor
from bot.ingest.reloader import ReloadingFile
from bot.models import CatalogFeed
from bot.ops.http_server import Health, HttpServer, RoutesCallback, check_health
from bot.ops.masking import mask_url
from bot.ops.metrics import Metrics
from bot.settings import Settings
from bot.storage import Storage
from bot.storage.leader import LeaderLock
from bot.telegram_app.app import build_application, start_application, stop_application
from bot.telegram_app.context import AnyApplication, Services
from bot.telegram_app.sender import TelegramSender
from bot.telegram_app.throttle import CommandThrottle
from feeds.catalog import DEFAULT_CATALOG_PATH, FeedSpec, load_catalog
from feeds.fetch import build_client
from rules import DEFAULT_RULES_PATH, RuleSet, load_rules

log = logging.getLogger(__name__)

CONSOLE_CHAT_ID = 0


class ConsoleSender:
    """Prints alerts instead of sending them (`evbot run --console`, `evbot demo`)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.count = 0

    async def send(self, chat_id: int, message: RenderedMessage) -> int | None:
        """Print the plain-text form of the message."""
        self.count += 1
        rule = "─" * 60
        print(f"{rule}\n{message.plain}\n", file=self.out, flush=True)
        return self.count


def _first_lines(text: str, count: int) -> str:
    lines = text.splitlines()
    more = f"\n… {len(lines) - count} more" if len(lines) > count else ""
    return "\n".join(lines[:count]) + more


def _catalog_rows(specs: list[FeedSpec]) -> list[CatalogFeed]:
    return [CatalogFeed(s.id, s.name, s.url, s.language, s.interval, s.enabled) for s in specs]


@dataclass
class ServiceOptions:
    """Knobs tests and the demo turn; production uses the defaults."""

    console: bool = False
    console_out: TextIO | None = None
    tick_seconds: float = 1.0
    reload_seconds: float = 5.0
    telegram_poll_timeout: int = 10
    # How often a standby replica tries to take over (a dead leader is replaced within this).
    leader_seconds: float = 5.0
    # Where /healthz and /metrics listen when EVBOT_HTTP_PORT is set; None: EVBOT_HTTP_HOST.
    http_host: str | None = None
    # Overrides EVBOT_HTTP_PORT (0: any free port; the demo serves its archive there).
    http_port: int | None = None


class StartupError(Exception):
    """The service cannot start for a reason the operator must fix; one line says which."""


def _reason(error: BaseException) -> str:
    """An exception's own first line, without SQLAlchemy's wrapper text, credentials masked."""
    inner = getattr(error, "orig", None) or error
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(inner, socket.gaierror):
        return f"host name not found ({inner.strerror})"
    if isinstance(inner, TimeoutError):
        return "no answer (timed out)"
    lines = str(inner).strip().splitlines()
    text = lines[0] if lines else type(inner).__name__
    if text.startswith("(") and ") " in text:  # "(sqlite3.OperationalError) unable to open…"
        text = text.split(") ", 1)[1]
    return mask_url(text[:300])


class Service:
    """The whole evbot process."""

    def __init__(
        self,
        settings: Settings,
        *,
        options: ServiceOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or ServiceOptions()
        self.clock = clock or SystemClock()
        self.stop_event = asyncio.Event()
        self.rules = ReloadingFile(
            Path(settings.rules_file or DEFAULT_RULES_PATH), load_rules, what="rules"
        )
        self.catalog = ReloadingFile(
            Path(settings.feeds_file or DEFAULT_CATALOG_PATH), load_catalog, what="feed catalog"
        )
        self.storage: Storage | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.application: AnyApplication | None = None
        self.worker: DeliveryWorker | None = None
        self.ingestor: Ingestor | None = None
        self.leader_lock: LeaderLock | None = None
        self._worker_stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics = Metrics()
        self.throttle = CommandThrottle()
        self.http: HttpServer | None = None
        self._client = build_client()
        # Set when the service stopped itself because it cannot go on (e.g. a rejected token).
        self.fatal: StartupError | None = None

    def current_rules(self) -> RuleSet:
        """The rules in force (hot-reloaded)."""
        return self.rules.value

    async def start(self) -> None:
        """Open the database, sync the catalog, start polling; lead if no other replica does."""
        settings = self.settings
        self.storage = storage = await self._open_storage()
        await storage.sync_catalog(_catalog_rows(self.catalog.value))
        http_port = self.options.http_port if self.options.http_port is not None else (
            settings.http_port
        )
        if http_port is not None:
            await self._start_http(http_port)
        self.leader_lock = LeaderLock(storage.engine)
        self.ingestor = Ingestor(
            storage,
            self._client,
            self.current_rules,
            self.clock,
            default_interval=settings.poll_interval,
            max_bytes=settings.max_feed_bytes,
            on_alerts=self._wake_delivery,
            metrics=self.metrics,
            default_timezone=settings.timezone,
        )
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # APScheduler runs on real time whatever the service's clock says (tests use
        # a fake one): a fake "now" in the past would make it replay every missed tick.
        real_now = datetime.now(UTC)
        jobs: list[tuple[str, Callable[[], Awaitable[object]], float, bool]] = [
            ("poll", self.ingestor.poll_due, self.options.tick_seconds, True),
            ("reload", self.reload_files, self.options.reload_seconds, False),
            ("retention", self.prune, 6 * 3600.0, True),
            ("leader", self._leadership_job, self.options.leader_seconds, False),
        ]
        for job_id, func, seconds, at_once in jobs:
            # One run at a time; a run that outlasts its interval skips, never piles up.
            self.scheduler.add_job(
                func,
                "interval",
                seconds=seconds,
                id=job_id,
                max_instances=1,
                coalesce=True,
                **({"next_run_time": real_now} if at_once else {}),
            )
        # Lead (connect to Telegram) before the jobs run: a rejected token then stops
        # start-up cleanly, with no poll or prune half-way through a query.
        await self.check_leadership()
        self.scheduler.start()
        log.info(
            "evbot started: %d feeds in catalog, %s, database %s, %s",
            len(self.catalog.value),
            "console mode" if self.options.console else "Telegram",
            storage.dialect,
            "leader" if self.leading else "standby (another replica delivers)",
        )

    async def _open_storage(self) -> Storage:
        url = self.settings.database_url
        try:
            return await Storage.open(url)
        except Exception as error:
            log.debug("opening the database failed", exc_info=True)
            raise StartupError(
                f"EVBOT_DATABASE_URL: cannot open the database {mask_url(url)}: {_reason(error)}"
            ) from error

    async def _leadership_job(self) -> None:
        """The scheduler's leadership check: a fatal problem stops the service (exit 2)."""
        try:
            await self.check_leadership()
        except StartupError as error:
            log.critical("%s", error)
            self.fatal = error
            self.stop_event.set()

    @property
    def leading(self) -> bool:
        """Whether this replica delivers alerts and answers Telegram."""
        return self.worker is not None

    async def check_leadership(self) -> None:
        """Take over delivery when the leader is gone; step down when our lock is lost."""
        if self.stop_event.is_set() or self.leader_lock is None:
            return
        if self.leading:
            if not await self.leader_lock.check():
                log.error("lost the leader lock: stopping delivery and Telegram in this replica")
                await self._step_down()
            return
        if await self.leader_lock.try_acquire():
            log.info("this replica is now the leader: delivering alerts")
            await self._lead()

    async def _lead(self) -> None:
        storage = self.storage
        assert storage is not None
        settings = self.settings
        sender: Sender
        if self.options.console:
            await self._ensure_console_chat(storage)
            sender = ConsoleSender(self.options.console_out)
        else:
            assert settings.telegram_token is not None
            svc = Services(
                storage=storage,
                rules=self.current_rules,
                clock=self.clock,
                admin_ids=settings.admin_ids,
                reload=self.reload_now,
                wake_delivery=self._wake_delivery,
                default_timezone=settings.timezone,
                throttle=self.throttle,
            )
            self.application = build_application(
                settings.telegram_token.get_secret_value(), settings.telegram_api_url, svc
            )
            await storage.deactivate_chat(CONSOLE_CHAT_ID, "console mode off", self.clock.now())
            await self._start_telegram(self.application)
            sender = TelegramSender(self.application.bot)
        self.worker = DeliveryWorker(
            storage,
            sender,
            AlertRenderer(self.current_rules, ZoneInfo(settings.timezone)),
            self.clock,
            rate_per_second=settings.send_rate,
            metrics=self.metrics,
        )
        self._worker_stop = asyncio.Event()
        self._tasks.append(asyncio.create_task(self.worker.run(self._worker_stop)))

    async def _start_telegram(self, application: AnyApplication) -> None:
        try:
            await start_application(application, poll_timeout=self.options.telegram_poll_timeout)
        except InvalidToken as error:
            raise StartupError(
                "EVBOT_TELEGRAM_TOKEN: Telegram rejected the token (401 Unauthorized): "
                "check it with @BotFather"
            ) from error
        except (NetworkError, TimedOut) as error:
            raise StartupError(
                f"EVBOT_TELEGRAM_API_URL: the Bot API at {self.settings.telegram_api_url} "
                f"did not answer: {_reason(error)}"
            ) from error

    async def _step_down(self) -> None:
        """Stop leader duties, letting the send in flight finish."""
        self._worker_stop.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        self.worker = None
        if self.application is not None:
            await stop_application(self.application)
            self.application = None

    async def prune(self) -> None:
        """Retention: old stories go, their identities stay as tombstones for a year."""
        if self.storage is None:
            return
        now = self.clock.now()
        stories, tombstones = await self.storage.prune(
            items_before=now - timedelta(days=self.settings.retention_days),
            tombstones_before=now - timedelta(days=max(365, 4 * self.settings.retention_days)),
        )
        if stories or tombstones:
            log.info("retention: %d old stories and %d tombstones removed", stories, tombstones)

    async def _start_http(self, port: int) -> None:
        # Up before Telegram and the scheduler so a slow start shows as 503, not as no answer.
        host = self.options.http_host or self.settings.http_host
        self.http = HttpServer(
            health=self.health,
            metrics=self.metrics,
            port=port,
            host=host,
            before_scrape=self._refresh_gauges,
            routes=self._archive_routes(),
            metrics_port=self.settings.metrics_port,
        )
        try:
            await self.http.start()
        except OSError as error:
            self.http = None
            why = error.strerror or _reason(error)
            raise StartupError(
                f"EVBOT_HTTP_PORT: cannot listen on {host}:{port}: {why} "
                "(another process has the port? set EVBOT_HTTP_PORT or EVBOT_HTTP_HOST)"
            ) from error

    def _archive_routes(self) -> RoutesCallback | None:
        """The public archive's routes (EVBOT_ARCHIVE), over the storage already open."""
        if not self.settings.archive or self.storage is None:
            return None
        from bot.web.site import ArchiveSite  # Jinja2 is loaded only when the archive is on

        site = ArchiveSite(
            self.storage,
            self.current_rules,
            timezone=self.settings.timezone,
            bot_username=self.bot_username,
            public_url=self.settings.archive_url,
        )
        return site.add_routes

    def bot_username(self) -> str | None:
        """The bot's @username: from getMe while leading, else EVBOT_BOT_USERNAME."""
        if self.application is not None and self.application.bot.username:
            return str(self.application.bot.username)
        return self.settings.bot_username

    async def health(self) -> Health:
        """Healthy when the database answers and the scheduler runs (for /healthz)."""
        running = self.scheduler is not None and bool(self.scheduler.running)
        return await check_health(self.storage, scheduler_running=running)

    async def _refresh_gauges(self) -> None:
        if self.storage is not None:
            await self.metrics.refresh_from_storage(self.storage, self.clock.now())

    async def _ensure_console_chat(self, storage: Storage) -> None:
        now = self.clock.now()
        await storage.ensure_chat(
            CONSOLE_CHAT_ID, type="console", title="console", language="en", now=now
        )
        await storage.update_chat(CONSOLE_CHAT_ID, now, active=True, paused=False)
        await storage.set_subscriptions(
            CONSOLE_CHAT_ID, (c.id for c in self.current_rules().categories)
        )

    def _wake_delivery(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def reload_now(self) -> list[tuple[str, str | None]]:
        """Reload the rules and the feed catalog at once (admin /reload): (what, error) each."""
        outcomes: list[tuple[str, str | None]] = []
        for source in (self.rules, self.catalog):
            # Compiling rules is CPU work: a worker thread, so replies and alerts go on.
            result = await asyncio.to_thread(source.force)
            outcomes.append((source.what, result.error))
        if self.catalog.last_error is None and self.storage is not None:
            await self.storage.sync_catalog(_catalog_rows(self.catalog.value))
        return outcomes

    async def reload_files(self) -> None:
        """Pick up edits of the rules file and the feed catalog; tell admins about bad ones."""
        rules = await asyncio.to_thread(self.rules.check)
        catalog = await asyncio.to_thread(self.catalog.check)
        if catalog.changed and self.storage is not None:
            await self.storage.sync_catalog(_catalog_rows(self.catalog.value))
        for source, result in ((self.rules, rules), (self.catalog, catalog)):
            if result.error is not None:
                await self._tell_admins(
                    f"⚠️ evbot: the {source.what} file {source.path} is invalid; "
                    f"the previous version stays in force.\n{_first_lines(result.error, 15)}"
                )

    async def _tell_admins(self, text: str) -> None:
        if self.storage is None or not self.settings.admin_ids:
            return
        queued = await self.storage.enqueue_notice(self.settings.admin_ids, text, self.clock.now())
        if queued:
            self._wake_delivery()

    async def stop(self) -> None:
        """Stop in the reverse order of start; in-flight sends finish first."""
        self.stop_event.set()
        if self.http is not None:
            await self.http.stop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self._step_down()
        if self.ingestor is not None:
            self.ingestor.classifier.close()
        if self.leader_lock is not None:
            await self.leader_lock.release()
        await self._client.aclose()
        if self.storage is not None:
            await self.storage.close()

    async def run_until_stopped(self) -> None:
        """Start, wait for the stop event, stop (also after a failed start: nothing left open)."""
        try:
            await self.start()
            await self.stop_event.wait()
        finally:
            await self.stop()
