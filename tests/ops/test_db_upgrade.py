"""`evbot db upgrade` runs the migrations alone, on SQLite and PostgreSQL, as a real command."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.cli.doctor import head_revision
from bot.storage.db import create_engine, current_revision
from bot.storage.schema import metadata
from tests.support import database


async def db_upgrade(tmp_path: Path, url: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    env["EVBOT_DATABASE_URL"] = url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "db",
        "upgrade",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_evbot_db_upgrade_migrates_an_empty_database_to_head(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, str(tmp_path), own_database=True) as target:
        code, out = await db_upgrade(tmp_path, target.url)
        assert code == 0, out
        head = head_revision()
        assert out.strip().endswith(f"database is at revision {head}")

        engine = create_engine(target.url)
        try:
            assert await current_revision(engine) == head
            async with engine.connect() as conn:
                tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()
        assert set(metadata.tables) <= tables
