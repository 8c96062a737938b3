"""Service settings from `EVBOT_*` environment variables and a `.env` file.

pydantic-settings does the reading, typing and `.env` handling; this module
only declares the variables (the contract's table, plus extensions) and turns
a validation failure into one readable line per variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.ops.masking import mask_url, url_password

ENV_PREFIX = "EVBOT_"
DEFAULT_DATABASE_URL = "sqlite:///./data/evbot.sqlite3"
# Longest sensible poll interval: a week. Far larger values overflow date arithmetic
# (every poll then fails), so they are refused at start-up instead.
MAX_POLL_INTERVAL = 7 * 24 * 3600
MAX_RETENTION_DAYS = 3650
DEFAULT_SECRETS_DIR = Path("/run/secrets")
# Telegram's own rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Paths the HTTP server already serves; a webhook there would shadow them.
_RESERVED_PATHS = {"", "/", "/healthz", "/readyz", "/metrics"}


class SettingsError(Exception):
    """Settings are missing or invalid; `lines` name each variable and the problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    feeds_file: Path | None = None
    rules_file: Path | None = None
    poll_interval: int = Field(default=300, ge=1, le=MAX_POLL_INTERVAL)
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()

    # Extensions beyond the contract's table.
    http_port: int | None = Field(default=None, ge=1, le=65535)
    # Loopback unless told otherwise: /metrics should not face the network by accident.
    http_host: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    timezone: str = "Europe/Istanbul"
    max_feed_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    send_rate: float = Field(default=30.0, gt=0, le=1000, allow_inf_nan=False)
    retention_days: int = Field(default=30, ge=1, le=MAX_RETENTION_DAYS)
    # Sends in flight at once: enough to fill 30/s at a 300 ms round trip to Telegram.
    max_in_flight: int = Field(default=16, ge=1, le=1000)
    # More than this many stories due at once for one chat go out as one bundled message.
    bundle_over: int = Field(default=3, ge=1, le=100)
    # Send alerts with allow_paid_broadcast: up to 1,000 msg/s, paid in Telegram Stars.
    paid_broadcast: bool = False
    # Leadership among replicas (bot.storage.leader): a frozen leader is replaced
    # within about this long; it renews five times per lease.
    leader_lease_seconds: float = Field(default=10.0, ge=1, le=300, allow_inf_nan=False)
    # /healthz turns 503 when, for longer than this many seconds, the leader's
    # Telegram long poll has not completed / a due alert has waited / no feed
    # poll succeeded anywhere (feeds: at least 3 poll intervals).
    health_telegram_seconds: int = Field(default=120, ge=10)
    health_outbox_seconds: int = Field(default=900, ge=10)
    health_feeds_seconds: int = Field(default=3600, ge=10)
    # The range adaptive polling keeps feeds in (the catalog's min/max_interval win);
    # unset: 30 s and 6 h, but never narrower than the feed's starting interval.
    min_poll_interval: int | None = Field(default=None, ge=1, le=MAX_POLL_INTERVAL)
    max_poll_interval: int | None = Field(default=None, ge=1, le=MAX_POLL_INTERVAL)
    # Where hubs reach this service's HTTP server (WebSub callbacks); unset: no WebSub.
    public_url: str | None = None
    # Feeds fetched at once, overall and per host.
    fetch_concurrency: int = Field(default=20, ge=1, le=1000)
    fetch_per_host: int = Field(default=2, ge=1, le=100)
    # Webhook mode (bot.telegram_app.webhook): Telegram posts updates to this
    # URL, served on EVBOT_HTTP_PORT at the URL's path; unset: long polling.
    webhook_url: str | None = None
    # Checked on every webhook request; the same value on every replica.
    webhook_secret: SecretStr | None = None

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError("must be an http(s) URL such as https://bot.example.org/telegram")
        path = "/" + value.split("://", 1)[1].partition("/")[2].split("?", 1)[0]
        if path.rstrip("/") in _RESERVED_PATHS or "#" in value:
            raise ValueError(
                "needs a path of its own, e.g. https://bot.example.org/telegram/webhook"
            )
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        secret = value.get_secret_value().strip()
        if not _WEBHOOK_SECRET.match(secret):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        if len(secret) < 16:
            raise ValueError("is too short to guess-proof the webhook: use at least 16 characters")
        return SecretStr(secret)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or " " in value:
            raise ValueError("must be an http(s) URL such as https://evbot.example.org")
        return value

    @model_validator(mode="after")
    def _check_poll_range(self) -> Settings:
        low, high = self.min_poll_interval, self.max_poll_interval
        if low is not None and high is not None and low > high:
            raise ValueError(
                f"EVBOT_MIN_POLL_INTERVAL ({low}) is above EVBOT_MAX_POLL_INTERVAL ({high})"
            )
        if self.public_url is not None and self.http_port is None:
            raise ValueError(
                "EVBOT_PUBLIC_URL needs EVBOT_HTTP_PORT: WebSub hubs call back on that server"
            )
        self._check_webhook()
        return self

    def _check_webhook(self) -> None:
        url = self.webhook_url
        if url is None:
            if self.webhook_secret is not None:
                raise ValueError("EVBOT_WEBHOOK_SECRET is set but EVBOT_WEBHOOK_URL is not")
            return
        if self.webhook_secret is None:
            raise ValueError(
                "EVBOT_WEBHOOK_URL needs EVBOT_WEBHOOK_SECRET (the same 16-256 characters "
                "of A-Z, a-z, 0-9, _ and - on every replica)"
            )
        if self.http_port is None:
            raise ValueError(
                "EVBOT_WEBHOOK_URL needs EVBOT_HTTP_PORT: Telegram posts updates to that server"
            )
        if url.startswith("http://") and self.telegram_api_url == "https://api.telegram.org":
            raise ValueError(
                "EVBOT_WEBHOOK_URL: Telegram's Bot API posts only to https:// "
                "(http:// works with a local Bot API server, EVBOT_TELEGRAM_API_URL)"
            )

    @property
    def webhook_path(self) -> str | None:
        """The HTTP server's path for the webhook: the path of EVBOT_WEBHOOK_URL."""
        if self.webhook_url is None:
            return None
        return "/" + self.webhook_url.split("://", 1)[1].partition("/")[2].split("?", 1)[0]

    # The public archive (bot.web) on EVBOT_HTTP_PORT; its public address, used
    # in feeds' absolute links and entry ids (default: the request's own host).
    archive: bool = True
    archive_url: str | None = None
    # The bot's @username for "follow in Telegram" buttons when no replica of
    # this process talks to Telegram (the leader learns it from getMe).
    bot_username: str | None = Field(default=None, pattern=r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$")
    # When set, /metrics is served only on this port, not beside the public archive.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("http_host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() or c in "/@" for c in value):
            raise ValueError("must be a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError(
                    "must be comma-separated numeric Telegram user ids, e.g. 12345,67890"
                ) from None
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("archive_url")
    @classmethod
    def _check_archive_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. https://news.example.org")
        return value.rstrip("/") if value else None

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if "://" not in value or scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError(
                "must be a SQLAlchemy URL such as sqlite:///path/evbot.sqlite3 "
                "or postgresql://user:pass@host/db"
            )
        return value

    @field_validator("feeds_file", "rules_file")
    @classmethod
    def _check_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value

    @field_validator("telegram_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        if ":" not in token or " " in token:
            raise ValueError("does not look like a BotFather token (digits:letters)")
        return SecretStr(token)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use Area/City)") from None
        return value


def _describe(error: ValidationError) -> list[str]:
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        message = str(problem["msg"]).removeprefix("Value error, ")
        if not problem["loc"]:  # a check across variables names them itself
            lines.append(mask_url(message))
            continue
        value = problem.get("input")
        hidden = field in {"telegram_token", "webhook_secret"} or isinstance(value, dict)
        shown = "" if hidden else f" (got {value!r})"
        # A database URL's password must not reach the terminal (or a CI log).
        lines.append(mask_url(f"{ENV_PREFIX}{field.upper()}: {message}{shown}"))
    return lines


def secrets_of(settings: Settings) -> list[str]:
    """What logs must never show: the bot token, the webhook secret, the database password."""
    found = []
    if settings.telegram_token is not None:
        found.append(settings.telegram_token.get_secret_value())
    if settings.webhook_secret is not None:
        found.append(settings.webhook_secret.get_secret_value())
    password = url_password(settings.database_url)
    # A very short password would mask ordinary words everywhere; URLs that carry
    # it are masked by their shape anyway (bot.ops.masking).
    if password is not None and len(password) >= 4:
        found.append(password)
    return found


def secrets_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where secret files are read from: EVBOT_SECRETS_DIR, else /run/secrets if present.

    A file named like the variable (`evbot_telegram_token`) holds its value, as
    Docker and Kubernetes mount secrets; an environment variable still wins.
    """
    env = os.environ if environ is None else environ
    given = env.get(f"{ENV_PREFIX}SECRETS_DIR")
    if given:
        return Path(given)
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


def load_settings(*, require_token: bool = False, env_file: Path | None = None) -> Settings:
    """Read settings; raise SettingsError naming every bad variable."""
    secrets = secrets_dir()
    if secrets is not None and not secrets.is_dir():
        raise SettingsError([f"{ENV_PREFIX}SECRETS_DIR: not a directory: {secrets}"])
    try:
        settings = Settings(
            _env_file=env_file or ".env",  # type: ignore[call-arg]
            _secrets_dir=secrets,
        )
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    if require_token and settings.telegram_token is None:
        raise SettingsError(
            [
                f"{ENV_PREFIX}TELEGRAM_TOKEN: is required for `evbot run` "
                "(get one from @BotFather, or use `evbot run --console`)"
            ]
        )
    return settings
