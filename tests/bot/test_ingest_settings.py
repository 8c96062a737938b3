"""Settings of polling: the adaptive range and WebSub's public URL, checked at start-up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("EVBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_leave_websub_off_and_the_range_to_the_scheduler() -> None:
    s = load_settings()
    assert s.public_url is None
    assert s.min_poll_interval is None and s.max_poll_interval is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"EVBOT_MIN_POLL_INTERVAL": "600", "EVBOT_MAX_POLL_INTERVAL": "60"},
            "EVBOT_MIN_POLL_INTERVAL (600) is above EVBOT_MAX_POLL_INTERVAL (60)",
        ),
        ({"EVBOT_PUBLIC_URL": "https://bot.example"}, "EVBOT_PUBLIC_URL needs EVBOT_HTTP_PORT"),
        ({"EVBOT_PUBLIC_URL": "ftp://x", "EVBOT_HTTP_PORT": "8080"}, "EVBOT_PUBLIC_URL:"),
    ],
)
def test_bad_combinations_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [line] = caught.value.lines
    assert line.startswith(expected)


def test_public_url_is_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVBOT_PUBLIC_URL", "https://bot.example/evbot/")
    monkeypatch.setenv("EVBOT_HTTP_PORT", "8080")
    assert load_settings().public_url == "https://bot.example/evbot"
