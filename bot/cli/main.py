"""The `evbot` command line: run, demo, classify, check-rules, eval-rules, feeds, db."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import DBAPIError

from bot.cli import backup as cli_backup
from bot.cli import feeds as cli_feeds
from bot.cli import ops as cli_ops
from bot.cli import rules as cli_rules
from bot.ops.logs import setup_logging
from bot.ops.masking import mask_url
from bot.settings import Settings, SettingsError, load_settings, secrets_of

EXIT_SETTINGS = 2


def _settings_or_exit(*, require_token: bool = False) -> Settings:
    try:
        return load_settings(require_token=require_token)
    except SettingsError as error:
        for line in error.lines:
            print(f"evbot: {line}", file=sys.stderr)
        raise SystemExit(EXIT_SETTINGS) from None


async def _serve(run: Callable[[], Awaitable[None]], stop: Callable[[], None]) -> None:
    """Run until SIGINT/SIGTERM (as `docker stop` sends) asks for a clean stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop)
    await run()


def cmd_run(args: argparse.Namespace) -> int:
    """Start the service (Telegram, or console with --console)."""
    from bot.service import Service, ServiceOptions, StartupError

    settings = _settings_or_exit(require_token=not args.console)
    setup_logging(settings.log_level, settings.log_format, secrets_of(settings))
    try:
        service = Service(settings, options=ServiceOptions(console=args.console))
    except Exception as error:  # a broken rules file or catalog at start-up
        print(f"evbot: cannot start: {mask_url(str(error))}", file=sys.stderr)
        return EXIT_SETTINGS
    try:
        asyncio.run(_serve(service.run_until_stopped, service.stop_event.set))
    except StartupError as error:
        # Unreachable database, bad login, taken port, rejected token: the operator's
        # to fix, so one line like a bad setting, not a traceback.
        print(f"evbot: cannot start: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    if service.fatal is not None:
        print(f"evbot: stopped: {service.fatal}", file=sys.stderr)
        return EXIT_SETTINGS
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve bundled sample entries locally and run the console pipeline on them."""
    from bot.cli.demo import run_demo

    setup_logging("WARNING")
    return asyncio.run(run_demo(every=args.every, count=args.count))


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply database migrations and exit."""
    from bot.storage.db import create_engine, current_revision, upgrade

    settings = _settings_or_exit()

    async def go() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(go())
    print(f"database is at revision {revision}")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    """Print the database's revision and whether it is the newest this evbot ships."""
    from bot.cli.doctor import head_revision
    from bot.storage.db import create_engine, current_revision

    settings = _settings_or_exit()

    async def go() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    try:
        revision = asyncio.run(go())
    except Exception as error:  # unreachable server, bad credentials, not a database
        print(f"evbot: cannot read the database: {error}", file=sys.stderr)
        return 1
    head = head_revision()
    if revision == head:
        print(f"database is at revision {revision} (head)")
    elif revision is None:
        print(f"database has no schema yet (head is {head}): run `evbot db upgrade`")
    else:
        print(f"database is at revision {revision}, not head ({head}): run `evbot db upgrade`")
    return 0


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("evbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _classify_line(title: str, summary: str) -> str:
    """How the rules in force see an entry (for `evbot feeds check`)."""
    from rules import load_rules

    settings = _settings_or_exit()
    result = load_rules(settings.rules_file).classify(title, summary)
    if not result.categories:
        return "→ no category (nobody is alerted)"
    why = {c: [hit.term for hit in result.matches.get(c, ())] for c in result.categories}
    return "→ " + ", ".join(f"{c} ({', '.join(terms)})" for c, terms in why.items())


def cmd_feeds_list(args: argparse.Namespace) -> int:
    """Every feed the database knows, with its state and health."""
    from bot.cli.feed_report import feed_table
    from bot.storage import Storage

    settings = _settings_or_exit()

    async def go() -> str:
        storage = await Storage.open(settings.database_url)
        try:
            from datetime import UTC, datetime

            return feed_table(await storage.feeds(), now=datetime.now(UTC))
        finally:
            await storage.close()

    print(asyncio.run(go()))
    return 0


def _add_feeds_list(feeds_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    feeds_sub.add_parser(
        "list", help="state and health of every feed (from the database)"
    ).set_defaults(func=cmd_feeds_list)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="evbot",
        description="Turkish electric-mobility news alerts for Telegram.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the service (Telegram long polling, feeds, delivery)")
    run.add_argument(
        "--console", action="store_true", help="no Telegram: print alerts for all categories"
    )
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="see alerts within seconds: local sample feed, no network")
    demo.add_argument("--every", type=float, default=3.0, help="seconds between new sample entries")
    demo.add_argument(
        "--count", type=int, default=None, help="stop after this many new entries (default: all)"
    )
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    db_sub.add_parser(
        "current", help="the database's migration revision, and whether it is the newest"
    ).set_defaults(func=cmd_db_current)
    cli_backup.register(db_sub)

    cli_rules.register(sub)
    cli_feeds.register(sub, classify=_classify_line, extra=_add_feeds_list)
    cli_ops.register(sub)
    return parser


def _one_line(error: BaseException) -> str:
    """The driver's own message (SQLAlchemy wraps it with SQL and a help link)."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}".rstrip(": ")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the evbot command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except (OSError, DBAPIError) as error:
        # Every subcommand that opens the database ends here when it is away:
        # one line that says so, not a driver traceback.
        print(f"evbot: cannot reach the database: {_one_line(error)}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error of ours.
        sys.stderr.close()
        code = 0
    raise SystemExit(code)
