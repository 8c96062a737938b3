"""`evbot doctor`: check settings, database, Telegram, rules and every feed once.

Each check is a small async function returning `Check` values (it does the
I/O and never raises); `render_report` and `exit_status` are pure and turn
the list into the printed report and the exit status. Nothing here writes:
the database is not migrated and a missing SQLite file is not created.

Statuses: ✓ ok, ! warning (works, but look), ✗ failure (exit 1), – skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bot.ops.logs import Redactor
from bot.ops.masking import mask_url
from bot.settings import DEFAULT_DATABASE_URL, Settings, secrets_of
from feeds.catalog import DEFAULT_CATALOG_PATH, CatalogError, FeedSpec, load_catalog
from feeds.fetch import FetchStatus, Validators, build_client, fetch
from feeds.parse import FeedParseError, parse_feed

DEFAULT_TIMEOUT = 10.0
FEED_CONCURRENCY = 10


class Status(StrEnum):
    """Outcome of one check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


MARKS = {Status.OK: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "–"}


@dataclass(frozen=True)
class Check:
    """One line of the report, with optional indented notes under it."""

    name: str
    status: Status
    detail: str
    notes: tuple[str, ...] = ()


# ---- pure: the report --------------------------------------------------------------


def render_report(checks: Sequence[Check]) -> str:
    """The readable report: one line per check, then a summary line."""
    width = min(28, max((len(c.name) for c in checks), default=0))
    lines = []
    for check in checks:
        lines.append(f"{MARKS[check.status]} {check.name.ljust(width)}  {check.detail}")
        lines.extend(f"    {note}" for note in check.notes)
    counts = {status: sum(c.status is status for c in checks) for status in Status}
    summary = (
        f"{_plural(len(checks), 'check')}: {counts[Status.OK]} ok, {counts[Status.FAIL]} failed, "
        f"{_plural(counts[Status.WARN], 'warning')}, {counts[Status.SKIP]} skipped"
    )
    verdict = "problems found" if counts[Status.FAIL] else "all good"
    lines.append("")
    lines.append(f"{summary} — {verdict}")
    return "\n".join(lines)


def exit_status(checks: Sequence[Check]) -> int:
    """1 if any check failed, else 0 (warnings and skips do not fail)."""
    return 1 if any(c.status is Status.FAIL for c in checks) else 0


def redact_checks(checks: Sequence[Check], redact: Redactor) -> list[Check]:
    """The same checks with secrets masked (PTB's InvalidToken names the token)."""
    return [
        Check(c.name, c.status, redact(c.detail), tuple(redact(n) for n in c.notes)) for c in checks
    ]


def display_url(url: str) -> str:
    """A database URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return mask_url(url)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _error_text(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    first = lines[0][:300] if lines else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def settings_summary(settings: Settings) -> Check:
    """What the service would run with."""
    token = "token set" if settings.telegram_token else "no token (console mode only)"
    http = f"HTTP port {settings.http_port}" if settings.http_port else "HTTP port off"
    parts = [
        display_url(settings.database_url),
        token,
        f"poll every {settings.poll_interval} s",
        http,
        f"log {settings.log_format}/{settings.log_level}",
        f"{len(settings.admin_ids)} admin id(s)",
    ]
    notes = []
    if settings.database_url == DEFAULT_DATABASE_URL:
        notes.append("database is the default SQLite file, relative to the working directory")
    return Check("settings", Status.OK, ", ".join(parts), tuple(notes))


def settings_failure(lines: Sequence[str]) -> list[Check]:
    """A SettingsError as report lines."""
    return [Check("settings", Status.FAIL, line) for line in lines]


# ---- I/O: the checks ---------------------------------------------------------------


def head_revision() -> str | None:
    """The newest migration this evbot ships."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.storage.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def _known_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.storage.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}


def _missing_sqlite_file(url: str) -> bool:
    # Connecting would create the file (and its directory): the doctor only looks.
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(parsed.database or "").expanduser().exists()


async def check_database(url: str, *, time_limit: float = DEFAULT_TIMEOUT) -> Check:
    """Connect and compare the schema revision with the newest migration (never migrates)."""
    from bot.storage.db import create_engine, current_revision

    name = "database"
    shown = display_url(url)
    try:
        parsed = make_url(url)
    except Exception as error:
        return Check(name, Status.FAIL, f"{shown}: not a usable URL: {_error_text(error)}")
    if _missing_sqlite_file(url):
        return Check(
            name,
            Status.WARN,
            f"{shown}: file does not exist yet; it is created and migrated at start-up",
        )
    head = head_revision()
    try:
        engine = create_engine(url)
    except Exception as error:
        return Check(name, Status.FAIL, f"{shown}: {_error_text(error)}")
    try:
        async with asyncio.timeout(time_limit):
            revision = await current_revision(engine)
    except TimeoutError:
        return Check(name, Status.FAIL, f"{shown}: no answer within {time_limit:g} s")
    except Exception as error:
        return Check(name, Status.FAIL, f"{shown}: cannot connect: {_error_text(error)}")
    finally:
        await engine.dispose()
    dialect = parsed.get_backend_name()
    if revision == head:
        return Check(name, Status.OK, f"{dialect}, schema at {revision} (latest)")
    if revision is None:
        return Check(
            name,
            Status.WARN,
            f"{dialect}, empty: migrations run at start-up (or `evbot db upgrade`)",
        )
    if revision in _known_revisions():
        return Check(
            name,
            Status.WARN,
            f"{dialect}, schema at {revision}, latest is {head}: "
            "upgraded at start-up (or `evbot db upgrade`)",
        )
    return Check(
        name,
        Status.FAIL,
        f"{dialect}, schema at unknown revision {revision} (newest known {head}): "
        "written by a newer evbot?",
    )


