"""What one feed's poll becomes in the database: its fetch record and its stories.

`bot.ingest.poll` runs the loop (which feeds, when, how many at once) and
hands each finished poll (`feeds.poller.PollOutcome`) to `OutcomeWriter.apply`,
which owns the rest: the fetch record with the next due time (the adaptive
interval after a success, backoff after a failure, both from `feeds.schedule`),
and for a successful parse the decision per entry (`feeds.dedupe`: new story,
same story, already seen), classification within a time budget
(`bot.ingest.classify`), the alerts the planner decides (`bot.delivery.planner`)
and one `Storage.store_batch` transaction for all of it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

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
from feeds.fetch import FetchStatus
from feeds.hints import FeedHints
from feeds.parse import ParsedFeed
from feeds.poller import PollOutcome
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
from rules.links import link_headline

__all__ = ["DEDUPE_WINDOW", "OutcomeWriter", "PollReport", "with_alerts"]

log = logging.getLogger(__name__)

DEDUPE_WINDOW = timedelta(hours=48)


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


class OutcomeWriter:
    """Turns finished polls into fetch records and stored stories (see the module doc)."""

    def __init__(
        self,
        storage: Storage,
        rules: Callable[[], RuleSet],
        clock: Clock,
        *,
        commit_lock: asyncio.Lock,
        classifier: BudgetedClassifier,
        default_interval: int,
        min_interval: int | None,
        max_interval: int | None,
        rng: random.Random,
        metrics: Metrics | None,
        default_timezone: str,
    ) -> None:
        self.storage = storage
        self.rules = rules
        self.clock = clock
        # Writes of this process, one at a time: a feed's decisions are checked against
        # the stories other feeds stored meanwhile, and SQLite's writers queue here
        # instead of in its busy loop. The loop's claims take it too (on SQLite).
        self.commit_lock = commit_lock
        self.classifier = classifier
        self.default_interval = default_interval
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.rng = rng
        self.metrics = metrics
        self.default_timezone = default_timezone
        self.keyword_cache = KeywordCache()

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

    def record(
        self, feed: FeedRow, outcome: PollOutcome, *, success: bool, brought_new: bool = False
    ) -> FetchRecord:
        """The fetch record of a poll: its status, the next due time, the interval or backoff."""
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

    async def record_storage_failure(
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
            async with self.commit_lock:
                await self.storage.record_fetch(feed.id, record, self.clock.now())
        except Exception:
            # The database itself is away: the feed's lease runs out and it is tried again.
            log.warning("could not record the storage failure of feed %s", feed.id, exc_info=True)
        return message

    async def apply(self, feed: FeedRow, outcome: PollOutcome, report: PollReport) -> None:
        """Store what one poll of ``feed`` found, counting it into ``report``.

        A failed fetch or parse is a fetch record with its backoff; otherwise
        the entries are decided (new, same story, seen), the new stories
        classified and planned, and all of it written in one transaction
        together with the record and the next due time.
        """
        fetch = outcome.fetch
        now = self.clock.now()
        if fetch.status in {FetchStatus.ERROR, FetchStatus.GONE} or outcome.parse_error:
            record = self.record(feed, outcome, success=False)
            report.errors[feed.id] = record.error or fetch.status.value
            log.warning("feed %s: %s", feed.id, record.error or fetch.status.value)
            async with self.commit_lock:
                await self.storage.record_fetch(feed.id, record, now)
            if self.metrics is not None:
                self.metrics.feed_polled(record.status)
                self.metrics.fetch_error(record.error_kind)
            return
        if outcome.parsed is None:  # 304 or byte-identical body
            record = self.record(feed, outcome, success=True)
            async with self.commit_lock:
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
        async with self.commit_lock:
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
            record = self.record(feed, outcome, success=True, brought_new=bool(new) or bool(again))
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
        # not stall replies, delivery or /healthz. A title borrowed from the
        # summary is not a headline: read the headline its link spells, if any.
        title = entry.title if entry.has_title else link_headline(entry.link)
        result = await self.classifier.classify(rules, title, entry.summary, feed.language)
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
