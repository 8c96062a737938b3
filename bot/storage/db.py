"""Database engines and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# PostgreSQL advisory lock held while migrating (here and from the `alembic` CLI).
MIGRATION_LOCK_KEY = 727001


def async_url(url: str) -> str:
    """Map a plain SQLAlchemy URL to its async driver (aiosqlite, asyncpg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets `evbot feeds list` read while the service writes; the busy
    # timeout turns a momentary lock into a short wait instead of an error.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL still survives a crash of the process (kill -9); it
    # only gives up the fsync per commit, which caps the outbox at ~100 sends/s.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# The server's side of each session: probe an idle client after 5 s, every 2 s,
# give up after 3 missed probes, and drop a connection whose sent data stays
# unacknowledged for 10 s. A replica whose host drops off the network then
# loses its sessions (and their row locks) within seconds rather than after the
# kernel's default of about two hours. (Ignored over Unix sockets.)
SESSION_KEEPALIVES = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
    # A frozen process (SIGSTOP, a stalled VM) keeps answering keepalives from
    # its kernel, so the probes above never end its session; frozen in the
    # middle of a transaction it held its row locks, and the new leader's first
    # write to those outbox rows waited for as long as the freeze lasted. The
    # server ends a session idle inside a transaction after 10 s. No evbot
    # transaction waits on anything but the database between its statements.
    "idle_in_transaction_session_timeout": "10000",
}


class SQLiteEngine(AsyncEngine):
    """An engine whose write transactions (`begin()`) take turns within the process.

    SQLite has one writer at a time. Left to its busy handler, a crowd of
    concurrent writers (2,000 new users' /start within seconds) spins and
    polls, unfairly, and some give up after `busy_timeout` with "database is
    locked": those users got no answer. Queued on one asyncio lock they are
    served in arrival order, and the busy timeout is left for other processes
    (`evbot feeds list`, a second service on the same file). Reads
    (`connect()`) are not queued: WAL lets them run beside the writer.
    """

    def __init__(self, sync_engine: Engine) -> None:
        super().__init__(sync_engine)
        self._writer = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, once the process's previous one has ended."""
        async with self._writer, super().begin() as conn:
            yield conn


def create_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    """Create an async engine; SQLite's directory is created, PostgreSQL may pin a schema."""
    full = async_url(url)
    parsed = make_url(full)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = SQLiteEngine(create_async_engine(full).sync_engine)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    server_settings = dict(SESSION_KEEPALIVES)
    if schema is not None:
        server_settings["search_path"] = schema
    connect_args["server_settings"] = server_settings
    return create_async_engine(full, connect_args=connect_args, pool_pre_ping=True)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (idempotent)."""

    def run(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), revision)

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two replicas starting at once must not both migrate.
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        await conn.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Undo migrations down to `revision` (an operator's step back after a bad release)."""

    def run(connection: Connection) -> None:
        command.downgrade(_alembic_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)
