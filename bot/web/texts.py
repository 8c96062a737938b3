"""The archive's page texts in Turkish and English, the reader's language, and dates.

Kept apart from the bot's catalog (`bot.i18n`): these are plain texts for
HTML templates (Jinja escapes them), not Telegram HTML.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

LANGUAGES: Final = ("tr", "en")
#: The archive's readers are mostly in Turkey; a browser that states no
#: preference gets Turkish.
DEFAULT_LANGUAGE: Final = "tr"
LANG_COOKIE: Final = "evbot_lang"

TEXTS: Final[dict[str, dict[str, str]]] = {
    "tr": {
        "site_title": "Elektrikli Mobilite Haberleri",
        "tagline": "Türkiye'nin elektrikli mobilite haberleri, kategorilere göre",
        "latest": "Son haberler",
        "categories": "Kategoriler",
        "all_categories": "Tümü",
        "search": "Ara",
        "search_label": "Haberlerde ara",
        "search_placeholder": "ör. şarj istasyonu",
        "results_for": "“{query}” için sonuçlar",
        "no_results": "Bu aramaya uyan haber yok.",
        "no_stories": "Henüz haber yok.",
        "older": "Daha eski haberler",
        "newest": "En yeniler",
        "also_reported_by": "Ayrıca: {names}",
        "source": "Kaynak",
        "sources": "Kaynaklar",
        "read_original": "Habere git",
        "why": "Neden bu kategoride",
        "matched_terms": "eşleşen terimler",
        "first_seen": "İlk görülme",
        "published": "Yayın",
        "follow": "Telegram'da takip et",
        "follow_category": "“{name}” haberlerini Telegram'da takip et",
        "feed": "Atom akışı",
        "feed_of": "{name} — Atom akışı",
        "all_feed": "Tüm haberler — Atom akışı",
        "language": "Dil",
        "skip": "İçeriğe geç",
        "not_found": "Sayfa bulunamadı.",
        "back_home": "Ana sayfaya dön",
        "nav_label": "Kategoriler",
        "pages_label": "Sayfalar",
        "footer": "Haberler, kaynaklarının RSS akışlarından otomatik olarak derlenir.",
    },
    "en": {
        "site_title": "Electric Mobility News",
        "tagline": "Turkey's electric-mobility news, by category",
        "latest": "Latest news",
        "categories": "Categories",
        "all_categories": "All",
        "search": "Search",
        "search_label": "Search the news",
        "search_placeholder": "e.g. şarj istasyonu",
        "results_for": "Results for “{query}”",
        "no_results": "No story matches this search.",
        "no_stories": "No stories yet.",
        "older": "Older stories",
        "newest": "Newest",
        "also_reported_by": "Also reported by {names}",
        "source": "Source",
        "sources": "Sources",
        "read_original": "Read the article",
        "why": "Why this category",
        "matched_terms": "matched terms",
        "first_seen": "First seen",
        "published": "Published",
        "follow": "Follow in Telegram",
        "follow_category": "Follow “{name}” in Telegram",
        "feed": "Atom feed",
        "feed_of": "{name} — Atom feed",
        "all_feed": "All stories — Atom feed",
        "language": "Language",
        "skip": "Skip to content",
        "not_found": "Page not found.",
        "back_home": "Back to the home page",
        "nav_label": "Categories",
        "pages_label": "Pages",
        "footer": "Stories are gathered automatically from their sources' RSS feeds.",
    },
}

_MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "tr": (
        "Ocak",
        "Şubat",
        "Mart",
        "Nisan",
        "Mayıs",
        "Haziran",
        "Temmuz",
        "Ağustos",
        "Eylül",
        "Ekim",
        "Kasım",
        "Aralık",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def text(lang: str, key: str, **values: str) -> str:
    """The text `key` in `lang`, with `values` filled in."""
    template = TEXTS[lang if lang in TEXTS else DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """?lang= first, then the remembered choice, then the browser's Accept-Language."""
    for chosen in (query, cookie):
        if chosen in LANGUAGES:
            return chosen
    return from_accept_language(accept_language or "")


def from_accept_language(header: str) -> str:
    """The supported language the browser prefers most (RFC 9110 q-values)."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        # Earlier entries win ties, as browsers list them by preference.
        quality -= position * 1e-6
        if primary in LANGUAGES and quality > best_q:
            best, best_q = primary, quality
    return best


def format_time(moment: datetime, lang: str, zone: ZoneInfo) -> str:
    """'1 Aralık 2026 07:18' / '1 December 2026, 07:18' in the archive's time zone."""
    local = moment.astimezone(zone)
    month = _MONTHS[lang if lang in _MONTHS else DEFAULT_LANGUAGE][local.month - 1]
    separator = " " if lang == "tr" else ", "
    return f"{local.day} {month} {local.year}{separator}{local:%H:%M}"
