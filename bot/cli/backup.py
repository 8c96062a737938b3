"""`evbot db backup PATH` and `evbot db restore PATH`: a consistent copy of the database and back.

SQLite: `VACUUM INTO` writes a consistent, compact copy while the service
runs (WAL readers do not block it); restoring copies a backup into the
database file through SQLite's online backup API, which takes the proper
locks and leaves no stale WAL behind. Stop the service before restoring.

PostgreSQL: the standard tools do it. `backup` runs
`pg_dump --format=custom` and `restore` runs `pg_restore --clean
--if-exists --no-owner`, with the password passed in PGPASSWORD (never on
the command line). Without the tools installed, both print the command to
run instead and exit 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bot.ops.masking import mask_url
from bot.settings import SettingsError, load_settings

EXIT_SETTINGS = 2


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_dump_argv(url: URL, path: Path) -> list[str]:
    """The pg_dump call that `evbot db backup` runs (custom format: compressed, restorable)."""
    dsn, _ = _libpq(url)
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={path}", f"--dbname={dsn}"]


def pg_restore_argv(url: URL, path: Path) -> list[str]:
    """The pg_restore call that `evbot db restore` runs (replaces evbot's tables)."""
    dsn, _ = _libpq(url)
    return [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        f"--dbname={dsn}",
        str(path),
    ]


def _recipe(argv: list[str]) -> str:
    shown = " ".join(f"'{a}'" if " " in a else a for a in argv)
    return f"PGPASSWORD=... {mask_url(shown)}"


def _run_tool(argv: list[str], url: URL) -> int:
    if shutil.which(argv[0]) is None:
        print(f"{argv[0]} is not installed; with the PostgreSQL client tools, run:")
        print(f"  {_recipe(argv)}")
        return 1
    _, env = _libpq(url)
    done = subprocess.run(argv, env=env, check=False)
    return 0 if done.returncode == 0 else 1


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise SettingsError(["EVBOT_DATABASE_URL: an in-memory SQLite database has no backup"])
    return Path(url.database).expanduser()


def sqlite_backup(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (VACUUM INTO)."""
    with sqlite3.connect(source) as conn:
        conn.execute("VACUUM INTO ?", (str(target),))
    conn.close()


def sqlite_restore(backup: Path, target: Path) -> None:
    """Replace the database at `target` with the backup's content (online backup API)."""
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as source:
        problems = source.execute("PRAGMA integrity_check").fetchone()
        if problems is None or problems[0] != "ok":
            raise ValueError(f"{backup} is damaged: {problems}")
        tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            raise ValueError(f"{backup} is not an evbot database (no alembic_version table)")
        target.parent.mkdir(parents=True, exist_ok=True)
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
    source.close()


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent copy of the database to PATH."""
    try:
        url = make_url(load_settings().database_url)
        path = Path(args.path)
        if path.exists():
            print(f"{path} exists already; choose a new file name")
            return 1
        if url.get_backend_name() != "sqlite":
            code = _run_tool(pg_dump_argv(url, path), url)
        else:
            sqlite_backup(_sqlite_file(url), path)
            code = 0
    except SettingsError as error:
        print("\n".join(error.lines))
        return EXIT_SETTINGS
    except sqlite3.Error as error:
        print(f"backup failed: {error}")
        return 1
    if code == 0:
        print(f"backup written: {path} ({path.stat().st_size} bytes)")
    return code


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the database's content with the backup at PATH (stop the service first)."""
    try:
        url = make_url(load_settings().database_url)
        path = Path(args.path)
        if not path.is_file():
            print(f"{path}: no such backup file")
            return 1
        if url.get_backend_name() != "sqlite":
            code = _run_tool(pg_restore_argv(url, path), url)
        else:
            sqlite_restore(path, _sqlite_file(url))
            code = 0
    except SettingsError as error:
        print("\n".join(error.lines))
        return EXIT_SETTINGS
    except (sqlite3.Error, ValueError) as error:
        print(f"restore failed: {error}")
        return 1
    if code == 0:
        print(f"restored from {path}; start evbot (it migrates an older backup on start)")
    return code


def register(db_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `backup` and `restore` to `evbot db`."""
    backup = db_sub.add_parser(
        "backup",
        help="write a consistent copy of the database (SQLite: VACUUM INTO; PostgreSQL: pg_dump)",
    )
    backup.add_argument("path", metavar="PATH", help="new file to write")
    backup.set_defaults(func=cmd_backup)
    restore = db_sub.add_parser(
        "restore",
        help="replace the database with a backup (stop the service first)",
    )
    restore.add_argument("path", metavar="PATH", help="a file written by `evbot db backup`")
    restore.set_defaults(func=cmd_restore)
