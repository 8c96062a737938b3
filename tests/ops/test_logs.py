"""Logs: one line per event, JSON that parses, and never the bot token.

The token is part of every Bot API URL, so it reaches logs through httpx
errors, python-telegram-bot's InvalidToken ("The token `…` was rejected"),
tracebacks and uncaught crashes. These tests provoke each of those for real,
in-process and through `evbot run` as a subprocess.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml
from telegram import Bot
from telegram.error import InvalidToken

from bot.ops.http_server import Health, HttpServer
from bot.ops.logs import MASK, JsonFormatter, RedactFilter, setup_logging
from bot.ops.metrics import Metrics
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_server import FakeTelegram
from tests.ops.test_health import send_junk

TOKEN = "7000000001:AAHsecretPart0123456789abcdef-XYZ"
SECRET_HALF = TOKEN.split(":", 1)[1]

log = logging.getLogger("evbot.test")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """setup_logging changes process-wide state; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    httpx_level = logging.getLogger("httpx").level
    hooks = sys.excepthook, threading.excepthook
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(httpx_level)
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)


def assert_clean(text: str) -> None:
    assert TOKEN not in text
    assert SECRET_HALF not in text
    assert quote(TOKEN, safe="") not in text


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_token_never_reaches_the_log_whatever_carries_it(
    fmt: str, restore_logging: None
) -> None:
    out = io.StringIO()
    setup_logging("INFO", fmt, [TOKEN], stream=out)
    # Someone turned httpx up to see requests: its URL lines carry the token.
    logging.getLogger("httpx").setLevel(logging.INFO)
    events = 0
    async with FakeTelegram(token=TOKEN) as tg:
        # 1. A real httpx error whose URL (and so message) holds the token.
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{tg.api_root}/bot{TOKEN}/noSuchMethod")
            events += 1  # httpx's own "HTTP Request: POST …" line
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError:
                log.exception("Telegram call failed")
                events += 1
        # 2. python-telegram-bot names the token in InvalidToken.
        tg.fail_next("getMe", status=401, description="Unauthorized")
        bot = Bot(TOKEN, base_url=f"{tg.api_root}/bot", base_file_url=f"{tg.api_root}/file/bot")
        with pytest.raises(InvalidToken) as caught:
            await bot.initialize()
        assert TOKEN in str(caught.value)  # the hazard is real
        log.error("cannot start: %s", caught.value, exc_info=caught.value)
        events += 2  # with httpx's line for PTB's getMe request
        await bot.shutdown()
    # 3. Percent-encoded, in `extra`, in a warning, and split over lines.
    log.warning("retrying %s", f"https://api.example/bot{quote(TOKEN, safe='')}/getMe")
    log.info("request", extra={"url": f"https://api.telegram.org/bot{TOKEN}/sendMessage"})
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(f"token {TOKEN} looks odd", UserWarning, stacklevel=1)
    log.info("feed title with a newline:\nforged line %s", TOKEN)
    events += 4

    logging.getLogger().handlers[0].flush()
    text = out.getvalue()
    assert_clean(text)
    assert MASK in text
    lines = text.splitlines()
    assert len(lines) == events, "one line per event"
    if fmt == "json":
        records = [json.loads(line) for line in lines]
        assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
        failed = next(r for r in records if r["message"] == "Telegram call failed")
        assert "HTTPStatusError" in failed["exception"]
        assert f"bot{MASK}/noSuchMethod" in failed["exception"]
        extra = next(r for r in records if r["message"] == "request")
        assert extra["url"] == f"https://api.telegram.org/bot{MASK}/sendMessage"
    else:
        assert "HTTPStatusError" in text
        assert "forged line" in lines[-1] and "\\n" in lines[-1]


def test_filter_masks_records_handled_by_other_formatters() -> None:
    """The filter alone is enough: message, arguments and traceback are masked in place."""
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET %s", (TOKEN,), None)
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getMe")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert RedactFilter([TOKEN]).filter(record)
    assert_clean(logging.Formatter().format(record))
    assert_clean(JsonFormatter().format(record))


def test_filter_without_secrets_leaves_records_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value %d", (3,), None)
    RedactFilter([""]).filter(record)
    assert record.args == (3,)


