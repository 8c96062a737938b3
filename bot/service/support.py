"""The service's small shared pieces: its options, its start-up error, the console sender.

Kept apart from `bot.service.core` so the composition root reads as the
life cycle alone; nothing here holds state of the running service.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from typing import TextIO

from bot.delivery.render import RenderedMessage
from bot.models import CatalogFeed
from bot.ops.masking import mask_url
from feeds.catalog import FeedSpec

CONSOLE_CHAT_ID = 0


class ConsoleSender:
    """Prints alerts instead of sending them (`evbot run --console`, `evbot demo`)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.count = 0

    async def send(self, chat_id: int, message: RenderedMessage) -> int | None:
        """Print the plain-text form of the message."""
        self.count += 1
        rule = "─" * 60
        print(f"{rule}\n{message.plain}\n", file=self.out, flush=True)
        return self.count


def first_lines(text: str, count: int) -> str:
    """The first `count` lines of `text`, and how many more there are."""
    lines = text.splitlines()
    more = f"\n… {len(lines) - count} more" if len(lines) > count else ""
    return "\n".join(lines[:count]) + more


def catalog_rows(specs: list[FeedSpec]) -> list[CatalogFeed]:
    """The feed catalog as storage rows."""
    return [
        CatalogFeed(
            s.id,
            s.name,
            s.url,
            s.language,
            s.interval,
            s.enabled,
            min_interval=s.min_interval,
            max_interval=s.max_interval,
            adaptive=s.adaptive,
        )
        for s in specs
    ]


@dataclass
class ServiceOptions:
    """Knobs tests and the demo turn; production uses the defaults."""

    console: bool = False
    console_out: TextIO | None = None
    tick_seconds: float = 1.0
    reload_seconds: float = 5.0
    telegram_poll_timeout: int = 10
    # How often the leader renews its lease and a standby tries to take over;
    # None: a fifth of EVBOT_LEADER_LEASE_SECONDS.
    leader_seconds: float | None = None
    # Where /healthz and /metrics listen when EVBOT_HTTP_PORT is set; None: EVBOT_HTTP_HOST.
    http_host: str | None = None
    # Overrides EVBOT_HTTP_PORT (0: any free port; the demo serves its archive there).
    http_port: int | None = None
    # Seconds between two messages to one group; None: Telegram's 20 a minute.
    # Tests of group features turn it down, or each group reply costs them 3 s.
    group_interval: float | None = None


class StartupError(Exception):
    """The service cannot start for a reason the operator must fix; one line says which."""


def reason(error: BaseException) -> str:
    """An exception's own first line, without SQLAlchemy's wrapper text, credentials masked."""
    inner = getattr(error, "orig", None) or error
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(inner, socket.gaierror):
        return f"host name not found ({inner.strerror})"
    if isinstance(inner, TimeoutError):
        return "no answer (timed out)"
    lines = str(inner).strip().splitlines()
    text = lines[0] if lines else type(inner).__name__
    if text.startswith("(") and ") " in text:  # "(sqlite3.OperationalError) unable to open…"
        text = text.split(") ", 1)[1]
    return mask_url(text[:300])
