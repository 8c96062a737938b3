"""Operations subcommands of `evbot`: `doctor`.

`bot.cli.main` calls :func:`register` with its subparsers.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.doctor import (
    DEFAULT_TIMEOUT,
    exit_status,
    render_report,
    run_doctor,
    settings_failure,
)
from bot.ops.logs import setup_logging
from bot.settings import SettingsError, load_settings, secrets_of

EXIT_SETTINGS = 2


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check settings, database, Telegram, rules and every feed; exit 1 on problems."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(render_report(settings_failure(error.lines)))
        return EXIT_SETTINGS
    # Library warnings during the checks go to stderr, masked like the service's logs.
    setup_logging("WARNING", settings.log_format, secrets_of(settings))
    checks = asyncio.run(run_doctor(settings, time_limit=args.timeout))
    print(render_report(checks), flush=True)
    return exit_status(checks)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `doctor` to the evbot command line."""
    doctor = sub.add_parser(
        "doctor",
        help="check settings, database, Telegram, rules and every feed once",
        description=(
            "Check the settings, the database (reachable, schema current), Telegram "
            "(getMe), the rules file and every enabled feed once. Exit 0 when all is "
            "well, 1 when a check failed, 2 when the settings are invalid."
        ),
    )
    doctor.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds allowed per network check (default {DEFAULT_TIMEOUT:g})",
    )
    doctor.set_defaults(func=cmd_doctor)
