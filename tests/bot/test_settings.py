"""Settings: the contract's variables, and one clear line with exit 2 for each bad one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

CONTRACT_VARS = [
    "EVBOT_TELEGRAM_TOKEN",
    "EVBOT_TELEGRAM_API_URL",
    "EVBOT_DATABASE_URL",
    "EVBOT_FEEDS_FILE",
    "EVBOT_RULES_FILE",
    "EVBOT_POLL_INTERVAL",
    "EVBOT_ADMIN_IDS",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("EVBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_follow_the_contract() -> None:
    s = load_settings()
    assert s.telegram_token is None
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.database_url == "sqlite:///./data/evbot.sqlite3"
    assert s.poll_interval == 300
    assert s.admin_ids == frozenset()
    assert s.feeds_file is None and s.rules_file is None


def test_values_from_environment_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("EVBOT_POLL_INTERVAL=1\nEVBOT_ADMIN_IDS=5, 7\n")
    monkeypatch.setenv("EVBOT_TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("EVBOT_TELEGRAM_TOKEN", "123:abc")
    s = load_settings(require_token=True)
    assert s.poll_interval == 1
    assert s.admin_ids == frozenset({5, 7})
    assert s.telegram_api_url == "http://127.0.0.1:8081"
    assert s.telegram_token is not None and s.telegram_token.get_secret_value() == "123:abc"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("EVBOT_POLL_INTERVAL", "0", "EVBOT_POLL_INTERVAL"),
        ("EVBOT_POLL_INTERVAL", "often", "EVBOT_POLL_INTERVAL"),
        ("EVBOT_ADMIN_IDS", "12,bob", "EVBOT_ADMIN_IDS: must be comma-separated"),
        ("EVBOT_DATABASE_URL", "mysql://x/y", "EVBOT_DATABASE_URL: must be a SQLAlchemy URL"),
        ("EVBOT_TELEGRAM_API_URL", "api.telegram.org", "EVBOT_TELEGRAM_API_URL"),
        ("EVBOT_FEEDS_FILE", "/nonexistent/feeds.yaml", "EVBOT_FEEDS_FILE: file not found"),
        ("EVBOT_RULES_FILE", "/nonexistent/rules.yaml", "EVBOT_RULES_FILE: file not found"),
        ("EVBOT_TELEGRAM_TOKEN", "not a token", "EVBOT_TELEGRAM_TOKEN"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert len(caught.value.lines) == 1
    assert caught.value.lines[0].startswith(expected)


def test_token_value_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVBOT_TELEGRAM_TOKEN", "secret value with spaces")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "secret" not in str(caught.value)


def _evbot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _evbot(["run"], {}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "EVBOT_TELEGRAM_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_run_with_bad_interval_exits_2_naming_it(tmp_path: Path) -> None:
    result = _evbot(["run", "--console"], {"EVBOT_POLL_INTERVAL": "-5"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "evbot: EVBOT_POLL_INTERVAL: Input should be greater than or equal to 1 (got '-5')"
    ]


SECRET = "s3cret-token_0123456789"


def test_long_polling_is_the_default() -> None:
    s = load_settings()
    assert s.webhook_url is None and s.webhook_secret is None and s.webhook_path is None


def test_webhook_url_and_secret_are_read_and_the_path_comes_from_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVBOT_WEBHOOK_URL", "https://bot.example.org/telegram/webhook")
    monkeypatch.setenv("EVBOT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("EVBOT_HTTP_PORT", "8080")
    s = load_settings()
    assert s.webhook_url == "https://bot.example.org/telegram/webhook"
    assert s.webhook_path == "/telegram/webhook"
    assert s.webhook_secret is not None and s.webhook_secret.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"EVBOT_WEBHOOK_URL": "bot.example.org/hook"},
            "EVBOT_WEBHOOK_URL: must be an http(s) URL",
        ),
        (
            {"EVBOT_WEBHOOK_URL": "https://bot.example.org/"},
            "EVBOT_WEBHOOK_URL: needs a path of its own",
        ),
        (
            {"EVBOT_WEBHOOK_URL": "https://bot.example.org/healthz"},
            "EVBOT_WEBHOOK_URL: needs a path of its own",
        ),
        (
            {"EVBOT_WEBHOOK_URL": "https://bot.example.org/hook"},
            "EVBOT_WEBHOOK_URL needs EVBOT_WEBHOOK_SECRET",
        ),
        ({"EVBOT_WEBHOOK_SECRET": SECRET}, "EVBOT_WEBHOOK_SECRET is set but EVBOT_WEBHOOK_URL"),
        (
            {"EVBOT_WEBHOOK_URL": "https://bot.example.org/hook", "EVBOT_WEBHOOK_SECRET": SECRET},
            "EVBOT_WEBHOOK_URL needs EVBOT_HTTP_PORT",
        ),
        (
            {
                "EVBOT_WEBHOOK_URL": "http://bot.example.org/hook",
                "EVBOT_WEBHOOK_SECRET": SECRET,
                "EVBOT_HTTP_PORT": "8080",
            },
            "EVBOT_WEBHOOK_URL: Telegram's Bot API posts only to https://",
        ),
        ({"EVBOT_WEBHOOK_SECRET": "has spaces in it, oh no"}, "EVBOT_WEBHOOK_SECRET: must be"),
        ({"EVBOT_WEBHOOK_SECRET": "short"}, "EVBOT_WEBHOOK_SECRET: is too short"),
    ],
)
def test_bad_webhook_settings_give_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert len(caught.value.lines) == 1, caught.value.lines
    assert caught.value.lines[0].startswith(expected)
    # The secret itself never reaches the terminal.
    assert SECRET not in caught.value.lines[0]
    assert "has spaces" not in caught.value.lines[0]


def test_http_webhook_is_allowed_with_a_local_bot_api_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVBOT_TELEGRAM_API_URL", "http://127.0.0.1:8081")
    monkeypatch.setenv("EVBOT_WEBHOOK_URL", "http://10.0.0.5:8080/tg")
    monkeypatch.setenv("EVBOT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("EVBOT_HTTP_PORT", "8080")
    assert load_settings().webhook_path == "/tg"


def test_the_webhook_secret_is_masked_in_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import secrets_of

    monkeypatch.setenv("EVBOT_WEBHOOK_URL", "https://bot.example.org/telegram/webhook")
    monkeypatch.setenv("EVBOT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("EVBOT_HTTP_PORT", "8080")
    assert SECRET in secrets_of(load_settings())
