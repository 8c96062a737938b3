"""Every user-facing text of the bot, from gettext catalogs (Turkish, English, …).

The catalogs are `bot/locale/<lang>/LC_MESSAGES/evbot.po`, compiled to `.mo`
files that are committed, so running the bot needs only the standard
library's `gettext` (no Babel and no build step when installing from git);
tests/bot/test_i18n.py checks the `.mo` files match their `.po` sources, that
every language has every message with the same placeholders, and that each
message is valid Telegram HTML. `make i18n-extract / i18n-update / i18n-compile`
run `pybabel`. Adding a language is adding its `.po` file (and compiling it).

Message ids are stable keys (`"welcome"`), not English sentences: code keeps
calling `t(lang, key, **values)`, and English is a catalog like any other.
A `count` value picks the plural form (`ngettext`) for the keys in `PLURALS`.
Texts are Telegram HTML: literal `<`, `>` and `&` are written as entities, and
values from outside (feed text, user input) must be escaped by the caller.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path
from typing import Final

DOMAIN: Final = "evbot"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE: Final = "en"


def N_(key: str) -> str:
    """Mark a message id that code builds at run time, so `pybabel extract` sees it."""
    return key


def P_(key: str, plural: str) -> tuple[str, str]:
    """Mark a message with plural forms (extracted with `-k P_:1,2`)."""
    return key, plural


# Messages whose text depends on a `count` (English "1 story" / "2 stories").
PLURALS: Final = dict(
    [
        P_("digest_title", "digest_title#plural"),
        P_("released", "released#plural"),
        P_("broadcast_queued", "broadcast_queued#plural"),
        P_("why_categories", "why_categories#plural"),
    ]
)

# Ids the code builds at run time (f"menu_{name}"): listed so that extraction
# keeps them in the catalogs (elsewhere the code marks such ids with N_ where it
# names them).
DYNAMIC_KEYS: Final = (
    N_("also"),  # inside f-strings in delivery/render.py, which extraction does not read
    N_("menu_start"),
    N_("menu_categories"),
    N_("menu_subscribe"),
    N_("menu_unsubscribe"),
    N_("menu_keywords"),
    N_("menu_digest"),
    N_("menu_quiet"),
    N_("menu_timezone"),
    N_("menu_preview"),
    N_("menu_settings"),
    N_("menu_latest"),
    N_("menu_stop"),
    N_("menu_resume"),
    N_("menu_lang"),
    N_("menu_topics"),
    N_("menu_channel"),
    N_("menu_help"),
    N_("menu_stats"),
    N_("menu_feeds"),
    N_("menu_reload"),
    N_("menu_broadcast"),
)


def _available() -> tuple[str, ...]:
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return tuple(sorted(found, key=lambda lang: (lang != DEFAULT_LANGUAGE, lang)))


# Every language with a compiled catalog, English first.
LANGUAGES: Final = _available()


@functools.cache
def translation(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang`, falling back to English for anything it lacks."""
    english = gettext.translation(DOMAIN, LOCALE_DIR, languages=[DEFAULT_LANGUAGE])
    if lang == DEFAULT_LANGUAGE or lang not in LANGUAGES:
        return english
    catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])
    catalog.add_fallback(english)
    return catalog


def messages(lang: str) -> dict[str, tuple[str, ...]]:
    """Every message of a language's own catalog: id → its forms (one, or one per plural)."""
    catalog: dict[object, str] = getattr(translation(lang), "_catalog", {})
    if lang != DEFAULT_LANGUAGE and lang not in LANGUAGES:
        return {}
    found: dict[str, list[tuple[int, str]]] = {}
    for key, text in catalog.items():
        if key == "":
            continue  # the header
        if isinstance(key, tuple):
            found.setdefault(str(key[0]), []).append((int(key[1]), text))
        else:
            found.setdefault(str(key), []).append((0, text))
    return {key: tuple(text for _, text in sorted(forms)) for key, forms in found.items()}


def language_for(code: str | None) -> str:
    """The catalog language of a Telegram `language_code` (tr-TR → tr); English if none."""
    base = code.lower().split("-")[0] if code else ""
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang` (English if the language or the message is unknown).

    A `count` value picks the plural form of the keys in `PLURALS`.
    """
    catalog = translation(lang)
    count = values.get("count")
    if key in PLURALS and isinstance(count, int):
        text = catalog.ngettext(key, PLURALS[key], count)
    else:
        text = catalog.gettext(key)
    return text.format(**values) if values else text
