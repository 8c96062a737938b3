"""Alert rendering: pure functions from stored stories to Telegram HTML and plain text.

`render_alert` is one alert, `render_digest` several alerts of one chat as a
digest (split only at Telegram's length limit), `render_latest` the /latest list.

Everything that came from a feed is escaped with `html.escape` (Telegram's HTML
mode accepts `&lt; &gt; &amp; &quot;` and numeric entities). Lengths are
counted on the visible text, which is what Telegram's 4096 limit applies to.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.telegram_app.callbacks import why_data

if TYPE_CHECKING:
    from bot.models import ItemRow
    from rules import RuleSet

TELEGRAM_TEXT_LIMIT = 4096
TITLE_LIMIT = 300
SUMMARY_LIMIT = 300
DIGEST_TITLE_LIMIT = 200
NAME_LIMIT = 100  # a source, category or keyword name
LINE_LIMIT = 300  # a whole line of sources, categories or hashtags
LINK_LIMIT = 500  # a link shown as text


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
    # The forum topic to post in (bot.delivery.threads); None is the chat itself / General.
    thread_id: int | None = None


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
    keyword: str | None = None  # the chat's personal keyword that matched, if any


def item_view(item: ItemRow, rules: RuleSet, lang: str, *, keyword: str | None = None) -> AlertView:
    """What a stored story shows in `lang`: category names and hashtags from the rules."""
    names = {c.id: c.name(lang) for c in rules.categories}
    tags = {tag.id: tag.hashtag for tag in (*rules.topics, *rules.entities)}
    return AlertView(
        item_id=item.id,
        title=item.title,
        summary=item.summary,
        link=item.link,
        sources=item.sources,
        seen_at=item.first_seen_at,
        category_names=[names[c] for c in item.categories if c in names],
        hashtags=list(dict.fromkeys(tags[x] for x in (*item.entities, *item.topics) if x in tags)),
        keyword=keyword,
    )


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


ECHO_WORDS = 10
ECHO_WORD_CHARS = 40


def echo_words(words: Sequence[str]) -> str:
    """What a user typed, cut for quoting back in a reply (plain text, not escaped).

    At most ECHO_WORDS words of at most ECHO_WORD_CHARS characters each: echoing
    a 4,000-character argument whole made a reply Telegram refuses as too long.
    """
    shown = [w if len(w) <= ECHO_WORD_CHARS else w[: ECHO_WORD_CHARS - 1] + "…" for w in words]
    text = " ".join(shown[:ECHO_WORDS])
    if len(words) > ECHO_WORDS:
        text += f" … (+{len(words) - ECHO_WORDS})"
    return text


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


def visible_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): emoji and astral characters count 2."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _clean(text: str) -> str:
    """Replace lone surrogates (unencodable, so unsendable) with U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _sanitized(view: AlertView) -> AlertView:
    """The view with every string safe to encode (what Telegram receives is UTF-8 JSON)."""
    return replace(
        view,
        title=_clean(view.title),
        summary=_clean(view.summary),
        link=None if view.link is None else _clean(view.link),
        sources=[_clean(x) for x in view.sources],
        category_names=[_clean(x) for x in view.category_names],
        hashtags=[_clean(x) for x in view.hashtags],
        keyword=None if view.keyword is None else _clean(view.keyword),
    )


