"""Alert rendering: escaped, valid Telegram HTML within the length limit, whatever the input."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.render import TELEGRAM_TEXT_LIMIT, AlertView, render_alert, safe_link, shorten

IST = ZoneInfo("Europe/Istanbul")
ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}


class TelegramHTML(HTMLParser):
    """Checks tags are Telegram's and balanced, and collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"] or "")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible(html_text: str) -> tuple[str, list[str]]:
    # Telegram accepts only these named entities; anything else must be numeric.
    for entity in re.findall(r"&([a-zA-Z]+);", html_text):
        assert entity in {"lt", "gt", "amp", "quot"}, entity
    parser = TelegramHTML()
    parser.feed(html_text)
    parser.close()
    assert parser.stack == []
    return "".join(parser.text), parser.hrefs


def view(**overrides: object) -> AlertView:
    base: dict[str, object] = {
        "item_id": 7,
        "title": "Togg T10X ihracatı başladı",
        "summary": "Togg, elektrikli SUV'unu Almanya'ya gönderdi.",
        "link": "https://example.org/togg?a=1&b=2",
        "sources": ["NTV · Otomobil", "Hürriyet"],
        "seen_at": datetime(2026, 11, 23, 9, 5, tzinfo=UTC),
        "category_names": ["EV Manufacturing"],
        "hashtags": ["#Togg"],
    }
    base.update(overrides)
    return AlertView(**base)  # type: ignore[arg-type]


def test_alert_shows_title_link_source_time_categories_and_tags() -> None:
    message = render_alert(view(), lang="en", tz=IST)
    text, hrefs = visible(message.html)
    assert "Togg T10X ihracatı başladı" in text
    assert hrefs == ["https://example.org/togg?a=1&b=2"]
    assert "NTV · Otomobil · also: Hürriyet" in text
    assert "23.11.2026 12:05" in text  # Istanbul is UTC+3
    assert "EV Manufacturing" in text and "#Togg" in text
    assert [b.data for b in message.buttons] == ["why:7"]
    assert message.buttons[0].label == "Why?"


def test_turkish_alert_uses_turkish_words() -> None:
    message = render_alert(view(), lang="tr", tz=IST)
    assert "ayrıca: Hürriyet" in message.plain
    assert message.buttons[0].label == "Neden?"


def test_hostile_title_is_escaped() -> None:
    title = 'Şarj <b>fiyatları</b> & "zam" <script>alert(1)</script>'
    message = render_alert(view(title=title, link='https://x.org/"><b>'), lang="en", tz=IST)
    text, hrefs = visible(message.html)
    assert title in text
    assert hrefs == ['https://x.org/"><b>']


def test_non_http_link_is_not_linked() -> None:
    message = render_alert(view(link="javascript:alert(1)"), lang="en", tz=IST)
    _, hrefs = visible(message.html)
    assert hrefs == []
    assert safe_link("ftp://x") is None
    assert safe_link("https://ok.example/a") == "https://ok.example/a"


def test_huge_title_is_shortened_at_a_word() -> None:
    message = render_alert(view(title="batarya " * 2000), lang="en", tz=IST)
    text, _ = visible(message.html)
    assert len(text) < TELEGRAM_TEXT_LIMIT
    assert shorten("one two three four", 10) == "one two…"


@settings(max_examples=200, deadline=None)
@given(
    title=st.text(max_size=12000),
    summary=st.text(max_size=12000),
    source=st.text(max_size=200),
    link=st.one_of(st.none(), st.text(max_size=300), st.just("https://a.b/<&>\"'")),
)
def test_any_input_renders_valid_html_within_limit(
    title: str, summary: str, source: str, link: str | None
) -> None:
    message = render_alert(
        view(title=title, summary=summary, sources=[source], link=link), lang="tr", tz=IST
    )
    text, _ = visible(message.html)
    assert len(text) <= TELEGRAM_TEXT_LIMIT
    assert len(message.plain) <= TELEGRAM_TEXT_LIMIT


# ---- keyword line, link preview, digests, /latest ------------------------------------

from bot.delivery.render import render_digest, render_latest, visible_length  # noqa: E402
from tests.fakes.telegram_server import parse_html  # noqa: E402


