"""The poll job: due feeds → fetch and parse (feeds) → decide → classify (rules) → store.

Every feed is polled on its own: the loop (`Ingestor.run`) claims the feeds
that are due (a lease in the database, so no other replica takes them; see
`Storage.claim_due_feeds`) and starts one task per feed. A task waits for its
host's slot and a global one (`feeds.poller.Limiter`), fetches and parses,
then hands the outcome to `bot.ingest.outcome.OutcomeWriter`, which decides,
classifies and stores that feed's stories in one transaction, and wakes the
delivery worker (`on_alerts`) the moment that committed. A slow, hanging or
broken feed holds only its own slot; nothing waits for the slowest feed of a
"pass". The loop sleeps until the next feed is due (at most
`tick_seconds`, so edits by other replicas are seen), or until woken.

This module owns the loop: claims, tasks, passes, shutdown. What a poll
becomes in the database is `bot.ingest.outcome`'s; every decision lives in
`feeds` (what is new, when to poll next) or `rules` (what it is about).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from datetime import timedelta

import httpx

from bot.clock import Clock
from bot.delivery.times import DEFAULT_TIMEZONE
from bot.ingest.classify import BudgetedClassifier
from bot.ingest.outcome import OutcomeWriter, PollReport
from bot.models import FeedRow
from bot.ops.metrics import Metrics
from bot.storage import Storage
from feeds.fetch import Validators
from feeds.hints import FeedHints
from feeds.poller import Limiter, PollRequest, crashed, poll_one
from rules import RuleSet

__all__ = ["FETCH_TIMEOUT", "LEASE", "Ingestor"]

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 60.0
# Longer than a fetch may take (FETCH_TIMEOUT) plus parsing and storing, with room
# for waiting on a busy host's slot: a live replica's feed is never taken over.
LEASE = timedelta(minutes=10)
# Below this the loop does not sleep: a due feed another replica holds in a lock.
_MIN_IDLE = 0.02


ParsedHook = Callable[[FeedRow, FeedHints], None]


class Ingestor:
    """Polls due feeds, each on its own, and stores what is new."""

    def __init__(
        self,
        storage: Storage,
        client: httpx.AsyncClient,
        rules: Callable[[], RuleSet],
        clock: Clock,
        *,
        default_interval: int,
        max_bytes: int,
        rng: random.Random | None = None,
        on_alerts: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
        default_timezone: str = DEFAULT_TIMEZONE,
        classifier: BudgetedClassifier | None = None,
        min_interval: int | None = None,
        max_interval: int | None = None,
        concurrency: int = 20,
        per_host: int = 2,
        fetch_timeout: float = FETCH_TIMEOUT,
        tick_seconds: float = 1.0,
        lease: timedelta = LEASE,
        on_parsed: ParsedHook | None = None,
    ) -> None:
        self.storage = storage
        self.client = client
        self.clock = clock
        self.max_bytes = max_bytes
        self.on_alerts = on_alerts
        self.on_parsed = on_parsed
        self.metrics = metrics
        self.classifier = classifier or BudgetedClassifier()
        # Writes of this process, one at a time (see OutcomeWriter); on SQLite the
        # loop's claims take the same lock.
        self._commit_lock = asyncio.Lock()
        self.writer = OutcomeWriter(
            storage,
            rules,
            clock,
            commit_lock=self._commit_lock,
            classifier=self.classifier,
            default_interval=default_interval,
            min_interval=min_interval,
            max_interval=max_interval,
            rng=rng or random.Random(),
            metrics=metrics,
            default_timezone=default_timezone,
        )
        self.limiter = Limiter(concurrency, per_host)
        self.fetch_timeout = fetch_timeout
        self.tick_seconds = tick_seconds
        self.lease = lease
        # Claimed feeds waiting for a slot count too: enough to keep every slot busy
        # while one host's feeds queue behind each other.
        self.max_in_flight = max(100, 10 * concurrency)
        self._in_flight: dict[str, asyncio.Task[PollReport]] = {}
        self._storing: set[str] = set()
        self._again: set[str] = set()  # pushed while in flight: poll once more
        self._wake = asyncio.Event()
        self._saturated = False
        self._sqlite = storage.dialect == "sqlite"
        # Passes: `passes` counts ticks whose claimed feeds are all done, in order.
        self.passes = 0
        self._ticks = 0
        self._open_ticks: dict[int, int] = {}
        self._pass_event = asyncio.Event()

    # -- passes (what tests and `evbot` wait on) --------------------------------------
    def _open_tick(self) -> int:
        self._ticks += 1
        self._open_ticks[self._ticks] = 1  # the claim itself
        return self._ticks

    def _close(self, tick: int) -> None:
        left = self._open_ticks[tick] - 1
        if left:
            self._open_ticks[tick] = left
            return
        del self._open_ticks[tick]
        advanced = False
        while self.passes < self._ticks and self.passes + 1 not in self._open_ticks:
            self.passes += 1
            advanced = True
        if advanced:
            self._pass_event.set()
            self._pass_event = asyncio.Event()

    async def wait_for_pass(self, after: int, within: float = 10.0) -> int:
        """Wait until pass number `after` + 1 has finished; returns the count.

        A pass is one tick of the loop (or one `poll_due`): it has finished when
        every feed it claimed has been stored. Passes finish in order, so a
        hanging feed holds the count (never the other feeds' work).
        """
        async with asyncio.timeout(within):
            while self.passes <= after:
                await self._pass_event.wait()
        return self.passes

    # -- the loop -------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Poll every feed at its due time until `stop` is set (then call `close`)."""
        while not stop.is_set():
            self._wake.clear()
            idle = self.tick_seconds
            try:
                await self._claim_and_start()
                idle = await self._idle_seconds()
            except Exception:
                # The database is away: try again next tick, the feeds are not lost.
                log.warning("claiming due feeds failed", exc_info=True)
            if stop.is_set() or self._wake.is_set():
                continue
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waits, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def settled(self, feed_id: str) -> None:
        """Wait until the feed's poll in flight (if any) is stored."""
        task = self._in_flight.get(feed_id)
        if task is not None:
            await asyncio.wait([task])

    def wake(self) -> None:
        """Look for due feeds now (a feed was made due, a slot came free)."""
        self._wake.set()

    async def poll_soon(self, feed_id: str) -> bool:
        """Poll a feed as soon as possible (a WebSub push); False if no such feed."""
        if feed_id in self._in_flight:
            self._again.add(feed_id)  # the poll in flight may have missed it
            return True
        found = await self.storage.poll_now(feed_id, self.clock.now())
        if found:
            self.wake()
        return found

    async def _claim_and_start(self) -> list[asyncio.Task[PollReport]]:
        tick = self._open_tick()
        try:
            room = self.max_in_flight - len(self._in_flight)
            # On SQLite the claim is a write too: queued with ours, not in its busy loop.
            async with self._commit_lock if self._sqlite else contextlib.nullcontext():
                feeds = await self.storage.claim_due_feeds(
                    self.clock.now(),
                    lease=self.lease,
                    limit=min(room, 100),
                    exclude=set(self._in_flight),
                )
            self._saturated = len(feeds) == min(room, 100)
            return [self._start(feed, tick) for feed in feeds]
        finally:
            self._close(tick)

    async def _idle_seconds(self) -> float:
        """Until the next feed is due, at most a tick."""
        if self._saturated:
            return self.tick_seconds  # woken as soon as a slot comes free
        now = self.clock.now()
        due = await self.storage.next_poll_time(now, exclude=set(self._in_flight))
        if due is None:
            return self.tick_seconds
        return min(max((due - now).total_seconds(), _MIN_IDLE), self.tick_seconds)

    def _start(self, feed: FeedRow, tick: int | None) -> asyncio.Task[PollReport]:
        task = asyncio.create_task(self._poll_feed(feed), name=f"poll {feed.id}")
        self._in_flight[feed.id] = task
        if tick is not None:
            self._open_ticks[tick] += 1

        def finished(done: asyncio.Task[PollReport]) -> None:
            self._in_flight.pop(feed.id, None)
            if tick is not None:
                self._close(tick)
            if self._saturated:
                self.wake()
            if not done.cancelled() and done.exception() is not None:
                log.error("polling feed %s failed", feed.id, exc_info=done.exception())

        task.add_done_callback(finished)
        return task

    async def close(self, grace: float = 5.0) -> None:
        """Stop polling: fetches are cancelled, a store under way may finish within `grace`.

        Feeds whose poll was abandoned get their lease back, so the next start
        (or another replica) polls them at once instead of after the lease.
        """
        tasks = dict(self._in_flight)
        for feed_id, task in tasks.items():
            if feed_id not in self._storing:
                task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks.values(), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        abandoned = [feed_id for feed_id, task in tasks.items() if task.cancelled()]
        if abandoned:
            try:
                async with asyncio.timeout(grace):
                    await self.storage.release_leases(abandoned)
            except Exception:
                log.warning("could not release the leases of %d feeds", len(abandoned))
        if abandoned:
            log.info("stopped: %d feed polls in flight were abandoned", len(abandoned))

    # -- one pass, awaited (tests, `evbot` tools) ---------------------------------------
    async def poll_due(self) -> PollReport:
        """Poll every feed that is due now and wait until all are stored (one pass)."""
        tasks = await self._claim_and_start()
        return await self._gather(tasks)

    async def poll(self, feeds: list[FeedRow]) -> PollReport:
        """Poll these (claimed) feeds, each on its own, and wait until all are stored."""
        return await self._gather([self._start(feed, None) for feed in feeds])

    async def _gather(self, tasks: Sequence[asyncio.Task[PollReport]]) -> PollReport:
        report = PollReport()
        for result in await asyncio.gather(*tasks):
            report.add(result)
        return report

    # -- one feed -------------------------------------------------------------------
    async def _poll_feed(self, feed: FeedRow) -> PollReport:
        report = PollReport(polled=1)
        request = PollRequest(
            feed_id=feed.id,
            url=feed.fetch_url,
            validators=Validators.from_json(feed.validators),
            catalog_url=feed.url,
        )
        try:
            async with self.limiter.slot(request.url):
                outcome = await poll_one(
                    self.client,
                    request,
                    max_bytes=self.max_bytes,
                    total_timeout=self.fetch_timeout,
                    now=self.clock.now,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # defensive: fetch/parse turn errors into values
            outcome = crashed(request, exc)
        self._storing.add(feed.id)
        try:
            await self.writer.apply(feed, outcome, report)
        except Exception as error:
            # One feed's storage problem must not stop the others.
            log.exception("storing feed %s failed", feed.id)
            report.errors[feed.id] = await self.writer.record_storage_failure(feed, outcome, error)
            if self.metrics is not None:
                self.metrics.feed_polled("storage_error")
                self.metrics.fetch_error("storage")
        finally:
            self._storing.discard(feed.id)
        if report.alerts_queued:
            self.on_alerts()
        if feed.id in self._again:
            self._again.discard(feed.id)
            await self.storage.poll_now(feed.id, self.clock.now())
            self.wake()
        if self.on_parsed is not None and outcome.parsed is not None:
            try:
                self.on_parsed(feed, outcome.parsed.hints)
            except Exception:
                log.warning("feed %s: hint hook failed", feed.id, exc_info=True)
        return report