def _clip(text: str, limit: int) -> str:
    """Cut plain text to `limit` UTF-16 units (a cut inside a surrogate pair backs off)."""
    if visible_length(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > limit - 1:
            break
        out.append(ch)
        used += size
    return "".join(out) + "…"


def render_alert(
    view: AlertView, *, lang: str, tz: ZoneInfo, link_preview: bool = False
) -> RenderedMessage:
    """Render one alert in `lang`, with times shown in `tz`.

    Every part that came from a feed (or a user, like the keyword) is shortened
    and escaped, so the visible text always fits Telegram's limit.
    """
    view = _sanitized(view)
    title = shorten(view.title, TITLE_LIMIT) or "…"
    summary = shorten(view.summary, SUMMARY_LIMIT)
    link = safe_link(view.link)
    when = view.seen_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    sources = list(dict.fromkeys(view.sources))
    source_line = shorten(sources[0], NAME_LIMIT) if sources else "?"
    if len(sources) > 1:
        others = ", ".join(shorten(s, NAME_LIMIT) for s in sources[1:])
        source_line += f" · {t(lang, 'also')}: " + others
    source_line = shorten(source_line, LINE_LIMIT)

    html_lines = [
        f'<b><a href="{_escape(link)}">{_escape(title)}</a></b>'
        if link
        else f"<b>{_escape(title)}</b>",
        f"📰 {_escape(source_line)} · {when}",
    ]
    plain_lines = [title, f"📰 {source_line} · {when}"]
    if view.category_names:
        cats = shorten(", ".join(view.category_names), LINE_LIMIT)
        html_lines.append(f"🏷 {_escape(cats)}")
        plain_lines.append(f"🏷 {cats}")
    if view.hashtags:
        tags = shorten(" ".join(view.hashtags), LINE_LIMIT)
        html_lines.append(_escape(tags))
        plain_lines.append(tags)
    if view.keyword:
        line = t(lang, "alert_keyword", keyword=shorten(view.keyword, NAME_LIMIT))
        html_lines.append(_escape(line))
        plain_lines.append(line)
    if summary:
        html_lines.append("")
        html_lines.append(_escape(summary))
        plain_lines.append("")
        plain_lines.append(summary)
    if link:
        plain_lines.append(_clip(link, LINK_LIMIT))
    elif view.link:
        shown = _clip(" ".join(view.link.split()), LINK_LIMIT)
        html_lines.append(_escape(shown))
        plain_lines.append(shown)
    return RenderedMessage(
        html="\n".join(html_lines),
        plain="\n".join(plain_lines),
        buttons=(Button(t(lang, "why_button"), why_data(view.item_id)),),
        link_preview=link_preview and link is not None,
    )


def _digest_line(
    view: AlertView, lang: str, tz: ZoneInfo, number: int | None = None
) -> tuple[str, str]:
    """One story of a digest or a list: (html, plain), bounded in length.

    A `number` replaces the bullet: it names the story's Why? button under a bundle.
    """
    title = shorten(view.title, DIGEST_TITLE_LIMIT) or "…"
    link = safe_link(view.link)
    sources = list(dict.fromkeys(view.sources))
    source = shorten(sources[0], NAME_LIMIT) if sources else "?"
    if len(sources) > 1:
        others = shorten(", ".join(sources[1:]), NAME_LIMIT)
        source += f" · {t(lang, 'also')}: {others}"
    when = view.seen_at.astimezone(tz).strftime("%d.%m %H:%M")
    shown_title = f'<a href="{_escape(link)}">{_escape(title)}</a>' if link else _escape(title)
    mark = "•" if number is None else f"{number}."
    html_line = f"{mark} {shown_title} — {_escape(source)} · {when}"
    plain_line = f"{mark} {title} — {source} · {when}"
    if view.keyword:
        note = t(lang, "alert_keyword", keyword=shorten(view.keyword, NAME_LIMIT))
        html_line += f"\n   {_escape(note)}"
        plain_line += f"\n   {note}"
    return html_line, plain_line


def _pack(
    header: tuple[str, str],
    blocks: Sequence[tuple[str, str]],
    *,
    continued: tuple[str, str],
    limit: int = TELEGRAM_TEXT_LIMIT,
    buttons: Sequence[Button | None] = (),
) -> list[RenderedMessage]:
    """Join (html, plain) blocks under a header into as few messages as fit in `limit`.

    The visible length of a block is the length of its plain form (the HTML of
    a block shows exactly its plain text). Every block is far below the limit.
    `buttons[i]`, if given, goes under the message that holds block i.
    """
    messages: list[RenderedMessage] = []
    html_parts, plain_parts = [header[0]], [header[1]]
    keys: list[Button] = []
    used = visible_length(header[1])
    for index, (block_html, block_plain) in enumerate(blocks):
        size = visible_length(block_plain) + 1  # the joining newline
        if used + size > limit and len(plain_parts) > 1:
            messages.append(
                RenderedMessage("\n".join(html_parts), "\n".join(plain_parts), tuple(keys))
            )
            html_parts, plain_parts, keys = [continued[0]], [continued[1]], []
            used = visible_length(continued[1])
        html_parts.append(block_html)
        plain_parts.append(block_plain)
        button = buttons[index] if index < len(buttons) else None
        if button is not None:
            keys.append(button)
        used += size
    messages.append(RenderedMessage("\n".join(html_parts), "\n".join(plain_parts), tuple(keys)))
    return messages


def render_digest(views: Sequence[AlertView], *, lang: str, tz: ZoneInfo) -> list[RenderedMessage]:
    """Several alerts of one chat as one digest, split only at Telegram's length limit.

    Stories are grouped under their first category (stories matched only by a
    personal keyword under "Your keywords"); groups and the stories in them run
    newest first. Each story is one numbered line: linked title, source, time,
    and the keyword that matched if any. Under each message, one numbered Why?
    button per story in it, so a bundle explains each story as a single alert does.
    """
    ordered = sorted(
        (_sanitized(v) for v in views), key=lambda v: (v.seen_at, v.item_id), reverse=True
    )
    groups: dict[str, list[AlertView]] = {}
    for view in ordered:
        name = view.category_names[0] if view.category_names else t(lang, "digest_keywords")
        groups.setdefault(shorten(name, NAME_LIMIT), []).append(view)
    blocks: list[tuple[str, str]] = []
    buttons: list[Button | None] = []
    why = t(lang, "why_button")
    number = 0
    for name, members in groups.items():
        blocks.append((f"\n<b>🏷 {_escape(name)}</b>", f"\n🏷 {name}"))
        buttons.append(None)
        for view in members:
            number += 1
            blocks.append(_digest_line(view, lang, tz, number))
            buttons.append(Button(f"{number} · {why}", why_data(view.item_id)))
    title = t(lang, "digest_title", count=len(ordered))
    more = t(lang, "digest_continued")
    return _pack(
        (f"<b>{_escape(title)}</b>", title),
        blocks,
        continued=(_escape(more), more),
        buttons=buttons,
    )


def render_latest(
    views: Sequence[AlertView], *, heading: str, lang: str, tz: ZoneInfo
) -> RenderedMessage:
    """The /latest list: one line per story with "also reported by" sources, one message."""
    blocks = [_digest_line(_sanitized(v), lang, tz) for v in views]
    messages = _pack((f"<b>{_escape(heading)}</b>", heading), blocks, continued=("", ""))
    return messages[0]


def category_label(names: Callable[[str], str], ids: Sequence[str]) -> str:
    """Comma-separated display names of category ids."""
    return ", ".join(names(c) for c in ids)
