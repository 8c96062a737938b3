"""`evbot doctor` against the fake Telegram and feed servers: good, bad, broken settings."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import yaml

from bot.cli.doctor import (
    Check,
    Status,
    check_database,
    exit_status,
    head_revision,
    render_report,
    run_doctor,
)
from bot.settings import Settings
from bot.storage.db import create_engine, upgrade
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.fakes.telegram_server import FakeTelegram

TOKEN = "7000000001:AAHsecretPart0123456789abcdef-XYZ"
ENTRY = FeedItem("Togg yeni elektrikli modelini tanıttı", link="https://n.example/1")


async def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/evbot.sqlite3"
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


def write_catalog(tmp_path: Path, feeds: dict[str, str], disabled: str | None = None) -> Path:
    entries: list[dict[str, object]] = [
        {"id": fid, "name": fid.title(), "url": url, "language": "tr"} for fid, url in feeds.items()
    ]
    if disabled:
        entries.append(
            {
                "id": disabled,
                "name": "Off",
                "url": "http://127.0.0.1:9/x",
                "language": "en",
                "enabled": False,
            }
        )
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"feeds": entries}), encoding="utf-8")
    return path


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# ---- pure report -------------------------------------------------------------------


def test_report_has_one_line_per_check_marks_and_a_summary() -> None:
    checks = [
        Check("settings", Status.OK, "fine"),
        Check("database", Status.WARN, "empty", ("note",)),
        Check("telegram", Status.SKIP, "no token"),
        Check("feed x", Status.FAIL, "HTTP 404"),
    ]
    report = render_report(checks)
    lines = report.splitlines()
    assert lines[0].startswith("✓ settings")
    assert lines[1].startswith("! database")
    assert lines[2] == "    note"
    assert lines[3].startswith("– telegram")
    assert lines[4].startswith("✗ feed x")
    assert lines[-1] == "4 checks: 1 ok, 1 failed, 1 warning, 1 skipped — problems found"
    assert exit_status(checks) == 1
    assert exit_status(checks[:3]) == 0


# ---- the checks --------------------------------------------------------------------


async def test_doctor_all_good(tmp_path: Path) -> None:
    async with FakeTelegram(token=TOKEN) as tg, FeedServer() as feeds:
        feeds.add_feed("/a.xml", entries=[ENTRY])
        feeds.add_feed("/b.xml", entries=[ENTRY], kind="atom")
        settings = Settings(
            telegram_token=TOKEN,  # type: ignore[arg-type]
            telegram_api_url=tg.api_root,
            database_url=await migrated_sqlite(tmp_path),
            feeds_file=write_catalog(
                tmp_path, {"a": feeds.url("/a.xml"), "b": feeds.url("/b.xml")}, disabled="off"
            ),
        )
        checks = await run_doctor(settings, time_limit=5)
        assert len(tg.calls_of("getMe")) == 1
    found = by_name(checks)
    assert [c.name for c in checks] == [
        "settings",
        "database",
        "telegram",
        "rules",
        "feed catalog",
        "feed a",
        "feed b",
        "feed off",
    ]
    assert found["database"].status is Status.OK
    assert found["database"].detail == f"sqlite, schema at {head_revision()} (latest)"
    assert found["telegram"].detail.startswith("@evbot_test_bot (id 7000000001)")
    assert found["rules"].status is Status.OK and "8 categories" in found["rules"].detail
    assert found["feed a"].detail.startswith("HTTP 200, 1 entries")
    assert found["feed off"].status is Status.SKIP
    assert exit_status(checks) == 0
    assert TOKEN not in render_report(checks)


async def test_doctor_reports_every_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("categories: [\n", encoding="utf-8")
    async with FakeTelegram(token=TOKEN) as tg, FeedServer() as feeds:
        tg.fail_next("getMe", status=401, description="Unauthorized")
        feeds.add_feed("/ok.xml", entries=[ENTRY])
        feeds.set_raw(
            "/page.html",
            body=b"<!doctype html><html><body>hi</body></html>",
            content_type="text/html",
        )
        settings = Settings(
            telegram_token=TOKEN,  # type: ignore[arg-type]
            telegram_api_url=tg.api_root,
            database_url=f"sqlite:///{tmp_path}/never-created.sqlite3",
            rules_file=rules,
            feeds_file=write_catalog(
                tmp_path,
                {
                    "ok": feeds.url("/ok.xml"),
                    "missing": feeds.url("/missing.xml"),
                    "page": feeds.url("/page.html"),
                },
            ),
        )
        checks = await run_doctor(settings, time_limit=5)
    found = by_name(checks)
    assert found["database"].status is Status.WARN  # created at start-up; the doctor only looks
    assert not (tmp_path / "never-created.sqlite3").exists()
    assert found["telegram"].status is Status.FAIL
    assert "token was rejected" in found["telegram"].detail
    assert found["rules"].status is Status.FAIL
    assert str(rules) in found["rules"].detail
    assert found["feed ok"].status is Status.OK
    assert found["feed missing"].status is Status.FAIL
    assert "http_404" in found["feed missing"].detail
    assert found["feed page"].status is Status.FAIL
    assert "HTML" in found["feed page"].detail
    assert exit_status(checks) == 1
    assert TOKEN not in render_report(checks)


async def test_database_check_names_an_empty_and_an_unreachable_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    check = await check_database(f"sqlite:///{empty}")
    assert check.status is Status.WARN
    assert "migrations run at start-up" in check.detail

    down = await check_database("postgresql://evbot:s3cret@127.0.0.1:9/evbot", time_limit=5)
    assert down.status is Status.FAIL
    assert "s3cret" not in down.detail
    assert down.detail.startswith("postgresql://evbot:***@127.0.0.1:9/evbot: cannot connect")


# ---- the command line ---------------------------------------------------------------


def child_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    env.update(settings)
    return env


async def evbot(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_evbot_doctor_command_exits_1_on_a_problem(tmp_path: Path) -> None:
    # The all-good path is test_doctor_all_good; here the command line's own wiring.
    async with FakeTelegram(token=TOKEN) as tg, FeedServer() as feeds:
        feeds.add_feed("/a.xml", entries=[ENTRY])
        catalog = {"a": feeds.url("/a.xml"), "gone": feeds.url("/gone.xml")}
        env = child_env(
            EVBOT_TELEGRAM_TOKEN=TOKEN,
            EVBOT_TELEGRAM_API_URL=tg.api_root,
            EVBOT_DATABASE_URL=await migrated_sqlite(tmp_path),
            EVBOT_FEEDS_FILE=str(write_catalog(tmp_path, catalog)),
        )
        code, out, err = await evbot(tmp_path, env, "doctor", "--timeout", "5")
    assert code == 1, out + err
    assert TOKEN not in out + err
    assert "✓ telegram" in out
    assert "✓ feed a" in out
    assert "✗ feed gone" in out
    assert out.rstrip().endswith("problems found")


async def test_evbot_doctor_with_invalid_settings_exits_2(tmp_path: Path) -> None:
    env = child_env(EVBOT_POLL_INTERVAL="often", EVBOT_TELEGRAM_TOKEN=TOKEN)
    code, out, _ = await evbot(tmp_path, env, "doctor")
    assert code == 2
    assert "✗ settings  EVBOT_POLL_INTERVAL:" in out
    assert TOKEN not in out
