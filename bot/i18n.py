"""Every user-facing text of the bot, in Turkish and English.

The catalogs are plain dictionaries with `str.format` placeholders: the test
suite checks that both languages have exactly the same keys and placeholders.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("tr", "en")
DEFAULT_LANGUAGE: Final = "en"

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "welcome": (
            "👋 Welcome to <b>evbot</b>, news alerts on Turkey's electric-mobility industry.\n"
            "You are now subscribed to <b>all</b> categories. Tap below to narrow them down; "
            "/help lists every command."
        ),
        "help": (
            "<b>evbot</b> watches Turkish and English news about electric mobility in Turkey "
            "and sends each new story to the chats that follow its category.\n\n"
            "/categories – choose categories with buttons\n"
            "/subscribe &lt;category…&gt; – turn categories on (or <code>all</code>)\n"
            "/unsubscribe &lt;category…&gt; – turn categories off (or <code>all</code>)\n"
            "/settings – what this chat receives\n"
            "/latest [category] – the most recent stories\n"
            "/stop – pause all alerts · /resume – resume them\n"
            "/lang tr · /lang en – interface language\n"
            "/help – this text\n\n"
            "Categories: {categories}"
        ),
        "picker_title": "Choose the categories this chat receives (✅ on, ⬜ off):",
        "picker_all": "All",
        "picker_none": "None",
        "picker_stale": "This button is no longer valid. Send /categories for a fresh picker.",
        "picker_updated": "Saved.",
        "subscribe_usage": (
            "Usage: /subscribe &lt;category…&gt; or /subscribe all\nCategories: {categories}"
        ),
        "unsubscribe_usage": (
            "Usage: /unsubscribe &lt;category…&gt; or /unsubscribe all\nCategories: {categories}"
        ),
        "unknown_categories": "Unknown category: {unknown}\nValid ones: {categories}",
        "subscriptions_now": "Now receiving: {categories}",
        "subscriptions_none": "This chat receives no categories. Use /categories to pick some.",
        "settings": (
            "<b>Settings</b>\nLanguage: {language}\nAlerts: {state}\nCategories: {categories}"
        ),
        "state_active": "on",
        "state_paused": "paused (/resume to turn back on)",
        "paused": "⏸ Alerts paused. Your choices are kept; /resume turns them back on.",
        "resumed": "▶️ Alerts resumed.",
        "lang_usage": "Usage: /lang tr or /lang en",
        "lang_set": "Language set to English.",
        "latest_empty": "No stories stored yet.",
        "latest_title": "<b>Latest stories</b>{category}",
        "admins_only": "Only the group's administrators can change its settings.",
        "why_button": "Why?",
        "why_categories": "Sent because this chat follows {categories}. Matched: {explanation}",
        "why_missing": "This alert is too old to explain.",
        "none": "none",
        "source": "Source",
        "also": "also",
        "error": "Something went wrong on our side; the operator has been told.",
    },
    "tr": {
        "welcome": (
            "👋 <b>evbot</b>'a hoş geldiniz: Türkiye'nin elektrikli mobilite sektöründen "
            "haber uyarıları.\nArtık <b>tüm</b> kategorilere abonesiniz. "
            "Aşağıdan daraltabilirsiniz; /help tüm komutları listeler."
        ),
        "help": (
            "<b>evbot</b>, Türkiye'de elektrikli mobiliteyle ilgili Türkçe ve İngilizce haberleri "
            "izler ve her yeni haberi o kategoriyi takip eden sohbetlere gönderir.\n\n"
            "/categories – kategorileri düğmelerle seçin\n"
            "/subscribe &lt;kategori…&gt; – kategorileri açın (veya <code>all</code>)\n"
            "/unsubscribe &lt;kategori…&gt; – kategorileri kapatın (veya <code>all</code>)\n"
            "/settings – bu sohbetin ne aldığı\n"
            "/latest [kategori] – en son haberler\n"
            "/stop – uyarıları duraklatın · /resume – sürdürün\n"
            "/lang tr · /lang en – arayüz dili\n"
            "/help – bu metin\n\n"
            "Kategoriler: {categories}"
        ),
        "picker_title": "Bu sohbetin alacağı kategorileri seçin (✅ açık, ⬜ kapalı):",
        "picker_all": "Tümü",
        "picker_none": "Hiçbiri",
        "picker_stale": "Bu düğme artık geçerli değil. Yeni seçici için /categories gönderin.",
        "picker_updated": "Kaydedildi.",
        "subscribe_usage": (
            "Kullanım: /subscribe &lt;kategori…&gt; veya /subscribe all\nKategoriler: {categories}"
        ),
        "unsubscribe_usage": (
            "Kullanım: /unsubscribe &lt;kategori…&gt; veya /unsubscribe all\n"
            "Kategoriler: {categories}"
        ),
        "unknown_categories": "Bilinmeyen kategori: {unknown}\nGeçerli olanlar: {categories}",
        "subscriptions_now": "Alınan kategoriler: {categories}",
        "subscriptions_none": (
            "Bu sohbet hiçbir kategori almıyor. Seçmek için /categories kullanın."
        ),
        "settings": (
            "<b>Ayarlar</b>\nDil: {language}\nUyarılar: {state}\nKategoriler: {categories}"
        ),
        "state_active": "açık",
        "state_paused": "duraklatıldı (açmak için /resume)",
        "paused": "⏸ Uyarılar duraklatıldı. Seçimleriniz korunuyor; /resume ile sürdürün.",
        "resumed": "▶️ Uyarılar yeniden açıldı.",
        "lang_usage": "Kullanım: /lang tr veya /lang en",
        "lang_set": "Dil Türkçe olarak ayarlandı.",
        "latest_empty": "Henüz kayıtlı haber yok.",
        "latest_title": "<b>Son haberler</b>{category}",
        "admins_only": "Grubun ayarlarını yalnızca yöneticileri değiştirebilir.",
        "why_button": "Neden?",
        "why_categories": "Bu sohbet {categories} kategorisini takip ettiği için gönderildi. "
        "Eşleşen: {explanation}",
        "why_missing": "Bu uyarı açıklanamayacak kadar eski.",
        "none": "yok",
        "source": "Kaynak",
        "also": "ayrıca",
        "error": "Bizim tarafımızda bir sorun oluştu; yönetici bilgilendirildi.",
    },
}


def language_for(code: str | None) -> str:
    """Turkish for a Telegram `language_code` of tr/tr-TR, English otherwise."""
    return "tr" if code and code.lower().split("-")[0] == "tr" else "en"


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang` (English if the language is unknown)."""
    catalog = MESSAGES.get(lang, MESSAGES[DEFAULT_LANGUAGE])
    text = catalog[key]
    return text.format(**values) if values else text
