"""Hostile or unusual text in feeds: what reaches storage and the reader.

Every document goes through ``both`` (fast path and feedparser alone must
agree), so each case checks both parsers.
"""

from __future__ import annotations

import codecs
import re
import tomllib
from pathlib import Path

import pytest

import feeds.fastparse as fastparse
from feeds.parse import FeedParseError, ParsedFeed, parse_feed
from tests.feeds.test_fast_parse import BASE, NOW, _atom, _rss, both

ROOT = Path(__file__).resolve().parents[2]
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def parsed(body: str | bytes, content_type: str | None = None) -> ParsedFeed:
    result, _ = both(body, content_type)
    assert isinstance(result, ParsedFeed), result
    return result


def _texts(feed: ParsedFeed) -> list[str]:
    out = [feed.title or ""]
    for entry in feed.entries:
        out += [
            entry.title,
            entry.summary,
            entry.guid or "",
            entry.link or "",
            entry.identity,
            *entry.identities,
        ]
    return out


def test_nul_and_control_characters_never_reach_storage() -> None:
    # &#0; and friends: PostgreSQL refuses NUL in text ("invalid byte
    # sequence 0x00"), which failed the whole batch of the feed.
    feed = parsed(
        _rss(
            "<item><title>Togg&#0; T10X&#1; geldi</title><guid>g&#0;1</guid>"
            "<link>http://a.test/&#0;x</link><description>Şarj&#27;&#127; ağı</description></item>"
            "<item><title>İkinci</title><guid>g2</guid></item>",
            channel="<title>Kanal&#0;&#8;adı</title>",
        )
    )
    assert feed.title == "Kanaladı"
    first, second = feed.entries
    assert (first.title, first.summary, first.guid) == ("Togg T10X geldi", "Şarj ağı", "g1")
    assert first.link == "http://a.test/x"
    assert second.title == "İkinci"
    for text in _texts(feed):
        assert not _CONTROL.search(text), repr(text)
        text.encode("utf-8")  # what the database driver does


@pytest.mark.parametrize("ref", ["&#xD800;", "&#55296;", "&#xDFFF;", "&#x110000;", "&#99999999;"])
def test_lone_surrogate_costs_neither_the_entry_nor_the_others(ref: str) -> None:
    # feedparser's lenient parser crashed on these ("UnicodeEncodeError" /
    # "chr() arg not in range") on every poll, losing every entry.
    feed = parsed(
        _rss(
            f"<item><title>Batarya {ref} fabrikası</title><guid>g1</guid></item>"
            "<item><title>Şarj istasyonu</title><guid>g2</guid></item>",
        )
    )
    assert [e.title for e in feed.entries] == ["Batarya \ufffd fabrikası", "Şarj istasyonu"]
    for text in _texts(feed):
        text.encode("utf-8")


def test_plain_text_keeps_words_in_angle_brackets() -> None:
    feed = parsed(
        _atom(
            '<entry><id>urn:1</id><title type="text">Siro &amp; Farasis: &lt;Batarya&gt; hücre'
            "</title><summary>Why &lt;marquee&gt; is back</summary></entry>",
            head='<title type="text">Kanal &lt;EV&gt;</title>',
        )
    )
    assert feed.title == "Kanal <EV>"
    [entry] = feed.entries
    assert entry.title == "Siro & Farasis: <Batarya> hücre"
    assert entry.summary == "Why <marquee> is back"


def test_rss_title_with_escaped_brackets_is_plain_but_double_encoded_markup_is_stripped() -> None:
    feed = parsed(
        _rss(
            "<item><title>Why &lt;marquee&gt; is back</title><guid>1</guid>"
            "<description>&lt;p&gt;Why &amp;lt;marquee&amp;gt; is back&lt;/p&gt;"
            "</description></item>"
            "<item><title>Togg&amp;#39;un &amp;lt;b&amp;gt;yeni&amp;lt;/b&amp;gt; modeli</title>"
            "<guid>2</guid><description>&amp;lt;p&amp;gt;Şarj&amp;lt;/p&amp;gt;</description></item>"
        )
    )
    plain, markup = feed.entries
    assert (plain.title, plain.summary) == ("Why <marquee> is back", "Why <marquee> is back")
    assert (markup.title, markup.summary) == ("Togg'un yeni modeli", "Şarj")


def test_html_content_is_still_stripped_of_tags() -> None:
    [entry] = parsed(
        _atom(
            '<entry><id>urn:1</id><title type="html">&lt;b&gt;Kalın&lt;/b&gt; başlık</title>'
            '<content type="html">&lt;p&gt;Metin&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;'
            "</content>"
            "</entry>"
        )
    ).entries
    assert (entry.title, entry.summary) == ("Kalın başlık", "Metin")


def test_code_text_is_kept_and_the_entry_survives() -> None:
    feed = parsed(
        _rss(
            "<item><title>&lt;code&gt;npm i&lt;/code&gt;</title><guid>1</guid>"
            "<description><![CDATA[<p>Use <code>&lt;br /&gt;</code> or "
            "<code>&lt;div&gt;</code></p>]]>"
            "</description></item>"
            "<item><description><![CDATA[<code>&lt;svg&gt;</code>]]></description></item>"
        )
    )
    first, second = feed.entries
    assert first.title == "npm i"
    assert first.summary == "Use <br /> or <div>"
    assert second.title == "<svg>"


