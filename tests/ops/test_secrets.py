"""Secrets from files: EVBOT_SECRETS_DIR (or /run/secrets), as Docker and Kubernetes mount them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ENV_PREFIX, Settings, SettingsError, load_settings, secrets_dir

TOKEN = "123456:SECRET-FROM-FILE"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"{ENV_PREFIX}{name.upper()}", raising=False)
    monkeypatch.delenv("EVBOT_SECRETS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's


def test_the_token_is_read_from_a_file_in_the_secrets_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "evbot_telegram_token").write_text(TOKEN + "\n", encoding="utf-8")
    monkeypatch.setenv("EVBOT_SECRETS_DIR", str(secrets))
    settings = load_settings(require_token=True)
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == TOKEN


def test_an_environment_variable_wins_over_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "evbot_telegram_token").write_text(TOKEN, encoding="utf-8")
    monkeypatch.setenv("EVBOT_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("EVBOT_TELEGRAM_TOKEN", "999:FROM-ENV")
    settings = load_settings()
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "999:FROM-ENV"


def test_a_missing_secrets_directory_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EVBOT_SECRETS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert error.value.lines == [f"EVBOT_SECRETS_DIR: not a directory: {tmp_path / 'nowhere'}"]


def test_run_secrets_is_the_default_only_when_it_exists() -> None:
    assert secrets_dir({"EVBOT_SECRETS_DIR": "/x"}) == Path("/x")
    expected = Path("/run/secrets") if Path("/run/secrets").is_dir() else None
    assert secrets_dir({}) == expected
