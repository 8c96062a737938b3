"""Every user-facing text of the bot, in Turkish and English.

This is the project's message catalog, kept instead of gettext `.po` files on
purpose: two languages, a few dozen messages, and the whole catalog is checked
by tests (tests/bot/test_i18n.py) — both languages have exactly the same keys
and the same `str.format` placeholders, no message is empty, and every key the
code asks for exists. Handlers, keyboards and renderers take all user-facing
text from here through `t(lang, key, **values)`; nothing else holds UI text.

Texts are Telegram HTML: literal `<`, `>` and `&` are written as entities, and
values from outside (feed text, user input) must be escaped by the caller.
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
            "/keywords add|remove &lt;term&gt; – personal keyword alerts (<code>-term</code> "
            "excludes)\n"
            "/digest off|hourly|daily HH:MM – instant alerts or digests\n"
            "/quiet HH:MM-HH:MM · /quiet off – quiet hours\n"
            "/timezone &lt;Area/City&gt; – time zone for digests and quiet hours\n"
            "/preview on|off – link previews under alerts\n"
            "/settings – what this chat receives and how\n"
            "/latest [category] – the most recent stories\n"
            "/stop – pause all alerts · /resume – resume them\n"
            "/lang tr · /lang en – interface language\n"
            "/help – this text\n\n"
            "Every alert has a <b>Why?</b> button that tells what put it in this chat. "
            "When several stories arrive at once (and in digests) they come as one numbered "
            "list, with a numbered <b>Why?</b> button for each story.\n"
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
            "<b>Settings</b>\nLanguage: {language}\nAlerts: {state}\nCategories: {categories}\n"
            "Keywords: {keywords}\nDelivery: {mode}\nQuiet hours: {quiet}\n"
            "Time zone: {timezone}\nLink previews: {preview}"
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
        "admin_handler_error": "⚠️ A command failed: <code>{kind}</code>: {detail}",
        "on": "on",
        "off": "off",
        "alert_keyword": "🔑 Matched your keyword: {keyword}",
        "why_keyword": "Sent because it matches this chat's keyword '{keyword}'.",
        "digest_title": "📬 Digest · {count} stories",
        "digest_continued": "📬 Digest (continued)",
        "digest_keywords": "Your keywords",
        "mode_instant": "instant",
        "mode_hourly": "hourly digest",
        "mode_daily": "daily digest at {time}",
        "digest_usage": (
            "Usage: /digest off (instant alerts) · /digest hourly · /digest daily HH:MM"
        ),
        "digest_set_off": "Digest off: alerts arrive as they come.{released}",
        "digest_set_hourly": "Hourly digest: alerts are collected and sent once an hour.",
        "digest_set_daily": "Daily digest at {time} ({timezone}).",
        "released": " {count} held alerts follow now.",
        "quiet_usage": "Usage: /quiet HH:MM-HH:MM (e.g. /quiet 22:00-07:00) or /quiet off",
        "quiet_set": (
            "Quiet hours {start}–{end} ({timezone}): alerts are held and sent as one digest "
            "when they end."
        ),
        "quiet_off": "Quiet hours off.{released}",
        "timezone_usage": (
            "Usage: /timezone Area/City (e.g. /timezone Europe/Istanbul)\nNow: {timezone}"
        ),
        "timezone_unknown": "Unknown time zone: {timezone}. Use Area/City, e.g. Europe/Istanbul.",
        "timezone_set": "Time zone set to {timezone}.",
        "preview_usage": "Usage: /preview on or /preview off (now: {state})",
        "preview_set": "Link previews under alerts: {state}.",
        "keywords_usage": (
            "Usage: /keywords add &lt;term&gt; · /keywords remove &lt;term&gt; · /keywords\n"
            "A story matching one of your terms is sent even outside your categories; "
            "<code>-term</code> excludes stories that mention it."
        ),
        "keywords_list": "Keywords of this chat: {keywords}",
        "keywords_empty": "This chat has no keywords. Add one with /keywords add &lt;term&gt;.",
        "keyword_added": "Keyword added: {term}",
        "keyword_exists": "Already a keyword: {term}",
        "keyword_removed": "Keyword removed: {term}",
        "keyword_missing": "Not a keyword of this chat: {term}",
        "keyword_invalid": "That term cannot be used: {error}",
        "keywords_full": "A chat can have at most {limit} keywords.",
        "latest_more": "More ▸",
        "latest_end": "No more stories.",
        "group_welcome": (
            "👋 Hello! I send electric-mobility news alerts to this group. "
            "It now receives <b>all</b> categories; administrators can narrow them with "
            "/categories. /help lists every command."
        ),
        "stats": (
            "<b>Stats</b>\nChats: {chats} (receiving: {active})\nAlerts sent today: {sent_today}\n"
            "Queue: {queue} pending\nSubscriptions per category:\n{per_category}"
        ),
        "feeds_title": "<b>Feeds</b> ({count})",
        "feed_line": "{mark} <code>{id}</code> · ok {success} · failures {failures}{error}",
        "feed_error": "\n   last error: {error}",
        "never": "never",
        "reload_ok": "Reloaded: {what}.",
        "reload_failed": "⚠️ {what}: invalid, the previous version stays in force:\n{error}",
        "broadcast_usage": "Usage: /broadcast &lt;text&gt;",
        "broadcast_queued": "Broadcast queued for {count} chats.",
        "broadcast_too_long": (
            "Too long for one Telegram message: {length} characters, at most {limit}. "
            "Nothing was queued."
        ),
        "slow_down": (
            "⏳ Too many commands in a short time. I will answer again in about {seconds} seconds."
        ),
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
            "/keywords add|remove &lt;terim&gt; – kişisel anahtar kelime uyarıları "
            "(<code>-terim</code> hariç tutar)\n"
            "/digest off|hourly|daily SS:DD – anında uyarı veya özet\n"
            "/quiet SS:DD-SS:DD · /quiet off – sessiz saatler\n"
            "/timezone &lt;Bölge/Şehir&gt; – özet ve sessiz saatler için saat dilimi\n"
            "/preview on|off – uyarıların altında bağlantı önizlemesi\n"
            "/settings – bu sohbetin ne aldığı ve nasıl\n"
            "/latest [kategori] – en son haberler\n"
            "/stop – uyarıları duraklatın · /resume – sürdürün\n"
            "/lang tr · /lang en – arayüz dili\n"
            "/help – bu metin\n\n"
            "Her uyarıda, onu bu sohbete neyin getirdiğini söyleyen bir <b>Neden?</b> "
            "düğmesi vardır. Aynı anda birkaç haber geldiğinde (ve özetlerde) haberler tek bir "
            "numaralı liste olarak gelir; her haber için numaralı bir <b>Neden?</b> düğmesi "
            "vardır.\nKategoriler: {categories}"
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
            "<b>Ayarlar</b>\nDil: {language}\nUyarılar: {state}\nKategoriler: {categories}\n"
            "Anahtar kelimeler: {keywords}\nGönderim: {mode}\nSessiz saatler: {quiet}\n"
            "Saat dilimi: {timezone}\nBağlantı önizlemesi: {preview}"
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
        "admin_handler_error": "⚠️ Bir komut başarısız oldu: <code>{kind}</code>: {detail}",
        "on": "açık",
        "off": "kapalı",
        "alert_keyword": "🔑 Anahtar kelimeniz eşleşti: {keyword}",
        "why_keyword": "Bu sohbetin '{keyword}' anahtar kelimesiyle eşleştiği için gönderildi.",
        "digest_title": "📬 Özet · {count} haber",
        "digest_continued": "📬 Özet (devamı)",
        "digest_keywords": "Anahtar kelimeleriniz",
        "mode_instant": "anında",
        "mode_hourly": "saatlik özet",
        "mode_daily": "her gün {time} özeti",
        "digest_usage": (
            "Kullanım: /digest off (anında uyarı) · /digest hourly · /digest daily SS:DD"
        ),
        "digest_set_off": "Özet kapalı: uyarılar geldikçe gönderilir.{released}",
        "digest_set_hourly": "Saatlik özet: uyarılar toplanır ve saatte bir gönderilir.",
        "digest_set_daily": "Günlük özet her gün {time} ({timezone}).",
        "released": " Bekletilen {count} uyarı şimdi geliyor.",
        "quiet_usage": "Kullanım: /quiet SS:DD-SS:DD (ör. /quiet 22:00-07:00) veya /quiet off",
        "quiet_set": (
            "Sessiz saatler {start}–{end} ({timezone}): uyarılar bekletilir ve bitiminde tek "
            "bir özet olarak gönderilir."
        ),
        "quiet_off": "Sessiz saatler kapalı.{released}",
        "timezone_usage": (
            "Kullanım: /timezone Bölge/Şehir (ör. /timezone Europe/Istanbul)\nŞu an: {timezone}"
        ),
        "timezone_unknown": "Bilinmeyen saat dilimi: {timezone}. Bölge/Şehir kullanın, ör. "
        "Europe/Istanbul.",
        "timezone_set": "Saat dilimi {timezone} olarak ayarlandı.",
        "preview_usage": "Kullanım: /preview on veya /preview off (şu an: {state})",
        "preview_set": "Uyarıların altında bağlantı önizlemesi: {state}.",
        "keywords_usage": (
            "Kullanım: /keywords add &lt;terim&gt; · /keywords remove &lt;terim&gt; · /keywords\n"
            "Terimlerinizden biriyle eşleşen haber, kategorileriniz dışında olsa da gönderilir; "
            "<code>-terim</code> o terimi içeren haberleri hariç tutar."
        ),
        "keywords_list": "Bu sohbetin anahtar kelimeleri: {keywords}",
        "keywords_empty": (
            "Bu sohbetin anahtar kelimesi yok. /keywords add &lt;terim&gt; ile ekleyin."
        ),
        "keyword_added": "Anahtar kelime eklendi: {term}",
        "keyword_exists": "Zaten bir anahtar kelime: {term}",
        "keyword_removed": "Anahtar kelime kaldırıldı: {term}",
        "keyword_missing": "Bu sohbetin anahtar kelimesi değil: {term}",
        "keyword_invalid": "Bu terim kullanılamaz: {error}",
        "keywords_full": "Bir sohbetin en fazla {limit} anahtar kelimesi olabilir.",
        "latest_more": "Daha fazla ▸",
        "latest_end": "Başka haber yok.",
        "group_welcome": (
            "👋 Merhaba! Bu gruba elektrikli mobilite haber uyarıları gönderiyorum. "
            "Grup artık <b>tüm</b> kategorileri alıyor; yöneticiler /categories ile "
            "daraltabilir. /help tüm komutları listeler."
        ),
        "stats": (
            "<b>İstatistikler</b>\nSohbetler: {chats} (alan: {active})\n"
            "Bugün gönderilen uyarı: {sent_today}\nKuyruk: {queue} bekleyen\n"
            "Kategori başına abonelik:\n{per_category}"
        ),
        "feeds_title": "<b>Kaynaklar</b> ({count})",
        "feed_line": (
            "{mark} <code>{id}</code> · başarılı {success} · hata sayısı {failures}{error}"
        ),
        "feed_error": "\n   son hata: {error}",
        "never": "hiç",
        "reload_ok": "Yeniden yüklendi: {what}.",
        "reload_failed": "⚠️ {what}: geçersiz, önceki sürüm geçerli kalıyor:\n{error}",
        "broadcast_usage": "Kullanım: /broadcast &lt;metin&gt;",
        "broadcast_queued": "Duyuru {count} sohbet için kuyruğa alındı.",
        "broadcast_too_long": (
            "Tek bir Telegram mesajı için fazla uzun: {length} karakter, en fazla {limit}. "
            "Hiçbir şey kuyruğa alınmadı."
        ),
        "slow_down": (
            "⏳ Kısa sürede çok fazla komut geldi. Yaklaşık {seconds} saniye sonra yeniden "
            "yanıt vereceğim."
        ),
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
