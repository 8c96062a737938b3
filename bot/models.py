"""The row types every part of the bot shares: feeds, stories, chats, outbox rows.

Storage returns and accepts these; ingest, delivery, rendering and the Telegram
handlers import them from here instead of importing storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class OutboxKind(StrEnum):
    """What an outbox row carries."""

    ALERT = "alert"  # a story for a chat
    BROADCAST = "broadcast"  # an admin's /broadcast text
    NOTICE = "notice"  # an operator notice to the admins' chats


class OutboxStatus(StrEnum):
    """Where an outbox row stands; every row ends in one of the last four."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # given up after errors (last_error says which)
    CANCELLED = "cancelled"  # the chat blocked the bot or is gone
    SKIPPED = "skipped"  # no longer wanted when due: paused, unsubscribed (last_error says why)


@dataclass(frozen=True)
class AlertIntent:
    """One chat is to get a story at `due`; `reason.held` when that is later than now."""

    chat_id: int
    due: datetime
    reason: AlertReason


@dataclass(frozen=True)
class AlertReason:
    """Why a chat gets a story: the categories it follows, or its own keyword; held or instant."""

    categories: tuple[str, ...] = ()
    keyword: str | None = None
    held: bool = False  # waits for the end of quiet hours or the next digest


@dataclass(frozen=True)
class FeedRow:
    """A feed as the scheduler sees it."""

    id: str
    name: str
    url: str
    language: str
    interval: int | None
    enabled: bool
    in_catalog: bool
    validators: str | None
    first_success_at: datetime | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_status: str | None
    last_error: str | None
    last_error_kind: str | None
    consecutive_failures: int
    last_duration: float | None
    next_poll_at: datetime | None
    moved_to: str | None
    disabled_reason: str | None
    # Scheduling (feeds.schedule): catalog bounds, current interval and why.
    min_interval: int | None = None
    max_interval: int | None = None
    adaptive: bool = True
    current_interval: float | None = None
    interval_reason: str | None = None
    entries_per_day: float | None = None
    last_new_at: datetime | None = None
    publisher_hints: str | None = None

    @property
    def fetch_url(self) -> str:
        """Where to fetch: the permanent redirect target when there is one."""
        return self.moved_to or self.url


@dataclass(frozen=True)
class CatalogFeed:
    """What the catalog says about one feed."""

    id: str
    name: str
    url: str
    language: str
    interval: int | None
    enabled: bool
    min_interval: int | None = None
    max_interval: int | None = None
    adaptive: bool = True


@dataclass(frozen=True)
class FetchRecord:
    """The outcome of one poll, as stored on the feed."""

    status: str
    success: bool
    duration: float
    next_poll_at: datetime
    validators: str | None = None
    error: str | None = None
    error_kind: str | None = None
    moved_to: str | None = None
    disabled_reason: str | None = None
    # What the scheduler decided (None: leave the stored value).
    interval: float | None = None
    interval_reason: str | None = None
    entries_per_day: float | None = None
    publisher_hints: str | None = None
    brought_new: bool = False  # the poll found entries this feed never listed before


@dataclass(frozen=True)
class NewItem:
    """A story to insert, with its classification."""

    identities: tuple[str, ...]
    title: str
    summary: str
    link: str | None
    canonical_link: str | None
    title_key: str
    published_at: datetime | None
    categories: tuple[str, ...]
    topics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    matches: dict[str, list[str]] = field(default_factory=dict)
    # The chats to alert (from bot.delivery.planner); none for a first poll's backlog.
    alerts: tuple[AlertIntent, ...] = ()
    # Index of an earlier NewItem of the same batch that is the same story.
    same_as_batch_index: int | None = None


@dataclass(frozen=True)
class SeenAgain:
    """An entry that is a story already stored (another source, or a re-published one)."""

    identities: tuple[str, ...]
    story_id: int
    link: str | None


@dataclass(frozen=True)
class StoredBatch:
    """What storing a batch created."""

    item_ids: list[int]
    outbox_rows: int


@dataclass(frozen=True)
class KnownStoryRow:
    """A recent story, for cross-source dedupe."""

    story_id: int
    canonical_link: str | None
    title_key: str
    first_seen: datetime


@dataclass(frozen=True)
class ItemRow:
    """A stored story."""

    id: int
    feed_id: str | None
    title: str
    summary: str
    link: str | None
    published_at: datetime | None
    first_seen_at: datetime
    categories: tuple[str, ...]
    topics: tuple[str, ...]
    entities: tuple[str, ...]
    matches: dict[str, list[str]]
    sources: tuple[str, ...]  # feed names, first one first


@dataclass(frozen=True)
class ChatRow:
    """A Telegram chat the bot talks to."""

    id: int
    type: str
    title: str | None
    language: str
    active: bool
    paused: bool
    inactive_reason: str | None
    # Delivery preferences (see bot.delivery.times); NULL time zone = the service default.
    timezone: str | None = None
    digest_mode: str = "off"
    digest_time: str | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    link_preview: bool = False
    # A forum chat whose alerts go to one topic per category (bot.telegram_app.topics).
    topics: bool = False
    # When the chat first sent /start or chose categories; None while it never has.
    started_at: datetime | None = None


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row with what is needed to render it."""

    id: int
    chat_id: int
    kind: OutboxKind
    attempts: int
    reason: AlertReason
    chat_language: str
    chat_type: str
    item: ItemRow | None
    # What the renderer needs from the chat's preferences.
    chat_timezone: str | None = None
    link_preview: bool = False
    text: str | None = None  # a broadcast's or notice's text
    # The chat as it is now, for the planner's re-check before sending.
    chat_active: bool = True
    chat_paused: bool = False
    chat_categories: frozenset[str] = frozenset()
    chat_keywords: tuple[str, ...] = ()
    # (category, message_thread_id) of the chat's forum topics, if it has topics on.
    chat_threads: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ChatStats:
    """What /stats shows."""

    chats: int
    receiving: int  # active and not paused
    per_category: dict[str, int]  # subscriptions of receiving chats
    sent_since: int
    queue: int  # pending outbox rows


@dataclass(frozen=True)
class Candidate:
    """A chat that may want new stories: it follows some of their categories or has keywords."""

    chat: ChatRow
    categories: frozenset[str]  # which of the asked-for categories it follows
    keywords: tuple[str, ...] = ()  # its personal terms ("-term" excludes)


@dataclass(frozen=True)
class FeedbackRow:
    """An editor's correction of a story's categories: a labelled example for the rules."""

    id: int
    item_id: int | None  # None once the story itself was pruned
    title: str
    summary: str
    language: str | None
    categories: tuple[str, ...]  # what the editor chose; () means "not relevant"
    rule_categories: tuple[str, ...]  # what the rules gave the story
    user_id: int
    created_at: datetime
