"""Feeds: the catalog in the database, fetch state, leases for polling, seen entry identities,
and WebSub subscriptions."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.models import (
    CatalogFeed,
    FeedRow,
    FetchRecord,
)
from bot.storage import schema as t
from bot.storage.base import StorageBase, feed_row

# Catalog fields that decide when a feed is polled: a change to any of them
# makes the feed due at once, so a shorter interval does not wait out the old one.
_SCHEDULE_FIELDS = ("interval", "min_interval", "max_interval", "adaptive")


@dataclass(frozen=True)
class WebSubRow:
    """One feed's WebSub subscription."""

    feed_id: str
    hub: str
    topic: str
    secret: str
    state: str  # pending | active | denied | failed
    requested_at: datetime
    expires_at: datetime | None
    last_error: str | None


class FeedsStore(StorageBase):
    """Feed rows and their fetch state."""

    async def sync_catalog(self, catalog: Sequence[CatalogFeed]) -> None:
        """Make the feeds table follow the catalog; feeds no longer listed stop being polled.

        One upsert per feed (`ON CONFLICT DO UPDATE`), so replicas starting at the
        same moment on a fresh database all succeed instead of racing to insert.
        """
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        async with self.engine.begin() as conn:
            # Sorted: concurrent syncs lock the rows in the same order, never in a cycle.
            for spec in sorted(catalog, key=lambda s: s.id):
                values: dict[str, Any] = {
                    "name": spec.name,
                    "url": spec.url,
                    "language": spec.language,
                    "interval": spec.interval,
                    "enabled": spec.enabled,
                    "in_catalog": True,
                    "min_interval": spec.min_interval,
                    "max_interval": spec.max_interval,
                    "adaptive": spec.adaptive,
                }
                stmt = dialect_insert(t.feeds).values(id=spec.id, consecutive_failures=0, **values)
                # A new address from the operator replaces any redirect we learned
                # and any "gone" verdict about the old one.
                url_changed = t.feeds.c.url.is_distinct_from(stmt.excluded.url)
                keep_unless_moved = {
                    name: case((url_changed, None), else_=t.feeds.c[name])
                    for name in ("moved_to", "disabled_reason", "validators")
                }
                # A changed schedule in the catalog starts the feed's schedule afresh.
                schedule_changed = or_(
                    *(t.feeds.c[f].is_distinct_from(stmt.excluded[f]) for f in _SCHEDULE_FIELDS)
                )
                reset_schedule = {
                    name: case((schedule_changed, None), else_=t.feeds.c[name])
                    for name in ("next_poll_at", "current_interval", "interval_reason")
                }
                await conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[t.feeds.c.id],
                        # The schedule resets are computed from the old values, so they
                        # come before the new values overwrite them in the same SET.
                        set_={**reset_schedule, **keep_unless_moved, **values},
                    )
                )
            listed = [spec.id for spec in catalog]
            await conn.execute(
                update(t.feeds).where(t.feeds.c.id.not_in(listed)).values(in_catalog=False)
            )

    async def feeds(self) -> list[FeedRow]:
        """Every known feed, catalog order aside, by id."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(t.feeds).order_by(t.feeds.c.id))).all()
        return [feed_row(r) for r in rows]

    async def feed(self, feed_id: str) -> FeedRow | None:
        """One feed by id."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t.feeds).where(t.feeds.c.id == feed_id))).first()
        return None if row is None else feed_row(row)

    async def due_feeds(self, now: datetime, limit: int = 100) -> list[FeedRow]:
        """Enabled catalog feeds whose next poll time has come, oldest due first."""
        query = (
            select(t.feeds)
            .where(
                t.feeds.c.enabled.is_(True),
                t.feeds.c.in_catalog.is_(True),
                t.feeds.c.disabled_reason.is_(None),
                or_(t.feeds.c.next_poll_at.is_(None), t.feeds.c.next_poll_at <= now),
            )
            .order_by(t.feeds.c.next_poll_at.is_(None).desc(), t.feeds.c.next_poll_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [feed_row(r) for r in rows]

    async def claim_due_feeds(
        self,
        now: datetime,
        *,
        lease: timedelta = timedelta(minutes=5),
        limit: int = 100,
        exclude: Collection[str] = (),
    ) -> list[FeedRow]:
        """Take the due feeds for this process: each is leased so no other replica fetches it.

        On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets replicas claim side by side
        without waiting on each other; recording the poll clears the lease, and a
        replica that dies mid-poll only holds its feeds until the lease runs out.
        `exclude`: feeds this process still has in flight (never claimed twice,
        even if their lease ran out meanwhile).
        """
        if limit <= 0:
            return []
        conditions: list[ColumnElement[bool]] = [
            t.feeds.c.enabled.is_(True),
            t.feeds.c.in_catalog.is_(True),
            t.feeds.c.disabled_reason.is_(None),
            or_(t.feeds.c.next_poll_at.is_(None), t.feeds.c.next_poll_at <= now),
            or_(t.feeds.c.lease_until.is_(None), t.feeds.c.lease_until <= now),
        ]
        if exclude:
            conditions.append(t.feeds.c.id.not_in(list(exclude)))
        due = (
            select(t.feeds.c.id)
            .where(*conditions)
            .order_by(t.feeds.c.next_poll_at.is_(None).desc(), t.feeds.c.next_poll_at)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        async with self.engine.begin() as conn:
            ids = [r[0] for r in await conn.execute(due)]
            if not ids:
                return []
            await conn.execute(
                update(t.feeds).where(t.feeds.c.id.in_(ids)).values(lease_until=now + lease)
            )
            rows = (await conn.execute(select(t.feeds).where(t.feeds.c.id.in_(ids)))).all()
        order = {feed_id: i for i, feed_id in enumerate(ids)}
        return sorted((feed_row(r) for r in rows), key=lambda f: order[f.id])

    async def next_poll_time(
        self, now: datetime | None = None, *, exclude: Collection[str] = ()
    ) -> datetime | None:
        """When the earliest enabled feed is due (None: one is due now or none exist).

        With `now`, feeds leased at that time (in flight somewhere) and those in
        `exclude` do not count: they are not waiting for their due time.
        """
        conditions: list[ColumnElement[bool]] = [
            t.feeds.c.enabled.is_(True),
            t.feeds.c.in_catalog.is_(True),
            t.feeds.c.disabled_reason.is_(None),
        ]
        if now is not None:
            conditions.append(or_(t.feeds.c.lease_until.is_(None), t.feeds.c.lease_until <= now))
        if exclude:
            conditions.append(t.feeds.c.id.not_in(list(exclude)))
        unscheduled = select(func.count()).where(t.feeds.c.next_poll_at.is_(None), *conditions)
        query = select(func.min(t.feeds.c.next_poll_at)).where(*conditions)
        async with self.engine.connect() as conn:
            if now is not None and (await conn.execute(unscheduled)).scalar():
                return now
            value = (await conn.execute(query)).scalar()
        return value  # type: ignore[no-any-return]

    async def release_leases(self, feed_ids: Collection[str]) -> None:
        """Give up leases of feeds whose poll was abandoned (shutdown): due again at once."""
        if not feed_ids:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.feeds).where(t.feeds.c.id.in_(list(feed_ids))).values(lease_until=None)
            )

    async def poll_now(self, feed_id: str, now: datetime) -> bool:
        """Make a feed due now (a WebSub push); False if no such feed is polled."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t.feeds)
                .where(t.feeds.c.id == feed_id, t.feeds.c.in_catalog.is_(True))
                .values(next_poll_at=now)
            )
        return bool(result.rowcount)

    async def websub_subscription(self, feed_id: str) -> WebSubRow | None:
        """The feed's WebSub subscription, if any."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(t.websub).where(t.websub.c.feed_id == feed_id))
            ).first()
        return None if row is None else WebSubRow(**row._mapping)

    async def websub_subscriptions(self) -> list[WebSubRow]:
        """Every WebSub subscription, by feed."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(t.websub).order_by(t.websub.c.feed_id))).all()
        return [WebSubRow(**r._mapping) for r in rows]

    async def save_websub(self, sub: WebSubRow) -> None:
        """Create or replace a feed's subscription."""
        values = {
            "hub": sub.hub,
            "topic": sub.topic,
            "secret": sub.secret,
            "state": sub.state,
            "requested_at": sub.requested_at,
            "expires_at": sub.expires_at,
            "last_error": sub.last_error,
        }
        async with self.engine.begin() as conn:
            await conn.execute(delete(t.websub).where(t.websub.c.feed_id == sub.feed_id))
            await conn.execute(insert(t.websub).values(feed_id=sub.feed_id, **values))

    async def update_websub(
        self, feed_id: str, *, only_state: str | None = None, **values: Any
    ) -> bool:
        """Change a subscription (if it is in `only_state`, when given); False if none changed."""
        query = update(t.websub).where(t.websub.c.feed_id == feed_id)
        if only_state is not None:
            query = query.where(t.websub.c.state == only_state)
        async with self.engine.begin() as conn:
            result = await conn.execute(query.values(**values))
        return bool(result.rowcount)

    async def record_fetch(self, feed_id: str, record: FetchRecord, now: datetime) -> None:
        """Store a poll that added no stories (304, unchanged, or a failure)."""
        async with self.engine.begin() as conn:
            await self._record_fetch(conn, feed_id, record, now)

    async def seen_identities(self, feed_id: str, identities: Iterable[str]) -> set[str]:
        """Which of these identities this feed has already produced (tombstones included)."""
        # Identities are stored without NUL characters (schema.CleanText); answer in
        # the caller's spelling so an entry with one is still recognised next time.
        asked: dict[str, list[str]] = {}
        for identity in identities:
            asked.setdefault(identity.replace("\x00", ""), []).append(identity)
        wanted = list(asked)
        found: set[str] = set()
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = await conn.execute(
                    select(t.feed_entries.c.identity).where(
                        t.feed_entries.c.feed_id == feed_id,
                        t.feed_entries.c.identity.in_(chunk),
                    )
                )
                for row in rows:
                    found.update(asked.get(row[0], ()))
        return found
