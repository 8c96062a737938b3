"""Logging set-up: one line per event, text or JSON (`EVBOT_LOG_FORMAT`), never the bot token.

Why each piece is here:

* The bot token is part of every Bot API URL (`/bot<token>/method`), so it
  turns up in httpx and python-telegram-bot exceptions, in tracebacks and in
  PTB's `InvalidToken` message. Redaction therefore covers the message, its
  arguments, the formatted exception and stack, any `extra` fields, and finally
  the whole rendered line — whichever library logged it.
* The token is also hidden percent-encoded (`%3A` for the colon, as in a quoted
  URL) and by its secret half alone (the part after the colon is the
  credential; the numeric bot id before it is public).
* One line per event: log collectors (Docker, journald) split on newlines, so a
  multi-line traceback or a feed title containing a newline would become
  several events, or forge one. Text lines escape newlines as `\\n`; JSON
  lines escape them by construction.
* Database URLs carry their password; any `scheme://user:password@` in a
  line is masked by its shape (bot.ops.masking), and the password itself is one
  of the secrets the service passes in.
* Uncaught exceptions (the main thread, other threads) and `warnings` go
  through the same handler, so nothing bypasses the redaction.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import quote

from aiohttp.http_exceptions import HttpProcessingError

from bot.ops.masking import MASK, mask_url

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def secret_variants(secrets: Iterable[str]) -> list[str]:
    """Every form in which these secrets may appear in text, longest first."""
    variants: set[str] = set()
    for secret in secrets:
        secret = secret.strip()
        if not secret:
            continue
        variants.add(secret)
        variants.add(quote(secret, safe=""))
        variants.add(quote(secret, safe="/"))
        _, sep, tail = secret.partition(":")
        # The half after the colon is the credential; short halves would mask
        # ordinary words, and no real token has one.
        if sep and len(tail) >= 8:
            variants.add(tail)
    return sorted(variants, key=len, reverse=True)


class Redactor:
    """Replaces every variant of the secrets in a string."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.variants = secret_variants(secrets)

    def __call__(self, text: str) -> str:
        """The text with secrets (and passwords in URLs) masked."""
        for variant in self.variants:
            if variant in text:
                text = text.replace(variant, MASK)
        return mask_url(text)

    def __bool__(self) -> bool:
        return bool(self.variants)


def _exception_text(record: logging.LogRecord) -> str | None:
    if record.exc_text:
        return record.exc_text
    if record.exc_info and record.exc_info[0] is not None:
        return logging.Formatter().formatException(record.exc_info)
    return None


class RedactFilter(logging.Filter):
    """Mask secrets in a record before any formatter sees it.

    The message is rendered once (so `%s` arguments are covered), the
    exception is rendered into `exc_text` and the live exception dropped from
    the record, so no later formatter can render the unmasked original.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.redact = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask and let the record through."""
        if not self.redact:
            return True
        try:
            message = record.getMessage()
        except Exception:  # bad %-arguments: still log something, masked
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.redact(message), None
        exc_text = _exception_text(record)
        if exc_text is not None:
            record.exc_text = self.redact(exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class MalformedRequestFilter(logging.Filter):
    """aiohttp's ERROR with a traceback for a malformed request becomes one INFO line.

    Anyone who can reach the HTTP port can send junk; at ERROR each piece would
    add a traceback to the log and set off alerting on errors, while the
    server has only refused it with a 4xx as it should.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite records about refused malformed requests; let everything through."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
            reason = f"{error.code} {error.message}"[:200]
            record.msg, record.args = "refused a malformed HTTP request: %s", (reason,)
            record.exc_info, record.exc_text = None, None
        return True


_MALFORMED_REQUESTS = MalformedRequestFilter()


def _one_line(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message` with the exception appended, on one line."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """Render, mask (again, for records that skipped the filter) and flatten."""
        text = super().format(record)
        if self.redact:
            text = self.redact(text)
        return _one_line(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, exception, extras."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record."""
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        exc_text = _exception_text(record)
        if exc_text:
            data["exception"] = exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in data:
                data[key] = value
        text = json.dumps(data, ensure_ascii=False, default=str)
        # Mask after serialising: the masked form of a JSON-escaped secret is
        # the same as of the secret, and extras of any type are covered.
        return self.redact(text) if self.redact else text


def setup_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: list[str] | None = None,
    *,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Configure the root logger (stderr by default); returns the installed handler."""
    redact = Redactor(secrets or [])
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))
    handler.addFilter(RedactFilter(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # A poll pass that outlasts its tick is expected, not worth a warning each time.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    server_log = logging.getLogger("aiohttp.server")
    if _MALFORMED_REQUESTS not in server_log.filters:
        server_log.addFilter(_MALFORMED_REQUESTS)
    logging.captureWarnings(True)
    _install_excepthooks()
    return handler


_uncaught = logging.getLogger("evbot.uncaught")


def _log_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    # A crash with the token in its traceback (PTB's InvalidToken says it in
    # full) would otherwise reach stderr unmasked and on many lines.
    _uncaught.critical("uncaught exception: %s", exc_type.__name__, exc_info=(exc_type, exc, tb))


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    thread = args.thread.name if args.thread is not None else "?"
    _uncaught.critical(
        "uncaught exception in thread %s",
        thread,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def _install_excepthooks() -> None:
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_exception
