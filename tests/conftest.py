"""Fixtures shared across the suite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from bot.storage import Storage
from tests.support import DatabaseTarget, FakeClock, database

# The same opt-in as bot.telegram_app, for tests that use python-telegram-bot alone.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at a fixed start time."""
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[DatabaseTarget]:
    """A fresh database, once on SQLite and once on PostgreSQL."""
    async with database(request.param, str(tmp_path)) as target:
        yield target


@pytest.fixture
async def storage(db: DatabaseTarget) -> AsyncIterator[Storage]:
    """Storage on a fresh database, once on SQLite and once on PostgreSQL."""
    store = await Storage.open(db.url, schema=db.schema)
    try:
        yield store
    finally:
        await store.close()