def test_keyword_alert_says_which_term_matched_and_preview_is_per_chat() -> None:
    message = render_alert(view(keyword="<şarj>"), lang="en", tz=IST, link_preview=True)
    text, _ = visible(message.html)
    assert "Matched your keyword: <şarj>" in text
    assert message.link_preview
    assert not render_alert(view(link="nope"), lang="en", tz=IST, link_preview=True).link_preview


def test_digest_groups_by_category_newest_first() -> None:
    def at(minute: int, title: str, cats: list[str], **kw: object) -> AlertView:
        return view(
            item_id=minute,
            title=title,
            category_names=cats,
            seen_at=datetime(2026, 11, 23, 9, minute, tzinfo=UTC),
            **kw,
        )

    views = [
        at(1, "old regulation", ["Regulation"]),
        at(5, "new battery", ["Battery Manufacturing", "Regulation"]),
        at(3, "mid regulation", ["Regulation"]),
        at(4, "keyword only", [], keyword="togg"),
    ]
    [message] = render_digest(views, lang="en", tz=IST)
    text, hrefs = visible(message.html)
    assert text.startswith("📬 Digest · 4 stories")
    order = [text.index(s) for s in ("new battery", "keyword only", "mid regulation", "old reg")]
    assert order == sorted(order)
    assert (
        text.index("Battery Manufacturing")
        < text.index("Your keywords")
        < text.index("🏷 Regulation")
    )
    assert "Matched your keyword: togg" in text
    assert len(hrefs) == 4
    # One numbered Why? button per story, in the order of the lines.
    assert [b.label for b in message.buttons] == [f"{n} · Why?" for n in range(1, 5)]
    assert render_digest(views, lang="tr", tz=IST)[0].plain.startswith("📬 Özet · 4 haber")


def test_long_digest_is_split_at_the_limit_and_loses_nothing() -> None:
    views = [view(item_id=n, title=f"story {n} " + "x" * 190) for n in range(60)]
    messages = render_digest(views, lang="en", tz=IST)
    assert len(messages) > 1
    texts = [visible(m.html)[0] for m in messages]
    assert all(visible_length(x) <= TELEGRAM_TEXT_LIMIT for x in texts)
    assert sum(len(re.findall(r"\d+\. story", x)) for x in texts) == 60
    # Each part carries the Why? buttons of its own stories, numbered on across parts.
    assert sum(len(m.buttons) for m in messages) == 60
    assert messages[1].buttons[0].label.startswith(f"{len(messages[0].buttons) + 1} ")
    assert texts[1].startswith("📬 Digest (continued)")


def test_latest_shows_also_reported_by() -> None:
    message = render_latest([view()], heading="Latest", lang="tr", tz=IST)
    text, _ = visible(message.html)
    assert "NTV · Otomobil · ayrıca: Hürriyet" in text


HOSTILE = st.text(
    alphabet=st.sampled_from(list("<>&\"';/ab #xyzşİı\u202e\u200f🚗👩‍👩‍👧\U0001f600\n\t"))
    | st.characters(),
    max_size=600,
)


@settings(max_examples=150, deadline=None)
@given(
    titles=st.lists(st.text(max_size=10_000) | HOSTILE, min_size=1, max_size=40),
    names=st.lists(HOSTILE, min_size=1, max_size=3),
    keyword=st.none() | HOSTILE,
    link=st.none() | HOSTILE | st.just("https://a.b/<&>\"'"),
)
def test_hostile_strings_always_render_valid_html_within_the_limit(
    titles: list[str], names: list[str], keyword: str | None, link: str | None
) -> None:
    views = [
        view(
            item_id=i,
            title=title,
            summary=title[::-1],
            link=link,
            sources=names,
            category_names=names,
            hashtags=names,
            keyword=keyword,
        )
        for i, title in enumerate(titles)
    ]
    rendered = [render_alert(views[0], lang="en", tz=IST, link_preview=True)]
    rendered += render_digest(views, lang="tr", tz=IST)
    rendered.append(render_latest(views[:10], heading="Son", lang="tr", tz=IST))
    for message in rendered:
        text, _ = visible(message.html)
        assert visible_length(text) <= TELEGRAM_TEXT_LIMIT
        shown, _ = parse_html(message.html)  # the fake Bot API's Telegram HTML rules
        assert visible_length(shown) <= TELEGRAM_TEXT_LIMIT
        assert visible_length(message.plain) <= TELEGRAM_TEXT_LIMIT
