"""Alert rendering: a pure function from a stored story to Telegram HTML and plain text.

Everything that came from a feed is escaped with `html.escape` (Telegram's HTML
mode accepts `&lt; &gt; &amp; &quot;` and numeric entities). Lengths are
counted on the visible text, which is what Telegram's 4096 limit applies to.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.i18n import t

TELEGRAM_TEXT_LIMIT = 4096
TITLE_LIMIT = 300
SUMMARY_LIMIT = 300


@dataclass(frozen=True)
class Button:
    """An inline button: its label and callback data."""

    label: str
    data: str


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready to send: HTML for Telegram, plain text for the console."""

    html: str
    plain: str
    buttons: tuple[Button, ...] = ()
    link_preview: bool = False


@dataclass(frozen=True)
class AlertView:
    """What an alert shows, independent of storage."""

    item_id: int
    title: str
    summary: str
    link: str | None
    sources: Sequence[str]
    seen_at: datetime
    category_names: Sequence[str]
    hashtags: Sequence[str]


def shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def safe_link(link: str | None) -> str | None:
    """Only http(s) links with a host are linked; anything else is shown as text."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return link.strip()


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def render_alert(view: AlertView, *, lang: str, tz: ZoneInfo) -> RenderedMessage:
    """Render one alert in `lang`, with times shown in `tz`."""
    title = shorten(view.title, TITLE_LIMIT) or "…"
    summary = shorten(view.summary, SUMMARY_LIMIT)
    link = safe_link(view.link)
    when = view.seen_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    sources = list(dict.fromkeys(view.sources))
    source_line = sources[0] if sources else "?"
    if len(sources) > 1:
        source_line += f" · {t(lang, 'also')}: " + ", ".join(sources[1:])

    html_lines = [
        f'<b><a href="{_escape(link)}">{_escape(title)}</a></b>' if link else f"<b>{_escape(title)}</b>",
        f"📰 {_escape(source_line)} · {when}",
    ]
    plain_lines = [title, f"📰 {source_line} · {when}"]
    if view.category_names:
        cats = ", ".join(view.category_names)
        html_lines.append(f"🏷 {_escape(cats)}")
        plain_lines.append(f"🏷 {cats}")
    if view.hashtags:
        tags = " ".join(view.hashtags)
        html_lines.append(_escape(tags))
        plain_lines.append(tags)
    if summary:
        html_lines.append("")
        html_lines.append(_escape(summary))
        plain_lines.append("")
        plain_lines.append(summary)
    if link:
        plain_lines.append(link)
    elif view.link:
        html_lines.append(_escape(view.link))
        plain_lines.append(view.link)
    return RenderedMessage(
        html="\n".join(html_lines),
        plain="\n".join(plain_lines),
        buttons=(Button(t(lang, "why_button"), f"why:{view.item_id}"),),
    )


def category_label(names: Callable[[str], str], ids: Sequence[str]) -> str:
    """Comma-separated display names of category ids."""
    return ", ".join(names(c) for c in ids)
