"""The `alembic` command line from the repository root and `evbot db current`, as real commands.

Alembic takes the database from evbot's settings (EVBOT_DATABASE_URL), so an
operator can inspect, upgrade and step back migrations by hand.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.cli.doctor import head_revision
from bot.storage.db import create_engine, current_revision
from tests.support import database

ROOT = Path(__file__).resolve().parents[2]


async def run(argv: list[str], *, url: str, cwd: Path) -> tuple[int, str]:
    """Run a command with only EVBOT_DATABASE_URL set among evbot's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    env["EVBOT_DATABASE_URL"] = url
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def alembic(*args: str, url: str) -> str:
    """`alembic ARGS` from the repository root; its output, after checking it succeeded."""
    code, out = await run([sys.executable, "-m", "alembic", *args], url=url, cwd=ROOT)
    assert code == 0, out
    return out


async def evbot_db_current(url: str, cwd: Path) -> str:
    code, out = await run([sys.executable, "-m", "bot", "db", "current"], url=url, cwd=cwd)
    assert code == 0, out
    return out.strip()


async def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


# Several interpreter start-ups each: room for a loaded machine beyond the usual 120 s.
@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_alembic_upgrade_current_downgrade_on_evbots_database(
    kind: str, tmp_path: Path
) -> None:
    head = head_revision()
    assert head is not None and head != "0001"
    async with database(kind, str(tmp_path), own_database=True) as target:
        url = target.url
        out = await alembic("upgrade", "head", url=url)
        assert f"-> {head}" in out  # alembic logs each step it runs
        assert "chat_keywords" in await tables(url)
        assert (await alembic("current", url=url)).strip().endswith(f"{head} (head)")
        assert await evbot_db_current(url, tmp_path) == f"database is at revision {head} (head)"

        await alembic("downgrade", "-1", url=url)
        previous = previous_revision(head)
        engine = create_engine(url)
        try:
            assert await current_revision(engine) == previous
        finally:
            await engine.dispose()
        assert await evbot_db_current(url, tmp_path) == (
            f"database is at revision {previous}, not head ({head}): run `evbot db upgrade`"
        )
        # The last step really went: upgrading runs it again.
        out = await alembic("upgrade", "head", url=url)
        assert f"{previous} -> {head}" in out


def previous_revision(revision: str) -> str | None:
    """The revision a one-step downgrade from `revision` lands on."""
    from alembic.script import ScriptDirectory

    from bot.storage.db import MIGRATIONS_DIR

    down = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision).down_revision
    assert down is None or isinstance(down, str)
    return down


async def test_alembic_history_and_db_current_before_any_migration(tmp_path: Path) -> None:
    head = head_revision()
    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    history = await alembic("history", url=url)
    assert "<base> -> 0001" in history and f"-> {head} (head)" in history
    assert await evbot_db_current(url, tmp_path) == (
        f"database has no schema yet (head is {head}): run `evbot db upgrade`"
    )


async def test_alembic_names_a_bad_database_setting_in_one_line(tmp_path: Path) -> None:
    code, out = await run(
        [sys.executable, "-m", "alembic", "current"], url="mysql://nope/x", cwd=ROOT
    )
    assert code != 0
    assert "FAILED: EVBOT_DATABASE_URL: must be a SQLAlchemy URL" in out
    assert "Traceback" not in out


async def test_evbot_db_current_reports_an_unreachable_database(tmp_path: Path) -> None:
    code, out = await run(
        [sys.executable, "-m", "bot", "db", "current"],
        url="postgresql://evbot@127.0.0.1:9/evbot",
        cwd=tmp_path,
    )
    assert code == 1
    assert out.startswith("evbot: cannot read the database:")
    assert "Traceback" not in out


@pytest.mark.parametrize(
    "argv", [["db", "upgrade"], ["feeds", "list"]], ids=["db upgrade", "feeds list"]
)
async def test_commands_that_open_the_database_say_in_one_line_that_it_is_away(
    tmp_path: Path, argv: list[str]
) -> None:
    code, out = await run(
        [sys.executable, "-m", "bot", *argv],
        url="postgresql://evbot@127.0.0.1:9/evbot",
        cwd=tmp_path,
    )
    assert code == 1
    assert out.startswith("evbot: cannot reach the database: ConnectionRefusedError"), out
    assert "Traceback" not in out
