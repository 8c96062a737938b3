"""Start-up problems the operator must fix: one line naming what is wrong, exit status 2.

An unreachable database, a bad login, a directory where the SQLite file should
be, a taken HTTP port (and, in test_logs, a token Telegram rejects) used to end
in a CRITICAL traceback with exit 1. Each case runs the real `evbot run` as a
subprocess; the cases run concurrently to keep the suite quick.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.cli.main import main
from bot.storage import Storage
from tests.support import postgres_reachable, postgres_url

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Sup3r-Secret-Pw"
EMPTY_CATALOG = Path(__file__).with_name("empty_catalog.yaml")


async def evbot_run(tmp_path: Path, **settings: str) -> tuple[int, str]:
    """`evbot run --console` with these settings; (exit status, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    env.update(PYTHONPATH=str(REPO), EVBOT_FEEDS_FILE=str(EMPTY_CATALOG), **settings)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--console",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, err.decode("utf-8", "replace")


def assert_one_line_exit_2(case: str, code: int, stderr: str, variable: str) -> str:
    """The verdict is the last line, names the variable, and nothing crashed on the way."""
    assert code == 2, f"{case}: exit {code}\n{stderr[-3000:]}"
    assert "Traceback" not in stderr, f"{case}:\n{stderr[-3000:]}"
    assert "CRITICAL" not in stderr, f"{case}:\n{stderr[-3000:]}"
    assert PASSWORD not in stderr, f"{case}: password shown\n{stderr}"
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"evbot: cannot start: {variable}: "), f"{case}: {last}"
    return last


async def test_start_up_failures_are_one_line_with_exit_2(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    (tmp_path / "a-directory").mkdir()
    cases: dict[str, tuple[str, dict[str, str]]] = {
        "postgres unreachable": (
            "EVBOT_DATABASE_URL",
            {"EVBOT_DATABASE_URL": f"postgresql://evbot:{PASSWORD}@127.0.0.1:1/evbot"},
        ),
        "sqlite path is a directory": (
            "EVBOT_DATABASE_URL",
            {"EVBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'a-directory'}"},
        ),
        "http port taken": (
            "EVBOT_HTTP_PORT",
            {
                "EVBOT_DATABASE_URL": f"sqlite:///{tmp_path}/port.sqlite3",
                "EVBOT_HTTP_PORT": str(port),
            },
        ),
    }
    if postgres_reachable():
        parts = urlsplit(postgres_url())
        where = f"{parts.hostname}:{parts.port or 5432}"
        cases["postgres bad login"] = (
            "EVBOT_DATABASE_URL",
            {"EVBOT_DATABASE_URL": f"postgresql://no_such_role:{PASSWORD}@{where}/test"},
        )
    dirs = {}
    for n, case in enumerate(cases):
        dirs[case] = tmp_path / f"case{n}"
        dirs[case].mkdir()
    try:
        results = await asyncio.gather(
            *(evbot_run(dirs[case], **settings) for case, (_, settings) in cases.items())
        )
    finally:
        taken.close()
    lines = {
        case: assert_one_line_exit_2(case, code, stderr, cases[case][0])
        for case, (code, stderr) in zip(cases, results, strict=True)
    }
    assert "refused" in lines["postgres unreachable"].lower()
    assert "evbot:***@127.0.0.1:1" in lines["postgres unreachable"]
    assert "unable to open database file" in lines["sqlite path is a directory"]
    assert f"127.0.0.1:{port}" in lines["http port taken"]
    assert "in use" in lines["http port taken"]
    if "postgres bad login" in lines:
        assert "no_such_role" in lines["postgres bad login"]


CliRun = Callable[..., tuple[int, str]]


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> CliRun:
    """The `evbot run --console` entry point in-process, with only these settings."""

    def run(**settings: str) -> tuple[int, str]:
        for name in list(os.environ):
            if name.startswith("EVBOT_"):
                monkeypatch.delenv(name)
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        with pytest.raises(SystemExit) as exit_:
            main(["run", "--console"])
        return int(exit_.value.code or 0), capsys.readouterr().err

    return run


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "EVBOT_POLL_INTERVAL",
            "99999999999999999999",
            "Input should be less than or equal to 604800",
        ),
        ("EVBOT_RETENTION_DAYS", "99999999999", "Input should be less than or equal to 3650"),
        ("EVBOT_SEND_RATE", "inf", "Input should be a finite number"),
        ("EVBOT_HTTP_HOST", "0.0.0.0/8", "must be a host name or IP address"),
    ],
)
def test_out_of_range_settings_are_refused_in_one_line(
    cli: CliRun, variable: str, value: str, expected: str
) -> None:
    code, stderr = cli(**{variable: value})
    assert code == 2
    [line] = stderr.strip().splitlines()
    assert line.startswith(f"evbot: {variable}: {expected}"), line


def test_a_bad_database_url_never_shows_its_password(cli: CliRun) -> None:
    code, stderr = cli(EVBOT_DATABASE_URL=f"mysql://evbot:{PASSWORD}@db.example/evbot")
    assert code == 2
    [line] = stderr.strip().splitlines()
    assert line.startswith("evbot: EVBOT_DATABASE_URL: must be a SQLAlchemy URL")
    assert PASSWORD not in line
    assert "mysql://evbot:***@db.example/evbot" in line


async def test_a_failed_sqlite_open_leaves_no_worker_thread_to_die_after_exit(
    tmp_path: Path,
) -> None:
    # aiosqlite stops the thread of a connection that failed to open without
    # waiting; if `evbot run` exits meanwhile, that thread dies with a traceback
    # beside the one-line error (seen once in CI under load).
    (tmp_path / "a-directory").mkdir()
    before = set(threading.enumerate())
    with pytest.raises(Exception, match="unable to open database file"):
        await Storage.open(f"sqlite:///{tmp_path / 'a-directory'}")
    left = [
        t
        for t in set(threading.enumerate()) - before
        if t.name.endswith("(_connection_worker_thread)") and t.is_alive()
    ]
    assert left == []
