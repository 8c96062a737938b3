"""Both languages say everything, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.i18n import MESSAGES, language_for, t


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_exists_in_both_languages() -> None:
    assert set(MESSAGES["tr"]) == set(MESSAGES["en"])


@pytest.mark.parametrize("key", sorted(MESSAGES["en"]))
def test_placeholders_match(key: str) -> None:
    assert placeholders(MESSAGES["tr"][key]) == placeholders(MESSAGES["en"][key])
    assert MESSAGES["tr"][key] != "" and MESSAGES["en"][key] != ""


@pytest.mark.parametrize(
    ("code", "lang"), [("tr", "tr"), ("tr-TR", "tr"), ("en", "en"), ("de", "en"), (None, "en")]
)
def test_language_from_telegram_code(code: str | None, lang: str) -> None:
    assert language_for(code) == lang


def test_unknown_language_falls_back_to_english() -> None:
    assert t("fr", "why_button") == "Why?"
    assert t("tr", "why_button") == "Neden?"


def test_every_key_the_code_asks_for_exists() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "bot"
    asked: set[str] = set()
    for source in root.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        asked.update(re.findall(r"\bt\(\s*[\w.]+,\s*\"([a-z_]+)\"", text))
        asked.update(re.findall(r"\bt\(\s*[\w.]+,\s*\n\s*\"([a-z_]+)\"", text))
    assert len(asked) > 40
    assert asked - set(MESSAGES["en"]) == set()


@pytest.mark.parametrize("lang", ["tr", "en"])
def test_every_message_is_valid_telegram_html(lang: str) -> None:
    from tests.fakes.telegram_server import parse_html

    for key, text in MESSAGES[lang].items():
        values = {name: "x" for name in placeholders(text)}
        parse_html(text.format(**values) if values else text)  # raises on bad markup
        assert key
