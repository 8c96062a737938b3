"""The composition root: wires feeds, rules, storage, scheduler, delivery and Telegram.

One event loop holds everything: the ingest loop (`Ingestor.run`) polls each
feed at its own due time, the APScheduler `AsyncIOScheduler` runs the reload,
retention and leadership jobs, the delivery worker is a task woken when alerts are
queued, and python-telegram-bot's Application (bot.service.telegram) takes
updates beside them, by long polling or through the webhook.
`--console` mode runs the same pipeline with a console chat instead of Telegram.

This module owns the life cycle: start, leadership (lead, step down), reloads,
retention and stop. Health answers are in bot.service.probes.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock, SystemClock
from bot.delivery.alerts import AlertRenderer
from bot.delivery.pacing import Pacer, SendGate
from bot.delivery.worker import DeliveryWorker, FailureKind, Sender
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.ingest.poll import Ingestor
from bot.ingest.reloader import ReloadingFile
from bot.ingest.websub import WebSubManager
from bot.ops.http_server import Health, HttpServer, RoutesCallback
from bot.ops.masking import mask_url
from bot.ops.metrics import Metrics
from bot.service import probes
from bot.service.support import (
    CONSOLE_CHAT_ID,
    ConsoleSender,
    ServiceOptions,
    StartupError,
    catalog_rows,
    first_lines,
    reason,
)
from bot.service.telegram import TelegramLink
from bot.settings import Settings
from bot.storage import Storage
from bot.storage.leader import LeaderLease
from bot.telegram_app.context import AnyApplication, Services
from bot.telegram_app.sender import TelegramSender
from bot.telegram_app.throttle import CommandThrottle
from feeds.catalog import DEFAULT_CATALOG_PATH, load_catalog
from feeds.fetch import build_client
from rules import DEFAULT_RULES_PATH, RuleSet, load_rules

log = logging.getLogger(__name__)


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
        self._stopped = False
        self.rules = ReloadingFile(
            Path(settings.rules_file or DEFAULT_RULES_PATH), load_rules, what="rules"
        )
        self.catalog = ReloadingFile(
            Path(settings.feeds_file or DEFAULT_CATALOG_PATH), load_catalog, what="feed catalog"
        )
        self.storage: Storage | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.worker: DeliveryWorker | None = None
        self.ingestor: Ingestor | None = None
        self.leader_lock: LeaderLease | None = None
        self._worker_stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._ingest_stop = asyncio.Event()
        self._ingest_task: asyncio.Task[None] | None = None
        self.websub: WebSubManager | None = None
        self._websub_task: asyncio.Task[None] | None = None
        self.metrics = Metrics()
        self.throttle = CommandThrottle()
        self.http: HttpServer | None = None
        self._client = build_client(per_host=max(4, settings.fetch_per_host))
        # Set when the service stopped itself because it cannot go on (e.g. a rejected token).
        self.fatal: StartupError | None = None
        # Readiness (/readyz) and liveness (/healthz) bookkeeping, on the monotonic clock.
        self.monotonic: Callable[[], float] = time.monotonic
        self.started_at = self.clock.now()
        self.catalog_synced = False
        self.role_known = False
        self.leading_since: float | None = None
        self.telegram = TelegramLink(
            settings,
            may_act=self.can_act,
            metrics=self.metrics,
            monotonic=lambda: self.monotonic(),
            poll_timeout=self.options.telegram_poll_timeout,
        )

    @property
    def application(self) -> AnyApplication | None:
        """The python-telegram-bot Application while this replica leads Telegram."""
        return self.telegram.application

    def current_rules(self) -> RuleSet:
        """The rules in force (hot-reloaded)."""
        return self.rules.value

    async def start(self) -> None:
        """Open the database, sync the catalog, start polling; lead if no other replica does."""
        settings = self.settings
        self.storage = storage = await self._open_storage()
        await storage.sync_catalog(catalog_rows(self.catalog.value))
        if settings.public_url is not None:
            self.websub = WebSubManager(
                storage,
                self._client,
                self.clock,
                public_url=settings.public_url,
                poll_soon=self._poll_soon,
            )
        self.catalog_synced = True
        self.metrics.known_labels(
            categories=[c.id for c in self.current_rules().categories],
            failure_kinds=[kind.value for kind in FailureKind],
        )
        http_port = (
            self.options.http_port if self.options.http_port is not None else settings.http_port
        )
        if http_port is not None:
            await self._start_http(http_port)
        self.leader_lock = LeaderLease(storage.engine, ttl=settings.leader_lease_seconds)
        heartbeat = self.options.leader_seconds or settings.leader_lease_seconds / 5
        self.ingestor = Ingestor(
            storage,
            self._client,
            self.current_rules,
            self.clock,
            default_interval=settings.poll_interval,
            min_interval=settings.min_poll_interval,
            max_interval=settings.max_poll_interval,
            max_bytes=settings.max_feed_bytes,
            on_alerts=self._wake_delivery,
            metrics=self.metrics,
            default_timezone=settings.timezone,
            concurrency=settings.fetch_concurrency,
            per_host=settings.fetch_per_host,
            tick_seconds=self.options.tick_seconds,
            on_parsed=self.websub.on_parsed if self.websub is not None else None,
        )
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # APScheduler runs on real time whatever the service's clock says (tests use
        # a fake one): a fake "now" in the past would make it replay every missed tick.
        real_now = datetime.now(UTC)
        jobs: list[tuple[str, Callable[[], Awaitable[object]], float, bool]] = [
            ("reload", self.reload_files, self.options.reload_seconds, False),
            ("retention", self.prune, 6 * 3600.0, True),
            ("leader", self._leadership_job, heartbeat, False),
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
        self.role_known = True
        self.scheduler.start()
        # Feeds are polled by their own loop, not a scheduler job: each feed on its
        # own clock, and stopping cancels fetches in flight without a traceback.
        self._ingest_stop = asyncio.Event()
        self._ingest_task = asyncio.create_task(
            self.ingestor.run(self._ingest_stop), name="ingest loop"
        )
        if self.websub is not None:
            self._websub_task = asyncio.create_task(
                self.websub.run(self._ingest_stop), name="websub renewal"
            )
        log.info(
            "evbot started: %d feeds in catalog, %s, database %s, %s",
            len(self.catalog.value),
            "console mode"
            if self.options.console
            else ("Telegram webhook" if self.telegram.webhook else "Telegram long polling"),
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
                f"EVBOT_DATABASE_URL: cannot open the database {mask_url(url)}: {reason(error)}"
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

    def can_act(self) -> bool:
        """May this replica send to Telegram now? (Its leader lease is still trusted.)"""
        return self.leader_lock is not None and self.leader_lock.can_act()

    async def check_leadership(self) -> None:
        """Renew our lease as leader, step down when it is lost; take over an expired one."""
        if self.stop_event.is_set() or self.leader_lock is None:
            return
        if self.leading:
            if not await self.leader_lock.check():
                log.error("lost the leader lease: stopping delivery and Telegram in this replica")
                await self._step_down()
                self.metrics.leading(False)
            elif self.worker is not None and all(task.done() for task in self._tasks):
                # The worker fenced itself off while the lease looked expired (a stall
                # longer than the lease), yet nobody took over: it is still ours.
                log.warning("leader lease renewed after a stall: delivery resumes")
                self._start_worker(self.worker.sender)
            return
        if await self.leader_lock.try_acquire():
            log.info("this replica is now the leader: delivering alerts")
            self.leading_since = self.monotonic()
            await self._lead()
            self.metrics.leading(True)
        else:
            self.metrics.leading(False)

    async def _lead(self) -> None:
        storage = self.storage
        assert storage is not None
        settings = self.settings
        sender: Sender
        # One budget for everything this replica sends: replies first, then alerts.
        pacer = Pacer(rate_per_second=settings.send_rate, clock=time.monotonic)
        if self.options.group_interval is not None:
            pacer.group_interval = self.options.group_interval
        self._gate = gate = SendGate(pacer)
        if self.options.console:
            await self._ensure_console_chat(storage)
            sender = ConsoleSender(self.options.console_out)
        else:
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
            await storage.deactivate_chat(CONSOLE_CHAT_ID, "console mode off", self.clock.now())
            application = await self.telegram.start(svc, gate)
            sender = TelegramSender(application.bot, paid_broadcast=settings.paid_broadcast)
        self._start_worker(sender)

    def _start_worker(self, sender: Sender) -> None:
        assert self.storage is not None
        self.worker = DeliveryWorker(
            self.storage,
            sender,
            AlertRenderer(
                self.current_rules,
                ZoneInfo(self.settings.timezone),
                self.settings.admin_ids,
            ),
            self.clock,
            metrics=self.metrics,
            may_send=self.can_act,
            gate=self._gate,
            max_in_flight=self.settings.max_in_flight,
            bundle_over=self.settings.bundle_over,
            paid_broadcast=self.settings.paid_broadcast and not self.options.console,
        )
        self._worker_stop = asyncio.Event()
        self._tasks = [asyncio.create_task(self.worker.run(self._worker_stop))]

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
        await self.telegram.stop()

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
            routes=[
                *(self.websub.routes() if self.websub is not None else ()),
                *self.telegram.routes(),
            ],
            ready=self.ready,
            mount=self._archive_routes(),
            metrics_port=self.settings.metrics_port,
        )
        try:
            await self.http.start()
        except OSError as error:
            self.http = None
            why = error.strerror or reason(error)
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
        """Liveness (/healthz); see bot.service.probes."""
        return await probes.health(self)

    def role(self) -> str:
        """'leader', 'standby', or 'unknown' before the first election."""
        return probes.role(self)

    async def ready(self) -> Health:
        """Readiness (/readyz); see bot.service.probes."""
        return await probes.ready(self)

    def ingest_running(self) -> bool:
        """Whether the ingest loop runs (part of liveness)."""
        return self._ingest_task is not None and not self._ingest_task.done()

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
            await self.storage.sync_catalog(catalog_rows(self.catalog.value))
        return outcomes

    async def reload_files(self) -> None:
        """Pick up edits of the rules file and the feed catalog; tell admins about bad ones."""
        rules = await asyncio.to_thread(self.rules.check)
        catalog = await asyncio.to_thread(self.catalog.check)
        if catalog.changed and self.storage is not None:
            await self.storage.sync_catalog(catalog_rows(self.catalog.value))
        for source, result in ((self.rules, rules), (self.catalog, catalog)):
            if result.error is not None:
                await self._tell_admins(
                    t(
                        DEFAULT_LANGUAGE,
                        "file_invalid_notice",
                        what=html.escape(source.what),
                        path=html.escape(str(source.path)),
                        error=html.escape(first_lines(result.error, 15)),
                    )
                )

    async def _tell_admins(self, text: str) -> None:
        if self.storage is None or not self.settings.admin_ids:
            return
        queued = await self.storage.enqueue_notice(self.settings.admin_ids, text, self.clock.now())
        if queued:
            self._wake_delivery()

    async def stop(self) -> None:
        """Stop in the reverse order of start; in-flight sends finish first. Once only."""
        if self._stopped:
            return
        self._stopped = True
        self.stop_event.set()
        if self.http is not None:
            await self.http.stop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self._stop_ingest()
        await self._step_down()
        if self.ingestor is not None:
            self.ingestor.classifier.close()
        if self.leader_lock is not None:
            await self.leader_lock.release()
        await self._client.aclose()
        if self.storage is not None:
            await self.storage.close()

    async def _poll_soon(self, feed_id: str) -> bool:
        """A WebSub push: poll the feed now."""
        if self.ingestor is None:
            return False
        return await self.ingestor.poll_soon(feed_id)

    async def _stop_ingest(self) -> None:
        """End the ingest loop, then cancel the fetches in flight (their leases released)."""
        self._ingest_stop.set()
        for task in (self._ingest_task, self._websub_task):
            if task is not None:
                try:
                    await asyncio.wait_for(task, timeout=10)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
        self._ingest_task = self._websub_task = None
        if self.websub is not None:
            await self.websub.close()
        if self.ingestor is not None:
            await self.ingestor.close()

    async def run_until_stopped(self) -> None:
        """Start, wait for the stop event, stop (also after a failed start: nothing left open)."""
        try:
            await self.start()
            await self.stop_event.wait()
        finally:
            await self.stop()
