"""The poll job: due feeds → fetch and parse (feeds) → decide → classify (rules) → store.

This module wires the pure pieces together; every decision lives in `feeds`
(what is new, when to poll next) or `rules` (what it is about), and every
write goes through `Storage.store_batch` in one transaction.
"""

from __future__ import annotations

import asyncio
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
from bot.models import FeedRow, FetchRecord, NewItem, SeenAgain
from bot.ops.masking import mask_url
from bot.ops.metrics import Metrics
from bot.storage import Storage
from feeds.dedupe import AlreadySeen, KnownStory, NewStory, SameStory, decide
from feeds.entries import Entry
from feeds.fetch import FetchStatus, Validators
from feeds.poller import PollOutcome, PollRequest, poll_batch
from feeds.schedule import next_delay
from rules import RuleSet

log = logging.getLogger(__name__)

DEDUPE_WINDOW = timedelta(hours=48)


@dataclass
class PollReport:
    """What one pass of the poll job did."""

    polled: int = 0
    new_items: int = 0
    alerts_queued: int = 0
    errors: dict[str, str] = field(default_factory=dict)


class Ingestor:
    """Polls due feeds and stores what is new."""

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
    ) -> None:
        self.storage = storage
        self.client = client
        self.rules = rules
        self.clock = clock
        self.default_interval = default_interval
        self.max_bytes = max_bytes
        self.rng = rng or random.Random()
        self.on_alerts = on_alerts
        self.metrics = metrics
        self.default_timezone = default_timezone
        self.keyword_cache = KeywordCache()
        self.classifier = classifier or BudgetedClassifier()
        self.passes = 0
        self._pass_done = asyncio.Condition()

    async def poll_due(self) -> PollReport:
        """Poll every feed that is due now."""
        try:
            due = await self.storage.claim_due_feeds(self.clock.now())
            return await self.poll(due)
        finally:
            async with self._pass_done:
                self.passes += 1
                self._pass_done.notify_all()

    async def wait_for_pass(self, after: int, within: float = 10.0) -> int:
        """Wait until a poll pass numbered above `after` has finished; returns the count."""
        async with asyncio.timeout(within), self._pass_done:
            await self._pass_done.wait_for(lambda: self.passes > after)
            return self.passes

    async def poll(self, feeds: list[FeedRow]) -> PollReport:
        """Poll these feeds once and store the results."""
        report = PollReport()
        if not feeds:
            return report
        by_id = {f.id: f for f in feeds}
        requests = [
            PollRequest(
                feed_id=f.id, url=f.fetch_url, validators=Validators.from_json(f.validators),
                catalog_url=f.url,
            )
            for f in feeds
        ]
        outcomes = await poll_batch(
            self.client, requests, max_bytes=self.max_bytes, now=self.clock.now
        )
        for outcome in outcomes:
            feed = by_id[outcome.request.feed_id]
            report.polled += 1
            try:
                await self._apply(feed, outcome, report)
            except Exception as error:
                # One feed's storage problem must not stop the others.
                log.exception("storing feed %s failed", feed.id)
                report.errors[feed.id] = await self._record_storage_failure(feed, outcome, error)
                if self.metrics is not None:
                    self.metrics.feed_polled("storage_error")
                    self.metrics.fetch_error("storage")
        if report.alerts_queued:
            self.on_alerts()
        return report

    def _record(self, feed: FeedRow, outcome: PollOutcome, *, success: bool) -> FetchRecord:
        fetch = outcome.fetch
        interval = float(feed.interval or self.default_interval)
        failures = 0 if success else feed.consecutive_failures + 1
        status = (
            fetch.status if success or fetch.status is not FetchStatus.OK else FetchStatus.ERROR
        )
        delay = next_delay(
            status=status,
            interval=interval,
            consecutive_failures=failures,
            retry_after=fetch.retry_after,
            rng=self.rng,
        )
        error = fetch.error if outcome.parse_error is None else outcome.parse_error
        kind = fetch.error_kind if outcome.parse_error is None else "parse"
        return FetchRecord(
            status=fetch.status.value if outcome.parse_error is None else "parse_error",
            success=success,
            duration=fetch.elapsed + outcome.parse_seconds,
            next_poll_at=self.clock.now() + timedelta(seconds=delay),
            validators=fetch.validators.to_json() if success else None,
            error=None if success else error,
            error_kind=None if success else kind,
            moved_to=fetch.moved_to,
            disabled_reason="gone (HTTP 410)" if fetch.status is FetchStatus.GONE else None,
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
            interval=float(feed.interval or self.default_interval),
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
            await self.storage.record_fetch(feed.id, record, now)
            if self.metrics is not None:
                self.metrics.feed_polled(record.status)
                self.metrics.fetch_error(record.error_kind)
            return
        if outcome.parsed is None:  # 304 or byte-identical body
            await self.storage.record_fetch(feed.id, self._record(feed, outcome, success=True), now)
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
        recent = [
            KnownStory(s.story_id, s.canonical_link, s.title_key, s.first_seen)
            for s in await self.storage.recent_stories(now - DEDUPE_WINDOW)
        ]
        decisions = decide(
            entries,
            seen_identities=seen,
            recent_stories=recent,
            first_poll=feed.first_success_at is None,
            now=now,
            window=DEDUPE_WINDOW,
        )
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
                    # Off the event loop, within a time budget: a hostile title must
                    # not stall replies, delivery or /healthz.
                    result = await self.classifier.classify(
                        rules, entry.title, entry.summary, feed.language
                    )
                    if isinstance(result, NotClassified):
                        log.warning(
                            "feed %s: entry %s stored uncategorised: %s",
                            feed.id,
                            (entry.link or entry.identity)[:300],
                            result.reason,
                        )
                        categories: tuple[str, ...] = ()
                        extra: dict[str, Any] = {}
                    else:
                        categories = result.categories
                        extra = {
                            "topics": result.topics,
                            "entities": result.entities,
                            "matches": result.matches,
                        }
                    new_index[index] = len(new)
                    new.append(
                        _new_item(entry, identities, categories=categories, **extra)
                    )
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
        stored = await self.storage.store_batch(
            feed.id,
            new=new,
            again=again,
            seen=seen_only,
            record=self._record(feed, outcome, success=True),
            now=now,
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
