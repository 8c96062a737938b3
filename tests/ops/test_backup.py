"""`evbot db backup` and `evbot db restore`, as an operator runs them.

Chats with alerts still queued are backed up, the database is lost, the
backup is restored, and `evbot run` then delivers every queued alert to every
chat, as if nothing had happened.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from bench.delivery_bench import REPO, prepare
from tests.fakes.telegram_server import spawn_fake_telegram
from tests.support import database, postgres_url

CHATS = 5
STORIES = 2
EMPTY_CATALOG = Path(__file__).with_name("empty_catalog.yaml")


def base_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    return {**env, "EVBOT_DATABASE_URL": url, "PYTHONPATH": str(REPO)}


async def evbot(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode()


def remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def lose_database(kind: str, url: str) -> None:
    """The disaster: the database is gone and an empty one stands in its place."""
    if kind == "sqlite":
        remove_sqlite(url.removeprefix("sqlite:///"))
        return
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(postgres_url())
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_restored_backup_resumes_every_chat_and_queued_alert(
    kind: str, tmp_path: Path
) -> None:
    if kind == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    async with database(kind, str(tmp_path), own_database=True) as db:
        await prepare(db.url, chats=CHATS, stories=STORIES)
        env = base_env(db.url)
        backup = tmp_path / "evbot.backup"

        code, out = await evbot(tmp_path, env, "db", "backup", str(backup))
        assert code == 0, out
        assert f"backup written: {backup}" in out
        # A second backup never overwrites the first.
        code, out = await evbot(tmp_path, env, "db", "backup", str(backup))
        assert code == 1 and "exists already" in out

        await lose_database(kind, db.url)
        code, out = await evbot(tmp_path, env, "db", "restore", str(backup))
        assert code == 0, out

        async with spawn_fake_telegram() as tg:
            run_env = {
                **env,
                "EVBOT_TELEGRAM_TOKEN": tg.token,
                "EVBOT_TELEGRAM_API_URL": tg.api_root,
                "EVBOT_FEEDS_FILE": str(EMPTY_CATALOG),
            }
            service = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=tmp_path,
                env=run_env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await tg.wait_for("sendMessage", count=CHATS * STORIES, ok=True, timeout=90)
            finally:
                service.terminate()
                await asyncio.wait_for(service.wait(), timeout=30)
            got: Counter[tuple[int, str]] = Counter()
            for call in await tg.calls_of("sendMessage"):
                if call.get("status") == 200:
                    text = str(call["params"]["text"])
                    for n in re.findall(r"değişiklik (\d+)", text):
                        got[int(call["params"]["chat_id"]), n] += 1
        expected = {(chat, str(n)) for chat in range(1, CHATS + 1) for n in range(STORIES)}
        assert set(got) == expected
        assert all(count == 1 for count in got.values()), got


async def test_backup_refuses_an_in_memory_database(tmp_path: Path) -> None:
    code, out = await evbot(
        tmp_path, base_env("sqlite:///:memory:"), "db", "backup", str(tmp_path / "b")
    )
    assert code == 2
    assert out.startswith("EVBOT_DATABASE_URL: an in-memory SQLite database has no backup")


async def test_restore_refuses_a_file_that_is_not_an_evbot_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    target = tmp_path / "evbot.sqlite3"
    code, out = await evbot(tmp_path, base_env(f"sqlite:///{target}"), "db", "restore", str(junk))
    assert code == 1
    assert out.startswith("restore failed:")
    assert not target.exists()
