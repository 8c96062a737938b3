"""Outbox reasons in columns instead of a JSON text (no more LIKE on JSON).

Revision ID: 0003
Revises: 0002
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("reason", sa.Text),
    sa.column("reason_categories", sa.Text),
    sa.column("reason_keyword", sa.Text),
    sa.column("held", sa.Boolean),
    sa.column("text", sa.Text),
)


def upgrade() -> None:
    """Add the reason columns, fill them from the JSON reason, then drop it."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("reason_categories", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("reason_keyword", sa.Text, nullable=True))
        batch.add_column(sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("text", sa.Text, nullable=True))
    conn = op.get_bind()
    for row_id, raw in conn.execute(sa.select(_outbox.c.id, _outbox.c.reason)).all():
        try:
            reason = json.loads(raw or "{}")
        except ValueError:
            reason = {}
        if not isinstance(reason, dict):
            reason = {}
        keyword = reason.get("keyword")
        text = reason.get("text")
        conn.execute(
            sa.update(_outbox)
            .where(_outbox.c.id == row_id)
            .values(
                reason_categories=",".join(str(c) for c in reason.get("categories") or []),
                reason_keyword=keyword if isinstance(keyword, str) else None,
                held=bool(reason.get("digest")),
                text=text if isinstance(text, str) else None,
            )
        )
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("reason")


def downgrade() -> None:
    """Put the JSON reason back from the columns."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("reason", sa.Text, nullable=False, server_default="{}"))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            _outbox.c.id,
            _outbox.c.reason_categories,
            _outbox.c.reason_keyword,
            _outbox.c.held,
            _outbox.c.text,
        )
    ).all()
    for row_id, categories, keyword, held, text in rows:
        reason: dict[str, object] = {}
        if text is not None:
            reason["text"] = text
        else:
            reason["categories"] = [c for c in (categories or "").split(",") if c]
            if keyword:
                reason["keyword"] = keyword
            if held:
                reason["digest"] = True
        conn.execute(
            sa.update(_outbox)
            .where(_outbox.c.id == row_id)
            .values(reason=json.dumps(reason, ensure_ascii=False))
        )
    with op.batch_alter_table("outbox") as batch:
        for column in ("text", "held", "reason_keyword", "reason_categories"):
            batch.drop_column(column)
