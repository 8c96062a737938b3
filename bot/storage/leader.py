"""Which replica delivers alerts and answers Telegram: the holder of an unexpired lease.

Every replica polls feeds (leases keep them from fetching the same feed), but
only one may long-poll Telegram (a second getUpdates is refused with 409) and
only one should send, so that pacing stays within Telegram's limits.

On PostgreSQL leadership is a row in `leader_lease`: a holder, a term and an
expiry. The leader renews it every few seconds (`renew`); a standby takes it
(`try_acquire`) once it has expired. Expiry is decided by the database's clock
(`now()`) alone, so the replicas' clocks may disagree. A session-level lock,
as before, survived a frozen leader: SIGSTOP, a stuck event loop or a host
cut off the network keep the PostgreSQL session, and nobody took over.

Fencing: a leader that was frozen may wake up after a standby took over. It
must not send anything then, before its next renewal tells it so. `can_act()`
answers locally, without the database: the lease is trusted only until the
moment its last successful renewal *started*, plus the lease time, minus a
margin. The database computed the expiry from a later `now()`, so the local
deadline always passes first. Whatever sends (the delivery worker, the
Telegram requests) asks `can_act()` right before each request.

SQLite serves a single process, which is always the leader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

LEASE_NAME = "leader"
DEFAULT_LEASE_SECONDS = 10.0
#: Stop acting this long before the local deadline: a send already on the wire
#: must not reach Telegram after a standby may have started.
SAFETY_MARGIN = 0.2

_ACQUIRE = text(
    """
    INSERT INTO leader_lease (name, holder, term, acquired_at, expires_at)
    VALUES (:name, :holder, 1, now(), now() + make_interval(secs => :ttl))
    ON CONFLICT (name) DO UPDATE
    SET holder = EXCLUDED.holder,
        term = leader_lease.term + 1,
        acquired_at = EXCLUDED.acquired_at,
        expires_at = EXCLUDED.expires_at
    WHERE leader_lease.holder IS NULL
       OR leader_lease.expires_at IS NULL
       OR leader_lease.expires_at <= now()
    RETURNING term
    """
)

# Renewing needs the same holder *and* term: if anybody held the lease in
# between, the term moved on and this replica is no longer the leader, even if
# the lease happens to be free again.
_RENEW = text(
    """
    UPDATE leader_lease SET expires_at = now() + make_interval(secs => :ttl)
    WHERE name = :name AND holder = :holder AND term = :term
    RETURNING term
    """
)

_RELEASE = text(
    """
    UPDATE leader_lease SET holder = NULL, expires_at = now()
    WHERE name = :name AND holder = :holder AND term = :term
    """
)


def holder_id() -> str:
    """This process, recognisably (host and pid) and uniquely (a random tail)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLease:
    """Leadership as a lease row in PostgreSQL (always held on SQLite)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl: float = DEFAULT_LEASE_SECONDS,
        holder: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.holder = holder or holder_id()
        self.monotonic = monotonic
        self.single = engine.dialect.name != "postgresql"
        self.term: int | None = None
        self._valid_until = float("-inf")

    @property
    def held(self) -> bool:
        """Whether this process believes it is the leader (see `can_act` for sending)."""
        return self.single or self.term is not None

    def can_act(self) -> bool:
        """May this process send to Telegram right now? (Local, no database round trip.)"""
        if self.single:
            return True
        return self.term is not None and self.monotonic() < self._valid_until

    def seconds_left(self) -> float:
        """How long the lease is trusted locally without another renewal (0 when not held)."""
        if self.single:
            return float("inf")
        if self.term is None:
            return 0.0
        return max(0.0, self._valid_until - self.monotonic())

    async def try_acquire(self) -> bool:
        """Take the lease if it is free or expired; True when this process is (still) leader."""
        if self.single:
            return True
        if self.term is not None:
            return await self.renew()
        started = self.monotonic()
        _, term = await self._execute(_ACQUIRE, {"ttl": self.ttl})
        if term is None:
            return False
        self.term = term
        self._valid_until = started + self.ttl - SAFETY_MARGIN
        log.info("took the leader lease (term %d, holder %s)", term, self.holder)
        return True

    async def renew(self) -> bool:
        """Extend our own lease; False (and not held any more) when another replica has it."""
        if self.single:
            return True
        if self.term is None:
            return False
        started = self.monotonic()
        answered, term = await self._execute(_RENEW, {"ttl": self.ttl, "term": self.term})
        if term is None:
            if not answered and self.can_act():
                # The database could not be asked: keep acting until the local deadline.
                return True
            log.error("the leader lease (term %s) is lost or expired", self.term)
            self.term = None
            self._valid_until = float("-inf")
            return False
        self._valid_until = started + self.ttl - SAFETY_MARGIN
        return True

    async def check(self) -> bool:
        """The leader's heartbeat: renew, and say whether we still lead."""
        return await self.renew()

    async def release(self) -> None:
        """Give up leadership (on shutdown) so a standby takes over at once."""
        if self.single or self.term is None:
            return
        try:
            async with asyncio.timeout(self.ttl / 2), self.engine.begin() as conn:
                await conn.execute(
                    _RELEASE, {"name": LEASE_NAME, "holder": self.holder, "term": self.term}
                )
        except Exception as error:
            log.warning("could not release the leader lease cleanly: %s", error)
        self.term = None
        self._valid_until = float("-inf")

    async def _execute(
        self, statement: object, params: dict[str, object]
    ) -> tuple[bool, int | None]:
        """Run an acquire/renew statement: (did the database answer, the term if granted)."""
        try:
            # A hung database must not hang the heartbeat past the lease itself.
            async with asyncio.timeout(self.ttl / 2), self.engine.begin() as conn:
                result = await conn.execute(
                    statement,  # type: ignore[call-overload]
                    {"name": LEASE_NAME, "holder": self.holder, **params},
                )
                row = result.first()
        except Exception as error:
            log.warning("leader lease: database unavailable (%s)", error)
            return False, None
        return True, None if row is None else int(row[0])
