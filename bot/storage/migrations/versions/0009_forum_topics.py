"""Forum topics: a chat's switch (`chats.topics`) and one topic per category (`chat_topics`).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the switch (off for every existing chat) and the category → topic table."""
    # A plain ADD COLUMN, not batch mode: on SQLite a batch recreates `chats`,
    # and dropping the old table cascades into subscriptions, keywords and the
    # outbox (foreign keys are on), which emptied them.
    op.add_column(
        "chats", sa.Column("topics", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_table(
        "chat_topics",
        sa.Column(
            "chat_id",
            sa.BigInteger,
            sa.ForeignKey("chats.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("thread_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    )


def downgrade() -> None:
    """Drop the topic table and the switch."""
    op.drop_table("chat_topics")
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), for the same reason as above.
    op.drop_column("chats", "topics")
