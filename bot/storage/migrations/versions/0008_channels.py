"""Channels linked from a private chat (`/channel add`): who linked each one.

A channel is a row of `chats` like any other (type `channel`); this table
records which administrators linked it, so `/channel list` can show a user
their channels and only they may change them. The channel's `@username` is
kept here so `/channel remove @name` works even after the bot lost access
to the channel (when Telegram no longer resolves the name for it).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the channel_links table."""
    op.create_table(
        "channel_links",
        sa.Column(
            "chat_id",
            sa.BigInteger,
            sa.ForeignKey("chats.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.BigInteger, primary_key=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_index("ix_channel_links_user_id", "channel_links", ["user_id"])


def downgrade() -> None:
    """Drop the channel_links table."""
    op.drop_index("ix_channel_links_user_id", table_name="channel_links")
    op.drop_table("channel_links")
