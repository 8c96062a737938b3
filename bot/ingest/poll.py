"""The poll job: due feeds → fetch and parse (feeds) → decide → classify (rules) → store.

Every feed is polled on its own: the loop (`Ingestor.run`) claims the feeds
that are due (a lease in the database, so no other replica takes them; see
`Storage.claim_due_feeds`) and starts one task per feed. A task waits for its
host's slot and a global one (`feeds.poller.Limiter`), fetches and parses,
then decides, classifies and stores that feed's stories in one transaction
and wakes the delivery worker (`on_alerts`) the moment it committed. A slow,
hanging or broken feed holds only its own slot; nothing waits for the
slowest feed of a "pass". The loop sleeps until the next feed is due (at most
`tick_seconds`, so edits by other replicas are seen), or until woken.

This module wires the pure pieces together; every decision lives in `feeds`
(what is new, when to poll next) or `rules` (what it is about).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.clock import Clock
from bot.delivery.planner import KeywordCache, StoryFacts, plan_alerts
from bot.delivery.times import DEFAULT_TIMEZONE
from bot.ingest.classify import BudgetedClassifier, NotClassified
from bot.models import FeedRow, FetchRecord, KnownStoryRow, NewItem, SeenAgain
from bot.ops.masking import mask_url
from bot.ops.metrics import Metrics
from bot.storage import Storage
from feeds.dedupe import (
    AlreadySeen,
    Decision,
    KnownStory,
    NewStory,
    SameStory,
    decide,
    recent_window_start,
)
from feeds.entries import Entry
from feeds.fetch import FetchStatus, Validators
from feeds.hints import FeedHints
from feeds.parse import ParsedFeed
from feeds.poller import Limiter, PollOutcome, PollRequest, crashed, poll_one
from feeds.schedule import (
    Bounds,
    apply_skips,
    bounds_for,
    choose_interval,
    entries_per_day,
    next_delay,
    next_due,
)
from rules import RuleSet

log = logging.getLogger(__name__)

DEDUPE_WINDOW = timedelta(hours=48)
FETCH_TIMEOUT = 60.0
# Longer than a fetch may take (FETCH_TIMEOUT) plus parsing and storing, with room
# for waiting on a busy host's slot: a live replica's feed is never taken over.
LEASE = timedelta(minutes=10)
# Below this the loop does not sleep: a due feed another replica holds in a lock.
_MIN_IDLE = 0.02


@dataclass
class PollReport:
    """What one pass of the poll job (or one feed's poll) did."""

    polled: int = 0
    new_items: int = 0
    alerts_queued: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, other: PollReport) -> None:
        """Count another report into this one."""
        self.polled += other.polled
        self.new_items += other.new_items
        self.alerts_queued += other.alerts_queued
        self.errors.update(other.errors)


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
        self.rules = rules
        self.clock = clock
        self.default_interval = default_interval
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.max_bytes = max_bytes
        self.rng = rng or random.Random()
        self.on_alerts = on_alerts
        self.on_parsed = on_parsed
        self.metrics = metrics
        self.default_timezone = default_timezone
        self.keyword_cache = KeywordCache()
        self.classifier = classifier or BudgetedClassifier()
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
        # Writes of this process, one at a time: a feed's decisions are checked against
        # the stories other feeds stored meanwhile, and SQLite's writers queue here
        # instead of in its busy loop.
        self._commit_lock = asyncio.Lock()
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
            await self._apply(feed, outcome, report)
        except Exception as error:
            # One feed's storage problem must not stop the others.
            log.exception("storing feed %s failed", feed.id)
            report.errors[feed.id] = await self._record_storage_failure(feed, outcome, error)
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

    def bounds(self, feed: FeedRow) -> Bounds:
        """The feed's interval range (catalog, then settings, then defaults)."""
        return bounds_for(
            default_interval=self.default_interval,
            catalog_interval=feed.interval,
            catalog_min=feed.min_interval,
            catalog_max=feed.max_interval,
            settings_min=self.min_interval,
            settings_max=self.max_interval,
            adaptive=feed.adaptive,
        )

    def _schedule(
        self, feed: FeedRow, outcome: PollOutcome, *, brought_new: bool
    ) -> tuple[datetime, float, str, float | None, str | None]:
        """After a success: (next due, interval, reason, entries per day, hints JSON)."""
        now = self.clock.now()
        parsed: ParsedFeed | None = outcome.parsed
        if parsed is not None:
            hints = parsed.hints
            dates = [e.published for e in parsed.entries if e.published is not None]
            rate = entries_per_day(dates, now)
        else:
            hints = FeedHints.from_json(feed.publisher_hints)
            rate = feed.entries_per_day
        last_new = now if brought_new else (feed.last_new_at or feed.first_success_at)
        choice = choose_interval(
            self.bounds(feed),
            rate=rate,
            quiet_for=None if last_new is None else (now - last_new).total_seconds(),
            ttl=hints.ttl,
            max_age=outcome.fetch.max_age,
        )
        due = next_due(feed.next_poll_at or now, choice.seconds, now)
        reason = choice.reason
        skipped = apply_skips(due, skip_hours=hints.skip_hours, skip_days=hints.skip_days)
        if skipped != due:
            reason += ", skipHours/skipDays"
        return skipped, choice.seconds, reason, rate, hints.to_json()

    def _record(
        self, feed: FeedRow, outcome: PollOutcome, *, success: bool, brought_new: bool = False
    ) -> FetchRecord:
        fetch = outcome.fetch
        failures = 0 if success else feed.consecutive_failures + 1
        status = (
            fetch.status if success or fetch.status is not FetchStatus.OK else FetchStatus.ERROR
        )
        error = fetch.error if outcome.parse_error is None else outcome.parse_error
        kind = fetch.error_kind if outcome.parse_error is None else "parse"
        extra: dict[str, Any]
        if success:
            due, interval, reason, rate, hints = self._schedule(
                feed, outcome, brought_new=brought_new
            )
            extra = {
                "interval": interval,
                "interval_reason": reason,
                "entries_per_day": rate,
                "publisher_hints": hints,
                "brought_new": brought_new,
            }
        else:
            interval = feed.current_interval or self.bounds(feed).start
            delay = next_delay(
                status=status,
                interval=interval,
                consecutive_failures=failures,
                retry_after=fetch.retry_after,
                rng=self.rng,
            )
            due = self.clock.now() + timedelta(seconds=delay)
            retry = fetch.retry_after is not None and fetch.status is not FetchStatus.GONE
            extra = {"interval_reason": "retry-after" if retry else f"backoff ({failures} failed)"}
        return FetchRecord(
            status=fetch.status.value if outcome.parse_error is None else "parse_error",
            success=success,
            duration=fetch.elapsed + outcome.parse_seconds,
            next_poll_at=due,
            validators=fetch.validators.to_json() if success else None,
            error=None if success else error,
            error_kind=None if success else kind,
            moved_to=fetch.moved_to,
            disabled_reason="gone (HTTP 410)" if fetch.status is FetchStatus.GONE else None,
            **extra,
        )

    async def _record_storage_failure(
        self, feed: FeedRow, outcome: PollOutcome, error: Exception
    ) -> str:
        """Record a failed store as the feed's error, backing off like any failed poll.

        Without this the feed kept its lease until it ran out and was polled
        (and failed) again and again, while /feeds showed nothing wrong.
        """
        lines = str(getattr(error, "orig", None) or error).strip().splitlines()
        message = mask_url(f"storage: {type(error).__name__}: {lines[0] if lines else ''}")[:500]
        failures = feed.consecutive_failures + 1
        delay = next_delay(
            status=FetchStatus.ERROR,
            interval=feed.current_interval or self.bounds(feed).start,
            consecutive_failures=failures,
            retry_after=None,
            rng=self.rng,
        )
        record = FetchRecord(
            status="storage_error",
            success=False,
            duration=outcome.fetch.elapsed + outcome.parse_seconds,
            next_poll_at=self.clock.now() + timedelta(seconds=delay),
            error=message,
            error_kind="storage",
        )
        try:
            async with self._commit_lock:
                await self.storage.record_fetch(feed.id, record, self.clock.now())
        except Exception:
            # The database itself is away: the feed's lease runs out and it is tried again.
            log.warning("could not record the storage failure of feed %s", feed.id, exc_info=True)
        return message

    async def _apply(self, feed: FeedRow, outcome: PollOutcome, report: PollReport) -> None:
        fetch = outcome.fetch
        now = self.clock.now()
        if fetch.status in {FetchStatus.ERROR, FetchStatus.GONE} or outcome.parse_error:
            record = self._record(feed, outcome, success=False)
            report.errors[feed.id] = record.error or fetch.status.value
            log.warning("feed %s: %s", feed.id, record.error or fetch.status.value)
            async with self._commit_lock:
                await self.storage.record_fetch(feed.id, record, now)
            if self.metrics is not None:
                self.metrics.feed_polled(record.status)
                self.metrics.fetch_error(record.error_kind)
            return
        if outcome.parsed is None:  # 304 or byte-identical body
            record = self._record(feed, outcome, success=True)
            async with self._commit_lock:
                await self.storage.record_fetch(feed.id, record, now)
            if self.metrics is not None:
                self.metrics.feed_polled(fetch.status.value)
            return

        # Oldest first, so a poll that finds several stories alerts them in the
        # order they were published. Feeds list the newest first, which also
        # orders entries whose dates are equal to the second.
        listed = outcome.parsed.entries
        order = sorted(
            range(len(listed)),
            key=lambda i: (listed[i].published is None, listed[i].published or now, -i),
        )
        entries = [listed[i] for i in order]
        seen = await self.storage.seen_identities(
            feed.id, (i for e in entries for i in (e.identity, *e.identities))
        )
        since = recent_window_start(now, DEDUPE_WINDOW)
        known = await self.storage.recent_stories(since)
        recent = [_known(s) for s in known]
        newest = max((s.story_id for s in known), default=0)
        first_poll = feed.first_success_at is None

        def decisions_for(stories: list[KnownStory]) -> list[Decision]:
            return decide(
                entries,
                seen_identities=seen,
                recent_stories=stories,
                first_poll=first_poll,
                now=now,
                window=DEDUPE_WINDOW,
            )

        decisions = decisions_for(recent)
        classified: dict[int, tuple[tuple[str, ...], dict[str, Any]]] = {}
        batch = await self._batch(feed, decisions, classified, now)
        async with self._commit_lock:
            if any(isinstance(d, NewStory) for d in decisions):
                # Another feed may have stored the same story while this one was being
                # classified (feeds are polled side by side): decide again with those
                # stories, so the story is one story and alerts once.
                fresh = await self.storage.recent_stories(since, after_id=newest)
                if fresh:
                    recent += [_known(s) for s in fresh]
                    decisions = decisions_for(recent)
                    batch = await self._batch(feed, decisions, classified, now)
            new, again, seen_only = batch
            record = self._record(feed, outcome, success=True, brought_new=bool(new) or bool(again))
            stored = await self.storage.store_batch(
                feed.id, new=new, again=again, seen=seen_only, record=record, now=now
            )
        report.new_items += len(stored.item_ids)
        report.alerts_queued += stored.outbox_rows
        if self.metrics is not None:
            self.metrics.feed_polled(fetch.status.value)
            self.metrics.items_ingested(n.categories for n in new if n.same_as_batch_index is None)
        if stored.item_ids:
            log.info(
                "feed %s: %d new stories, %d alerts queued",
                feed.id,
                len(stored.item_ids),
                stored.outbox_rows,
            )

    async def _batch(
        self,
        feed: FeedRow,
        decisions: Sequence[Decision],
        classified: dict[int, tuple[tuple[str, ...], dict[str, Any]]],
        now: datetime,
    ) -> tuple[list[NewItem], list[SeenAgain], list[str]]:
        """The rows for these decisions: new stories (classified, with alerts), sources, seen.

        `classified` caches classifications by entry index across calls.
        """
        rules = self.rules()
        new: list[NewItem] = []
        new_index: dict[int, int] = {}  # decision index -> index in `new`
        to_plan: list[int] = []  # indexes in `new` of stories that may alert
        again: list[SeenAgain] = []
        seen_only: list[str] = []
        for index, decision in enumerate(decisions):
            entry = decision.entry
            identities = tuple(dict.fromkeys((entry.identity, *entry.identities)))
            match decision:
                case NewStory(alert=alert):
                    if alert:
                        to_plan.append(len(new))
                    if index not in classified:
                        classified[index] = await self._classify(feed, entry, rules)
                    categories, extra = classified[index]
                    new_index[index] = len(new)
                    new.append(_new_item(entry, identities, categories=categories, **extra))
                case SameStory(story_id=int(story_id)):
                    again.append(SeenAgain(identities, story_id, entry.link))
                case SameStory(batch_index=int(batch_index)):
                    new.append(
                        _new_item(
                            entry,
                            identities,
                            categories=(),
                            same_as_batch_index=new_index[batch_index],
                        )
                    )
                case AlreadySeen():
                    seen_only.extend(identities)
        new = await with_alerts(
            self.storage,
            new,
            to_plan,
            now,
            default_timezone=self.default_timezone,
            cache=self.keyword_cache,
        )
        return new, again, seen_only

    async def _classify(
        self, feed: FeedRow, entry: Entry, rules: RuleSet
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        # Off the event loop, within a time budget: a hostile title must
        # not stall replies, delivery or /healthz.
        result = await self.classifier.classify(rules, entry.title, entry.summary, feed.language)
        if isinstance(result, NotClassified):
            log.warning(
                "feed %s: entry %s stored uncategorised: %s",
                feed.id,
                (entry.link or entry.identity)[:300],
                result.reason,
            )
            return (), {}
        extra = {"topics": result.topics, "entities": result.entities, "matches": result.matches}
        return result.categories, extra


async def with_alerts(
    storage: Storage,
    items: Sequence[NewItem],
    alerting: Iterable[int],
    now: datetime,
    *,
    default_timezone: str = DEFAULT_TIMEZONE,
    cache: KeywordCache | None = None,
) -> list[NewItem]:
    """`items` with the alerts the planner decides for those at the `alerting` indexes."""
    chosen = sorted(set(alerting))
    if not chosen:
        return list(items)
    categories = {c for i in chosen for c in items[i].categories}
    candidates = await storage.audience(categories)
    out = list(items)
    for i in chosen:
        item = items[i]
        intents = plan_alerts(
            StoryFacts(item.title, item.summary, item.categories),
            candidates,
            now,
            default_timezone=default_timezone,
            cache=cache,
        )
        out[i] = replace(item, alerts=tuple(intents))
    return out


def _known(story: KnownStoryRow) -> KnownStory:
    return KnownStory(story.story_id, story.canonical_link, story.title_key, story.first_seen)


def _new_item(entry: Entry, identities: tuple[str, ...], **extra: Any) -> NewItem:
    return NewItem(
        identities=identities,
        title=entry.title,
        summary=entry.summary,
        link=entry.link,
        canonical_link=entry.canonical_link,
        title_key=entry.title_key,
        published_at=entry.published,
        **extra,
    )
