"""Editors' corrections of stories' categories (the admin "wrong category?" button).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the feedback table."""
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("categories", sa.Text, nullable=False, server_default=""),
        sa.Column("rule_categories", sa.Text, nullable=False, server_default=""),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])


def downgrade() -> None:
    """Drop the feedback table."""
    op.drop_index("ix_feedback_created_at", table_name="feedback")
    op.drop_table("feedback")
