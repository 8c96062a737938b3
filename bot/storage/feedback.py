"""Editors' corrections: a story's right categories as chosen by an admin.

Each correction copies the story's title and summary (and its feed's language)
so it stays a labelled example after the story is pruned. Nothing here changes
the rules; `evbot eval-rules --feedback` scores the rules on these rows.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select

from bot.models import FeedbackRow
from bot.storage import schema as t
from bot.storage.base import StorageBase, json_list


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(c for c in (value or "").split(",") if c)


def _feedback_row(row: Row[Any]) -> FeedbackRow:
    m = row._mapping
    return FeedbackRow(
        id=m["id"],
        item_id=m["item_id"],
        title=m["title"],
        summary=m["summary"],
        language=m["language"],
        categories=_ids(m["categories"]),
        rule_categories=_ids(m["rule_categories"]),
        user_id=int(m["user_id"]),
        created_at=m["created_at"],
    )


class FeedbackStore(StorageBase):
    """Stored corrections of stories' categories."""

    async def add_feedback(
        self, item_id: int, categories: Collection[str], user_id: int, now: datetime
    ) -> FeedbackRow | None:
        """Record a correction of a stored story; None if the story is gone."""
        story = (
            select(
                t.items.c.title,
                t.items.c.summary,
                t.items.c.categories,
                t.feeds.c.language,
            )
            .select_from(t.items.outerjoin(t.feeds, t.feeds.c.id == t.items.c.feed_id))
            .where(t.items.c.id == item_id)
        )
        async with self.engine.begin() as conn:
            found = (await conn.execute(story)).first()
            if found is None:
                return None
            m = found._mapping
            values = {
                "item_id": item_id,
                "title": m["title"],
                "summary": m["summary"] or "",
                "language": m["language"],
                "categories": ",".join(sorted(set(categories))),
                "rule_categories": ",".join(json_list(m["categories"])),
                "user_id": user_id,
                "created_at": now,
            }
            new_id = (await conn.execute(insert(t.feedback).values(**values))).inserted_primary_key
            assert new_id is not None
            row = (await conn.execute(select(t.feedback).where(t.feedback.c.id == new_id[0]))).one()
        return _feedback_row(row)

    async def feedback(self) -> list[FeedbackRow]:
        """Every stored correction, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(t.feedback).order_by(t.feedback.c.id))
            return [_feedback_row(r) for r in rows]
