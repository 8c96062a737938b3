"""Alembic environment for both ways in: evbot's own code and the `alembic` command line.

`evbot db upgrade` (bot.storage.db.upgrade) hands in an open connection that already
holds the migration lock. The `alembic` command line (the repository's
alembic.ini) hands in none: the URL then comes from evbot's settings
(EVBOT_DATABASE_URL or `.env`), opened with the same async engine evbot uses,
and PostgreSQL takes the same advisory lock, so a hand-run migration and a
starting replica never migrate at once.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection

from bot.storage.schema import metadata


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _settings_url() -> str:
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings().database_url
    except SettingsError as error:
        # Alembic prints a CommandError as one FAILED line instead of a traceback.
        raise CommandError("; ".join(error.lines)) from None


async def _migrate_at(url: str) -> None:
    from bot.storage.db import MIGRATION_LOCK_KEY, create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
            await conn.run_sync(_migrate)
    finally:
        await engine.dispose()


def _run_from_command_line() -> None:
    if context.config.config_file_name is not None:
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    url = _settings_url()
    if context.is_offline_mode():  # `alembic upgrade head --sql`: print the SQL, touch nothing
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_migrate_at(url))


connection = context.config.attributes.get("connection")
if connection is None:
    _run_from_command_line()
else:
    _migrate(connection)