async def check_telegram(settings: Settings, *, time_limit: float = DEFAULT_TIMEOUT) -> Check:
    """getMe through the real python-telegram-bot client and EVBOT_TELEGRAM_API_URL."""
    name = "telegram"
    if settings.telegram_token is None:
        return Check(
            name,
            Status.SKIP,
            "EVBOT_TELEGRAM_TOKEN not set (required for `evbot run`; `--console` runs without)",
        )
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError
    from telegram.request import HTTPXRequest

    api = settings.telegram_api_url
    request = HTTPXRequest(
        connect_timeout=time_limit, read_timeout=time_limit, write_timeout=time_limit
    )
    bot = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=request,
    )
    try:
        async with asyncio.timeout(time_limit * 2):
            me = await bot.get_me()
    except InvalidToken:
        return Check(
            name, Status.FAIL, f"{api}: the token was rejected (check EVBOT_TELEGRAM_TOKEN)"
        )
    except TimeoutError:
        return Check(name, Status.FAIL, f"{api}: no answer within {time_limit * 2:g} s")
    except TelegramError as error:
        return Check(name, Status.FAIL, f"{api}: {_error_text(error)}")
    except Exception as error:
        return Check(name, Status.FAIL, f"{api}: {_error_text(error)}")
    finally:
        await request.shutdown()
    return Check(name, Status.OK, f"@{me.username} (id {me.id}) via {api}")


def check_rules_file(path: Path | None) -> Check:
    """Validate and compile the rules file."""
    from rules import DEFAULT_RULES_PATH, RulesError, check_rules, load_rules

    source = path or DEFAULT_RULES_PATH
    problems = check_rules(source)
    if problems:
        more = len(problems) - 1
        extra = f" (+{more} more; see `evbot check-rules`)" if more else ""
        return Check("rules", Status.FAIL, problems[0] + extra, tuple(problems[1:10]))
    try:
        ruleset = load_rules(source)
    except RulesError as error:
        return Check("rules", Status.FAIL, error.problems[0] if error.problems else str(error))
    except Exception as error:
        return Check("rules", Status.FAIL, f"{source}: {_error_text(error)}")
    return Check("rules", Status.OK, f"{source}: {len(ruleset.categories)} categories")


async def check_feed(
    client: httpx.AsyncClient, spec: FeedSpec, *, time_limit: float, max_bytes: int
) -> Check:
    """Fetch and parse one feed once, as a poll would."""
    name = f"feed {spec.id}"
    result = await fetch(
        client, spec.url, Validators(), max_bytes=max_bytes, total_timeout=time_limit
    )
    if result.status is not FetchStatus.OK or result.body is None:
        return Check(name, Status.FAIL, f"{spec.url}: {result.error_kind}: {result.error}")
    try:
        parsed = await asyncio.to_thread(
            parse_feed,
            result.body,
            base_url=result.final_url,
            now=datetime.now(UTC),
            content_type=result.content_type,
        )
    except FeedParseError as error:
        return Check(name, Status.FAIL, f"{spec.url}: not a usable feed: {error}")
    detail = f"HTTP {result.http_status}, {len(parsed.entries)} entries, {result.elapsed:.2f} s"
    notes = tuple(f"warning: {w}" for w in parsed.warnings[:5])
    if result.moved_to:
        return Check(name, Status.WARN, f"{detail}; moved permanently to {result.moved_to}", notes)
    if not parsed.entries:
        return Check(name, Status.WARN, f"{detail}; the feed is empty", notes)
    return Check(name, Status.OK, detail, notes)


async def check_feeds(
    catalog: Path | None,
    *,
    time_limit: float = DEFAULT_TIMEOUT,
    max_bytes: int = 10 * 1024 * 1024,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Check]:
    """The catalog, then every enabled feed in it once, concurrently."""
    source = catalog or DEFAULT_CATALOG_PATH
    try:
        specs = load_catalog(source)
    except CatalogError as error:
        first = error.problems[0] if error.problems else str(error)
        return [Check("feed catalog", Status.FAIL, first, tuple(error.problems[1:10]))]
    enabled = [s for s in specs if s.enabled]
    summary = f"{source}: {_plural(len(specs), 'feed')}, {len(enabled)} enabled"
    checks = [Check("feed catalog", Status.OK, summary)]
    slots = asyncio.Semaphore(FEED_CONCURRENCY)
    async with build_client(
        connect_timeout=time_limit, read_timeout=time_limit, transport=transport
    ) as client:

        async def one(spec: FeedSpec) -> Check:
            async with slots:
                try:
                    return await check_feed(
                        client, spec, time_limit=time_limit, max_bytes=max_bytes
                    )
                except Exception as error:  # a failing feed is a line, not a crash
                    return Check(f"feed {spec.id}", Status.FAIL, _error_text(error))

        results = await asyncio.gather(*(one(s) for s in enabled))
    checks.extend(results)
    disabled = [s for s in specs if not s.enabled]
    checks.extend(Check(f"feed {s.id}", Status.SKIP, "disabled in the catalog") for s in disabled)
    return checks


async def run_doctor(
    settings: Settings,
    *,
    time_limit: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Check]:
    """Every check, the slow ones concurrently, in report order, secrets masked."""
    database, telegram, feeds = await asyncio.gather(
        check_database(settings.database_url, time_limit=time_limit),
        check_telegram(settings, time_limit=time_limit),
        check_feeds(
            settings.feeds_file,
            time_limit=time_limit,
            max_bytes=settings.max_feed_bytes,
            transport=transport,
        ),
    )
    checks = [
        settings_summary(settings),
        database,
        telegram,
        check_rules_file(settings.rules_file),
        *feeds,
    ]
    return redact_checks(checks, Redactor(secrets_of(settings)))
