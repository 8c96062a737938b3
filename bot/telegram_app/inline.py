"""Inline mode: `@<bot> togg batarya` in any chat lists matching recent stories to share.

The query is matched like everything else users type (Turkish-aware folding:
`İSTANBUL`, `istanbul` and `Istanbul` are one word): every word of the query
must occur in the story's title, summary or source names. An empty query
lists the latest stories. Only categorised stories are offered — the rest
alerted nobody. The result is the story as an alert shows it, without the
Why? button (the chat it lands in did not ask for it).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode

from bot.delivery.render import item_view, render_alert, shorten
from bot.delivery.times import zone
from bot.i18n import language_for
from bot.models import ItemRow
from bot.telegram_app.context import BotContext
from rules import match_key

RESULTS = 20  # shown at once; Telegram allows 50
SEARCHED = 300  # recent stories looked through
MAX_QUERY_WORDS = 8


def matches(item: ItemRow, words: Sequence[str]) -> bool:
    """Whether every (folded) query word occurs in the story's text or sources."""
    text = match_key(" ".join((item.title, item.summary, *item.sources)))
    return all(word in text for word in words)


def query_words(query: str) -> list[str]:
    """The folded words of an inline query (at most MAX_QUERY_WORDS)."""
    return [match_key(w) for w in query.split()][:MAX_QUERY_WORDS]


async def on_inline_query(update: Update, context: BotContext) -> None:
    """Answer an inline query with matching recent stories, newest first."""
    query = update.inline_query
    if query is None:
        return
    svc = context.svc
    rules = svc.rules()
    lang = language_for(query.from_user.language_code if query.from_user else None)
    words = query_words(query.query)
    items = await svc.storage.latest_items(categorised=True, limit=SEARCHED)
    found = [item for item in items if matches(item, words)][:RESULTS]
    tz = zone(svc.default_timezone)
    results = []
    for item in found:
        view = item_view(item, rules, lang)
        message = render_alert(view, lang=lang, tz=tz)
        details = " · ".join((*item.sources[:1], *view.category_names))
        results.append(
            InlineQueryResultArticle(
                id=str(item.id),
                title=shorten(item.title, 120),
                description=shorten(details, 120),
                url=item.link or None,
                input_message_content=InputTextMessageContent(
                    message.html, parse_mode=ParseMode.HTML, disable_web_page_preview=True
                ),
            )
        )
    await query.answer(results, cache_time=30, is_personal=False)
