"""Chat delivery preferences (time zone, digest, quiet hours, link preview) and keywords.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the preference columns (existing chats keep instant delivery) and chat_keywords."""
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("digest_mode", sa.String(8), nullable=False, server_default="off")
        )
        batch.add_column(sa.Column("digest_time", sa.String(5), nullable=True))
        batch.add_column(sa.Column("quiet_start", sa.String(5), nullable=True))
        batch.add_column(sa.Column("quiet_end", sa.String(5), nullable=True))
        batch.add_column(
            sa.Column("link_preview", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "chat_keywords",
        sa.Column(
            "chat_id",
            sa.BigInteger,
            sa.ForeignKey("chats.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("term", sa.String(200), primary_key=True),
    )


def downgrade() -> None:
    """Drop the keywords table and the preference columns."""
    op.drop_table("chat_keywords")
    with op.batch_alter_table("chats") as batch:
        for column in (
            "link_preview",
            "quiet_end",
            "quiet_start",
            "digest_time",
            "digest_mode",
            "timezone",
        ):
            batch.drop_column(column)
