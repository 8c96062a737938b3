"""Initial tables: feeds, items, sources, seen entries, chats, subscriptions, outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the first schema."""
    op.create_table(
        "feeds",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("interval", sa.Integer, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("in_catalog", sa.Boolean, nullable=False),
        sa.Column("validators", sa.Text, nullable=True),
        sa.Column("first_success_at", sa.DateTime, nullable=True),
        sa.Column("last_success_at", sa.DateTime, nullable=True),
        sa.Column("last_attempt_at", sa.DateTime, nullable=True),
        sa.Column("last_status", sa.String(32), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_error_kind", sa.String(64), nullable=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("last_duration", sa.Float, nullable=True),
        sa.Column("next_poll_at", sa.DateTime, nullable=True),
        sa.Column("moved_to", sa.Text, nullable=True),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("lease_until", sa.DateTime, nullable=True),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "feed_id", sa.String(100), sa.ForeignKey("feeds.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=True),
        sa.Column("canonical_link", sa.Text, nullable=True),
        sa.Column("title_key", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=True),
        sa.Column("first_seen_at", sa.DateTime, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("entities", sa.Text, nullable=False),
        sa.Column("matches", sa.Text, nullable=False),
    )
    op.create_index("ix_items_first_seen_at", "items", ["first_seen_at"])
    op.create_index("ix_items_canonical_link", "items", ["canonical_link"])
    op.create_table(
        "item_categories",
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("category", sa.String(64), primary_key=True),
    )
    op.create_index("ix_item_categories_category", "item_categories", ["category", "item_id"])
    op.create_table(
        "item_sources",
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("feed_id", sa.String(100), primary_key=True),
        sa.Column("link", sa.Text, nullable=True),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "feed_entries",
        sa.Column("feed_id", sa.String(100), primary_key=True),
        sa.Column("identity", sa.Text, primary_key=True),
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "chats",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("inactive_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column(
            "chat_id",
            sa.BigInteger,
            sa.ForeignKey("chats.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("category", sa.String(64), primary_key=True),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "chat_id", sa.BigInteger, sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.Column("sent_message_id", sa.BigInteger, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("item_id", "chat_id", name="uq_outbox_item_chat"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop everything."""
    for table in (
        "outbox",
        "subscriptions",
        "chats",
        "feed_entries",
        "item_sources",
        "item_categories",
        "items",
        "feeds",
    ):
        op.drop_table(table)
