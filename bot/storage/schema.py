"""Table definitions (SQLAlchemy Core), shared by storage and the migrations' checks.

Times are stored as naive UTC and handed out as aware UTC, so SQLite (which
has no time zones) and PostgreSQL behave the same.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class CleanText(TypeDecorator[str]):
    """Text with NUL characters dropped on the way in.

    PostgreSQL refuses NUL in text ("invalid byte sequence for encoding UTF8:
    0x00"), and one such character in one feed entry used to fail the whole
    batch it came in. Nothing of value is lost: NUL means nothing to a reader.
    The same on SQLite, so both databases store the same text.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _without_nul(value)


class CleanString(TypeDecorator[str]):
    """`String(length)` with NUL characters dropped on the way in (see CleanText)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _without_nul(value)


def _without_nul(value: str | None) -> str | None:
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "")


metadata = MetaData()

feeds = Table(
    "feeds",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", CleanText, nullable=False),
    Column("url", CleanText, nullable=False),
    Column("language", String(8), nullable=False),
    Column("interval", Integer, nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("in_catalog", Boolean, nullable=False, default=True),
    # Conditional-GET state, opaque to all but the fetcher; saved only after a successful update.
    Column("validators", CleanText, nullable=True),
    Column("first_success_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status", String(32), nullable=True),
    Column("last_error", CleanText, nullable=True),
    Column("last_error_kind", String(64), nullable=True),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_duration", Float, nullable=True),
    Column("next_poll_at", UTCDateTime, nullable=True),
    Column("moved_to", CleanText, nullable=True),
    Column("disabled_reason", CleanText, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    # Scheduling (migration 0004): the catalog's bounds, and what the scheduler chose and why.
    Column("min_interval", Integer, nullable=True),
    Column("max_interval", Integer, nullable=True),
    Column("adaptive", Boolean, nullable=False, default=True, server_default=true()),
    Column("current_interval", Float, nullable=True),
    Column("interval_reason", CleanText, nullable=True),
    Column("entries_per_day", Float, nullable=True),
    Column("last_new_at", UTCDateTime, nullable=True),
    Column("publisher_hints", CleanText, nullable=True),  # feeds.hints.FeedHints JSON
)

# WebSub subscriptions (migration 0004): one per feed, shared by all replicas.
websub = Table(
    "websub_subscriptions",
    metadata,
    Column("feed_id", String(100), ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("hub", CleanText, nullable=False),
    Column("topic", CleanText, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("state", String(16), nullable=False),  # pending | active | denied | failed
    Column("requested_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("last_error", CleanText, nullable=True),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("feed_id", String(100), ForeignKey("feeds.id", ondelete="SET NULL"), nullable=True),
    Column("title", CleanText, nullable=False),
    Column("summary", CleanText, nullable=False, default=""),
    Column("link", CleanText, nullable=True),
    Column("canonical_link", CleanText, nullable=True),
    Column("title_key", CleanText, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("categories", CleanText, nullable=False, default="[]"),
    Column("topics", CleanText, nullable=False, default="[]"),
    Column("entities", CleanText, nullable=False, default="[]"),
    Column("matches", CleanText, nullable=False, default="{}"),
    Index("ix_items_first_seen_at", "first_seen_at"),
    Index("ix_items_canonical_link", "canonical_link"),
)

item_categories = Table(
    "item_categories",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
    Index("ix_item_categories_category", "category", "item_id"),
)

item_sources = Table(
    "item_sources",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("feed_id", String(100), primary_key=True),
    Column("link", CleanText, nullable=True),
    Column("seen_at", UTCDateTime, nullable=False),
    # The archive's cache version reads max(seen_at) on every request (migration 0010).
    Index("ix_item_sources_seen_at", "seen_at"),
)

# Every identity a feed has produced. Rows outlive their items (item_id set to
# NULL by retention) so that nothing pruned is ever announced again.
feed_entries = Table(
    "feed_entries",
    metadata,
    Column("feed_id", String(100), primary_key=True),
    Column("identity", CleanText, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="SET NULL"), nullable=True),
    Column("seen_at", UTCDateTime, nullable=False),
)

chats = Table(
    "chats",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("type", String(16), nullable=False),
    Column("title", CleanText, nullable=True),
    Column("language", String(8), nullable=False, default="en"),
    Column("active", Boolean, nullable=False, default=True),
    Column("paused", Boolean, nullable=False, default=False),
    Column("inactive_reason", CleanText, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Delivery preferences (migration 0002). NULL time zone = the service default.
    Column("timezone", String(64), nullable=True),
    Column("digest_mode", String(8), nullable=False, default="off", server_default="off"),
    Column("digest_time", String(5), nullable=True),  # "HH:MM" for daily digests
    Column("quiet_start", String(5), nullable=True),  # "HH:MM", local time
    Column("quiet_end", String(5), nullable=True),
    Column("link_preview", Boolean, nullable=False, default=False, server_default=false()),
    # Forum supergroups: post each category to its own topic (migration 0009).
    Column("topics", Boolean, nullable=False, default=False, server_default=false()),
    # The first /start, or the first choice of categories (migration 0011). NULL: the chat
    # only talked to the bot (/help, "hello") or is a group on the default categories
    # it was added with, so its first /start is a new chat's.
    Column("started_at", UTCDateTime, nullable=True),
)

# Personal keyword alerts: one row per term; a term starting with "-" excludes.
chat_keywords = Table(
    "chat_keywords",
    metadata,
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("term", CleanString(200), primary_key=True),
)

# A forum chat's topic per category (migration 0009, bot.storage.topics): kept while
# topics are off, so turning them on again reuses the same topics.
chat_topics = Table(
    "chat_topics",
    metadata,
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("thread_id", BigInteger, nullable=False),
    Column("name", CleanText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
)

# Channels linked from a private chat (migration 0008): which administrators
# linked each channel (any of them may change it), and its @username if it has one.
channel_links = Table(
    "channel_links",
    metadata,
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("username", String(64), nullable=True),
    Column("linked_at", UTCDateTime, nullable=False),
    Index("ix_channel_links_user_id", "user_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=True),
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False, default="alert"),  # bot.models.OutboxKind
    # Why this chat gets it (bot.models.AlertReason, migration 0003): the categories
    # it follows (comma-separated ids), or its keyword; held until quiet hours or
    # the digest end. Broadcasts and notices carry their text instead.
    Column("reason_categories", Text, nullable=False, default="", server_default=""),
    Column("reason_keyword", CleanText, nullable=True),
    Column("held", Boolean, nullable=False, default=False, server_default=false()),
    Column("text", CleanText, nullable=True),
    Column("status", String(16), nullable=False, default="pending"),  # bot.models.OutboxStatus
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("sent_message_id", BigInteger, nullable=True),
    Column("last_error", CleanText, nullable=True),
    UniqueConstraint("item_id", "chat_id", name="uq_outbox_item_chat"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

# Leadership as a lease (migration 0005, bot.storage.leader): one row, written
# only with the database's own clock (`now()`), so replicas' clocks never matter.
leader_lease = Table(
    "leader_lease",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(200), nullable=True),
    # Bumped at every change of holder: a leader renews only its own term.
    Column("term", BigInteger, nullable=False, default=0),
    Column("acquired_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
)

# Editors' corrections (migration 0006): the story's text is copied so the
# example outlives the story's retention.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="SET NULL"), nullable=True),
    Column("title", CleanText, nullable=False),
    Column("summary", CleanText, nullable=False, default=""),
    Column("language", String(8), nullable=True),
    Column("categories", Text, nullable=False, default=""),  # comma-separated ids
    Column("rule_categories", Text, nullable=False, default=""),
    Column("user_id", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_feedback_created_at", "created_at"),
)