def test_uncaught_exceptions_are_logged_masked_on_one_line(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", [TOKEN], stream=out)
    try:
        raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    except InvalidToken as error:
        sys.excepthook(type(error), error, error.__traceback__)
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "CRITICAL"
    assert "InvalidToken" in record["exception"]
    assert_clean(line)


# ---- the real thing: `evbot run` with JSON logs at DEBUG -------------------------------


def child_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    env.update(settings)
    return env


async def run_evbot(
    tmp_path: Path, env: dict[str, str], *, stop_when: Callable[[str], bool] | None
) -> tuple[int, str]:
    """Run `evbot run`; SIGTERM it once a log line satisfies `stop_when` (or let it exit)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            async for raw in process.stderr:
                line = raw.decode("utf-8", "replace")
                lines.append(line)
                if stop_when is not None and stop_when(line) and process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    stop_when = None
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return code, "".join(lines)


def assert_json_lines(stderr: str) -> list[dict[str, object]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "no log output"
    records = []
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "logger", "message"} <= set(record)
        records.append(record)
    return records


async def test_evbot_run_logs_json_lines_without_the_token(tmp_path: Path) -> None:
    async with FakeTelegram(token=TOKEN) as tg, FeedServer() as feeds:
        catalog = tmp_path / "catalog.yaml"
        url = feeds.url("/missing.xml")
        feed = {"id": "broken", "name": "Broken", "url": url, "language": "tr"}
        catalog.write_text(yaml.safe_dump({"feeds": [feed]}), encoding="utf-8")
        env = child_env(
            tmp_path,
            EVBOT_TELEGRAM_TOKEN=TOKEN,
            EVBOT_TELEGRAM_API_URL=tg.api_root,
            EVBOT_DATABASE_URL=f"sqlite:///{tmp_path}/evbot.sqlite3",
            EVBOT_FEEDS_FILE=str(catalog),
            EVBOT_LOG_FORMAT="json",
            EVBOT_LOG_LEVEL="DEBUG",
        )

        # Telegram is connected before the scheduler starts, so once the broken
        # feed's warning is logged both halves of the service have been at work.
        code, stderr = await run_evbot(tmp_path, env, stop_when=lambda line: "HTTP 404" in line)
    assert code == 0, stderr[-2000:]
    assert_clean(stderr)
    records = assert_json_lines(stderr)
    messages = " ".join(str(r["message"]) for r in records)
    assert "connected to Telegram as @" in messages
    assert any(r["level"] == "DEBUG" for r in records)


async def test_evbot_run_on_a_rejected_token_exits_2_with_one_masked_line(tmp_path: Path) -> None:
    async with FakeTelegram(token=TOKEN) as tg:
        tg.fail_next("getMe", status=401, description="Unauthorized", times=5)
        env = child_env(
            tmp_path,
            EVBOT_TELEGRAM_TOKEN=TOKEN,
            EVBOT_TELEGRAM_API_URL=tg.api_root,
            EVBOT_DATABASE_URL=f"sqlite:///{tmp_path}/evbot.sqlite3",
            EVBOT_FEEDS_FILE=str(Path(__file__).with_name("empty_catalog.yaml")),
            EVBOT_LOG_FORMAT="json",
        )
        code, stderr = await run_evbot(tmp_path, env, stop_when=None)
    assert code == 2, stderr[-2000:]
    assert_clean(stderr)
    *logged, last = [line for line in stderr.splitlines() if line.strip()]
    # What was logged before is JSON, as asked; the verdict is one plain line, like a bad setting.
    assert_json_lines("\n".join(logged))
    assert last.startswith("evbot: cannot start: EVBOT_TELEGRAM_TOKEN: Telegram rejected")
    assert "Traceback" not in stderr and "CRITICAL" not in stderr


def test_database_passwords_are_masked_in_log_lines(restore_logging: None) -> None:
    """A driver error or a traceback may carry the whole database URL."""
    from bot.settings import Settings, secrets_of

    url = "postgresql://evbot:Pg-Secret-42@db.internal:5432/evbot"
    settings = Settings(database_url=url)
    out = io.StringIO()
    setup_logging("INFO", "text", secrets_of(settings), stream=out)
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        log.exception("connect failed; password alone: %s", "Pg-Secret-42")
    log.warning("another URL: %s", "postgresql://other:hunter2@elsewhere/db")
    logging.getLogger().handlers[0].flush()
    text = out.getvalue()
    assert "Pg-Secret-42" not in text
    assert "hunter2" not in text
    assert "postgresql://evbot:***@db.internal:5432/evbot" in text


async def test_junk_sent_to_the_http_port_is_one_info_line_each_not_an_error(
    restore_logging: None,
) -> None:
    out = io.StringIO()
    setup_logging("INFO", "text", [TOKEN], stream=out)

    async def health() -> Health:
        return Health(True)

    server = HttpServer(health=health, metrics=Metrics(), port=0, host="127.0.0.1")
    await server.start()
    try:
        await send_junk(server.port)
    finally:
        await server.stop()
    lines = out.getvalue().splitlines()
    refused = [line for line in lines if "refused a malformed HTTP request" in line]
    # Most of the junk is malformed HTTP that aiohttp reports (which ones differs
    # between aiohttp versions; the rest are well-formed 404/405s).
    assert len(refused) >= 5
    assert all(" INFO aiohttp.server: " in line for line in refused)
    assert not [line for line in lines if " ERROR " in line or "Traceback" in line]
