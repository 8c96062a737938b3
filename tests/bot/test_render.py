"""Alert rendering: escaped, valid Telegram HTML within the length limit, whatever the input."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import TELEGRAM_TEXT_LIMIT, AlertView, render_alert, safe_link, shorten

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
