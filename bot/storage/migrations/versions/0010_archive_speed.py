"""An index for the archive's cache version: the newest `item_sources.seen_at`.

The public archive (bot.web) caches rendered pages and feeds and checks on
every request whether the database changed since (`archive_version`). A
known story carried by one more feed changes its "also reported by" line
without a new story id, so the check also reads max(item_sources.seen_at),
which without this index is a scan of every source row (100,000s).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
# Other branches add 0008/0009 at the same time; this is re-pointed at the
# last of them when they are merged.
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index item_sources.seen_at."""
    op.create_index("ix_item_sources_seen_at", "item_sources", ["seen_at"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_item_sources_seen_at", table_name="item_sources")