def test_inline_svg_markup_is_dropped_but_its_text_and_the_entry_stay() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10"><title>Şarj haritası</title>'
        '<style>circle{fill:red}</style><circle r="5"/><text x="1">%80</text></svg>'
    )
    feed = parsed(
        _atom(
            '<entry><id>urn:1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
            f"{svg}</div></content></entry>"
            '<entry><id>urn:2</id><title type="html">'
            + svg.replace("<", "&lt;").replace(">", "&gt;")
            + " Yeni istasyonlar</title></entry>"
        )
    )
    first, second = feed.entries
    assert first.summary == "Şarj haritası %80"
    assert first.title == "Şarj haritası %80"  # borrowed from the summary
    assert second.title == "Şarj haritası %80 Yeni istasyonlar"


def test_feed_title_is_normalised_like_entry_titles() -> None:
    feed = parsed(
        _rss(
            "<item><title>x</title><guid>1</guid></item>",
            channel="<title>Oto &lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Haber&lt;/b&gt;  "
            "&amp;amp; Analiz</title>",
        )
    )
    assert feed.title == "Oto Haber & Analiz"
    atom = parsed(
        _atom(
            "",
            head='<title type="html">&lt;em&gt;EV&lt;/em&gt; &lt;style&gt;p{}&lt;/style&gt;News'
            "</title>",
        )
    )
    assert atom.title == "EV News"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("declared", [True, False])
def test_utf16_and_utf32_without_bom_are_read(codec: str, declared: bool) -> None:
    xml = _rss("<item><title>Şarj ağı büyüyor</title><guid>1</guid></item>")
    if declared:
        xml = xml.replace('encoding="utf-8"', f'encoding="{codec[:6]}"')
    else:
        xml = xml.split("?>", 1)[1]
    feed = parsed(xml.encode(codec), content_type="application/rss+xml")
    assert [e.title for e in feed.entries] == ["Şarj ağı büyüyor"]
    assert feed.title == "Kanal"


def test_entity_declaration_is_refused_in_utf16_too() -> None:
    bomb = (
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "aaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;">]><rss version="2.0"><channel><title>&b;</title>'
        "</channel></rss>"
    )
    for body in (codecs.BOM_UTF16_LE + bomb.encode("utf-16-le"), bomb.encode("utf-16-be")):
        result, _ = both(body)
        assert result == "error: entity expansion refused: the document declares XML entities"


DEPTH = 20_000
_ESCAPED = "&lt;div&gt;" * DEPTH + "metin" + "&lt;/div&gt;" * DEPTH
_CDATA = "<![CDATA[" + "<b>" * DEPTH + "metin" + "</b>" * DEPTH + "]]>"


@pytest.mark.parametrize(
    ("nested", "summary"),
    [
        ("<x>" * DEPTH + "y" + "</x>" * DEPTH, ""),  # unknown elements inside the item
        (f"<description>{_ESCAPED}</description>", "metin"),
        (f"<description>{_CDATA}</description>", "metin"),
    ],
    ids=["xml-elements", "escaped-html", "cdata-html"],
)
def test_deep_nesting_costs_neither_the_entry_nor_the_others(nested: str, summary: str) -> None:
    # 20,000 levels: no recursion limit is hit in either parser or in the clean-up.
    feed = parsed(
        _rss(
            f"<item><title>Batarya fabrikası</title><guid>g1</guid>{nested}</item>"
            "<item><title>Şarj istasyonu</title><guid>g2</guid></item>"
        )
    )
    assert [e.title for e in feed.entries] == ["Batarya fabrikası", "Şarj istasyonu"]
    assert feed.entries[0].summary == summary


def test_xhtml_doctype_before_rss_is_a_feed_but_html_stays_refused() -> None:
    doctype = (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
    )
    xml = _rss("<item><title>Haber</title><guid>1</guid></item>")
    body = xml.replace("?>", "?>" + doctype + "<!-- generated -->", 1)
    assert [e.title for e in parsed(body).entries] == ["Haber"]
    page = f'<?xml version="1.0"?>{doctype}<html xmlns="http://www.w3.org/1999/xhtml"></html>'
    for html in (page, "<!-- x --><!DOCTYPE html><html><body>Bakım</body></html>", doctype):
        with pytest.raises(FeedParseError, match="looks like an HTML page"):
            parse_feed(html.encode(), base_url=BASE, now=NOW)


def test_feedparser_is_pinned_to_the_version_the_fast_path_was_checked_against() -> None:
    # fastparse reproduces feedparser's behaviour with five private names
    # (imported in feeds.feedparser_compat):
    # any other release could change either silently.
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [line] = [d for d in deps if d.startswith("feedparser")]
    assert line == f"feedparser=={fastparse.CHECKED_FEEDPARSER_VERSION}"
    assert fastparse.ENABLED  # the installed release is the checked one


def test_fast_path_switches_itself_off_on_another_feedparser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    xml = _rss("<item><title>Haber</title><guid>1</guid></item>")
    result, path = both(xml)
    assert path == "fast"
    monkeypatch.setattr(fastparse, "ENABLED", False)
    result_off, path_off = both(xml)
    assert path_off == "feedparser"
    assert isinstance(result, ParsedFeed) and isinstance(result_off, ParsedFeed)
    assert result_off.entries == result.entries
