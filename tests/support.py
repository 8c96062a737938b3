"""Small helpers shared by the bot tests: a settable clock and database targets."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from bot.ingest.outcome import with_alerts
from bot.models import FetchRecord, NewItem, SeenAgain, StoredBatch
from bot.storage import Storage

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The current fake time."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.current += timedelta(seconds=seconds)


def postgres_url() -> str:
    """Where the test PostgreSQL is (EVBOT_TEST_POSTGRES_URL, else the machine's local one)."""
    return os.environ.get("EVBOT_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def postgres_reachable() -> bool:
    """Whether something answers on the test PostgreSQL's port."""
    parts = urlsplit(postgres_url())
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    """Skip with a visible reason outside CI when no PostgreSQL answers; in CI, fail."""
    if postgres_reachable():
        return
    message = f"no PostgreSQL at {postgres_url()}"
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI must test PostgreSQL")
    pytest.skip(message)


@dataclass(frozen=True)
class DatabaseTarget:
    """A database for one test: URL plus the PostgreSQL schema it is confined to."""

    url: str
    schema: str | None = None


@asynccontextmanager
async def database(
    kind: str, tmp_dir: str, *, own_database: bool = False
) -> AsyncIterator[DatabaseTarget]:
    """A fresh, empty database of `kind` ('sqlite' or 'postgresql') for one test.

    PostgreSQL tests get their own schema, or with `own_database` their own
    database (for code that takes only a URL, like the whole service).
    """
    if kind == "sqlite":
        yield DatabaseTarget(f"sqlite:///{tmp_dir}/evbot-test.sqlite3")
        return
    require_postgres()
    import asyncpg

    if own_database:
        name = f"evbot_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(postgres_url())
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        base = postgres_url().rsplit("/", 1)[0]
        try:
            yield DatabaseTarget(f"{base}/{name}")
        finally:
            admin = await asyncpg.connect(postgres_url())
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()
        return

    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = postgres_url()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    try:
        yield DatabaseTarget(dsn, schema)
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


def story(
    identity: str,
    categories: tuple[str, ...] = ("regulation",),
    *,
    title: str | None = None,
    **fields: object,
) -> NewItem:
    """A classified story ready for `Storage.store_batch` (builder for tests)."""
    values: dict[str, object] = {
        "identities": (identity,),
        "title": title or f"Story {identity}",
        "summary": "",
        "link": f"https://example.org/{identity}",
        "canonical_link": f"https://example.org/{identity}",
        "title_key": f"story {identity}",
        "published_at": None,
        "categories": categories,
    }
    values.update(fields)
    return NewItem(**values)  # type: ignore[arg-type]


async def store(
    storage: Storage,
    feed_id: str,
    *,
    new: Sequence[NewItem],
    again: Sequence[SeenAgain] = (),
    seen: Sequence[str] = (),
    record: FetchRecord,
    now: datetime,
) -> StoredBatch:
    """`Storage.store_batch` with the planner's alerts for every new story, as ingest does."""
    alerting = [i for i, n in enumerate(new) if n.same_as_batch_index is None]
    planned = await with_alerts(storage, new, alerting, now)
    return await storage.store_batch(
        feed_id, new=planned, again=again, seen=seen, record=record, now=now
    )
