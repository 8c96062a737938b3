"""What /healthz asks the database: how overdue delivery is, how fresh the feeds are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.models import OutboxStatus
from bot.storage import schema as t
from bot.storage.base import StorageBase


class ProbesStore(StorageBase):
    """Read-only questions for the health endpoint."""

    async def oldest_due_delivery(self, now: datetime) -> datetime | None:
        """Since when the longest-waiting due outbox row has been due (None: nothing is due)."""
        query = select(func.min(t.outbox.c.next_attempt_at)).where(
            t.outbox.c.status == OutboxStatus.PENDING.value,
            t.outbox.c.next_attempt_at <= now,
        )
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar()
        return value  # type: ignore[no-any-return]

    async def feed_freshness(self) -> tuple[int, datetime | None]:
        """Feeds that should be polled, and the last time any poll of one succeeded."""
        query = select(func.count(), func.max(t.feeds.c.last_success_at)).where(
            t.feeds.c.enabled.is_(True),
            t.feeds.c.in_catalog.is_(True),
            t.feeds.c.disabled_reason.is_(None),
        )
        async with self.engine.connect() as conn:
            count, newest = (await conn.execute(query)).one()
        return int(count), newest
