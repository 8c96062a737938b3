"""The gettext catalogs: complete in every language, same placeholders, valid Telegram HTML,
the committed .mo files compiled from the current .po files, and plural forms."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, LOCALE_DIR, PLURALS, language_for, messages, t

ROOT = Path(__file__).resolve().parents[2]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def read_po(path: Path) -> dict[str, tuple[str, ...]]:
    """A small .po reader (Babel is a dev tool, not a test dependency): id → forms."""
    entries: dict[str, dict[int, str]] = {}
    msgid: str | None = None
    field: tuple[str, int] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if field is not None and field[0] == "str" and msgid:
                entries[msgid][field[1]] += value
            elif field is not None and field[0] == "id":
                msgid = (msgid or "") + value
            continue
        if keyword == "msgid":
            msgid, field = ast.literal_eval(rest), ("id", 0)
        elif keyword == "msgid_plural":
            field = ("plural", 0)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if "[" in keyword else 0
            assert msgid is not None
            entries.setdefault(msgid, {})[index] = ast.literal_eval(rest)
            field = ("str", index)
    return {k: tuple(v[i] for i in sorted(v)) for k, v in entries.items() if k}


def test_both_languages_have_a_catalog_and_english_is_the_default() -> None:
    assert LANGUAGES[0] == "en" and "tr" in LANGUAGES


@pytest.mark.parametrize("lang", ["en", "tr"])
def test_the_committed_mo_is_compiled_from_the_current_po(lang: str) -> None:
    po = read_po(LOCALE_DIR / lang / "LC_MESSAGES" / "evbot.po")
    assert po == messages(lang), "run `make i18n-compile` and commit the .mo files"


def test_every_language_has_every_message_with_the_same_placeholders() -> None:
    english = messages("en")
    for lang in LANGUAGES:
        catalog = messages(lang)
        assert set(catalog) == set(english), lang
        for key, forms in catalog.items():
            assert all(form.strip() for form in forms), (lang, key)
            wanted = placeholders(english[key][-1])
            assert all(placeholders(form) <= wanted | {"count"} for form in forms), (lang, key)
            assert placeholders(forms[-1]) == wanted, (lang, key)


def test_plural_messages_have_plural_forms_everywhere() -> None:
    for lang in LANGUAGES:
        for key in PLURALS:
            assert len(messages(lang)[key]) >= 2, (lang, key)
    assert t("en", "digest_title", count=1) == "📬 Digest · 1 story"
    assert t("en", "digest_title", count=5) == "📬 Digest · 5 stories"
    assert t("en", "broadcast_queued", count=1) == "Broadcast queued for 1 chat."
    assert t("tr", "digest_title", count=1) == "📬 Özet · 1 haber"
    assert "kategorisini" in t("tr", "why_categories", count=1, categories="x", explanation="y")
    assert "kategorilerini" in t("tr", "why_categories", count=2, categories="x", explanation="y")


@pytest.mark.parametrize(
    ("code", "lang"), [("tr", "tr"), ("tr-TR", "tr"), ("en", "en"), ("de", "en"), (None, "en")]
)
def test_language_from_telegram_code(code: str | None, lang: str) -> None:
    assert language_for(code) == lang


def test_unknown_language_falls_back_to_english() -> None:
    assert t("fr", "why_button") == "Why?"
    assert t("tr", "why_button") == "Neden?"


def test_every_key_the_code_asks_for_exists() -> None:
    asked: set[str] = set()
    for source in (ROOT / "bot").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        asked.update(re.findall(r"\bt\(\s*[\w.]+,\s*[\"']([a-z_]+)[\"']", text))
        asked.update(re.findall(r"\bt\(\s*[\w.]+,\s*\n\s*\"([a-z_]+)\"", text))
        asked.update(re.findall(r"\bN_\(\"([a-z_]+)\"\)", text))
    assert len(asked) > 60
    assert asked - set(messages("en")) == set()


@pytest.mark.parametrize("lang", ["tr", "en"])
def test_every_message_is_valid_telegram_html(lang: str) -> None:
    from tests.fakes.telegram_server import parse_html

    for key, forms in messages(lang).items():
        for text in forms:
            values = {name: "x" for name in placeholders(text)}
            parse_html(text.format(**values) if values else text)  # raises on bad markup
        assert key


def test_a_third_language_is_one_more_catalog() -> None:
    """Languages are the catalogs found: nothing in the code lists them."""
    source = (ROOT / "bot" / "i18n.py").read_text(encoding="utf-8")
    assert '"tr"' not in source and "'tr'" not in source
