"""Which replica delivers alerts and answers Telegram: the one holding a PostgreSQL advisory lock.

Every replica polls feeds (leases keep them from fetching the same feed), but
only one may long-poll Telegram (a second getUpdates is refused with 409) and
only one should send, so that pacing stays within Telegram's limits. The
leader holds a session-level advisory lock on a connection of its own; when
its process dies the server drops the connection and the lock with it, and a
standby's next attempt (every few seconds) takes over. SQLite serves a single
process, which is always the leader.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 727002


class LeaderLock:
    """A PostgreSQL advisory lock held on a dedicated connection (always held on SQLite)."""

    def __init__(self, engine: AsyncEngine, key: int = LEADER_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None
        self._held = engine.dialect.name != "postgresql"

    @property
    def held(self) -> bool:
        """Whether this process is the leader."""
        return self._held

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process is (still) the leader."""
        if self._held and self._conn is None:
            return True  # SQLite
        if self._held:
            return await self.check()
        try:
            if self._conn is None:
                self._conn = await self.engine.connect()
            got = await self._conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            # Each statement on this connection opened a transaction; the lock is
            # session-level, so ending the transaction keeps it.
            await self._conn.commit()
        except Exception as error:
            log.warning("leader election: database unavailable (%s)", error)
            await self._drop()
            return False
        self._held = bool(got)
        return self._held

    async def check(self) -> bool:
        """Confirm the lock's connection is alive; losing it means losing the lock."""
        if self._conn is None:
            return self._held
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
        except Exception as error:
            log.error("leader lock lost with its database connection: %s", error)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        """Give up leadership (on shutdown)."""
        if self._conn is not None and self._held:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                await self._conn.commit()
            except Exception as error:
                log.warning("could not release the leader lock cleanly: %s", error)
        await self._drop()

    async def _drop(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:
                log.debug("closing the leader connection failed", exc_info=True)
            self._conn = None
            self._held = False
