"""Per-feed scheduling state (adaptive intervals, publisher hints) and WebSub subscriptions.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the scheduling columns to feeds (existing feeds adapt) and websub_subscriptions."""
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("min_interval", sa.Integer, nullable=True))
        batch.add_column(sa.Column("max_interval", sa.Integer, nullable=True))
        batch.add_column(
            sa.Column("adaptive", sa.Boolean, nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("current_interval", sa.Float, nullable=True))
        batch.add_column(sa.Column("interval_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("entries_per_day", sa.Float, nullable=True))
        batch.add_column(sa.Column("last_new_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("publisher_hints", sa.Text, nullable=True))
    op.create_table(
        "websub_subscriptions",
        sa.Column(
            "feed_id",
            sa.String(100),
            sa.ForeignKey("feeds.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("hub", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("websub_subscriptions")
    with op.batch_alter_table("feeds") as batch:
        for column in (
            "publisher_hints",
            "last_new_at",
            "entries_per_day",
            "interval_reason",
            "current_interval",
            "adaptive",
            "max_interval",
            "min_interval",
        ):
            batch.drop_column(column)
