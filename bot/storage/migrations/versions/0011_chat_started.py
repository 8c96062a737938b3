"""When a chat started: `chats.started_at`, set by its first /start or its first choice.

/start subscribes a new chat to every category (or to a deep link's one) and
keeps a known chat's choices. "New" used to mean "created by this very
update", so a user whose first message was /help or "hello" got "welcome back,
you follow nothing" from their first /start. A chat row alone no longer says
the chat started: this column does (NULL = never sent /start nor chose
categories).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_chats = sa.table(
    "chats",
    sa.column("created_at", sa.DateTime(timezone=False)),
    sa.column("started_at", sa.DateTime(timezone=False)),
)


def upgrade() -> None:
    """Add the column; every chat known so far counts as started, so /start keeps its choices."""
    # A plain ADD COLUMN, not batch mode: on SQLite a batch recreates `chats`,
    # and dropping the old table cascades into subscriptions, keywords and the
    # outbox (foreign keys are on), which emptied them (see 0009).
    op.add_column("chats", sa.Column("started_at", sa.DateTime(timezone=False), nullable=True))
    # Which of them really sent /start was never recorded; treating them all
    # as started is what the bot did for them until now (it knew them).
    op.execute(sa.update(_chats).values(started_at=_chats.c.created_at))


def downgrade() -> None:
    """Drop the column."""
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), for the same reason as above.
    op.drop_column("chats", "started_at")
