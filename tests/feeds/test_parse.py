"""Parsing and normalisation: what a reader of the alert would notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.parse import FeedParseError, parse_feed
from tests.fakes.feed_xml import FeedItem, atom_xml, rss_xml

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
BASE = "https://haber.test/rss/otomobil.xml"


def parse(body: bytes | str, content_type: str | None = None):  # type: ignore[no-untyped-def]
    data = body.encode() if isinstance(body, str) else body
    return parse_feed(data, base_url=BASE, now=NOW, content_type=content_type)


def test_rss_entries_are_plain_text_with_absolute_clean_links() -> None:
    feed = parse(
        rss_xml(
            [
                FeedItem(
                    "Togg&#39;un &lt;b&gt;yeni&lt;/b&gt;   modeli",
                    link="/haber/togg-t10f?utm_source=rss&utm_medium=feed&id=7&fbclid=abc",
                    guid="tr-1",
                    summary=(
                        "<p>Şarj&nbsp;süresi <a href='/x'>30 dakika</a></p><script>evil()</script>"
                    ),
                    published=datetime(2025, 3, 10, 9, 30, tzinfo=UTC),
                )
            ],
            title="Otomobil",
        )
    )
    assert feed.title == "Otomobil"
    [entry] = feed.entries
    assert entry.title == "Togg'un yeni modeli"
    assert entry.summary == "Şarj süresi 30 dakika"
    assert (
        entry.link
        == "https://haber.test/haber/togg-t10f?utm_source=rss&utm_medium=feed&id=7&fbclid=abc"
    )
    assert entry.canonical_link == "https://haber.test/haber/togg-t10f?id=7"
    assert entry.identity == "guid:tr-1"
    assert entry.published == datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def test_timezone_offsets_become_utc() -> None:
    xml = rss_xml([FeedItem("x y z haber", link="http://a.test/1")]).replace(
        "</item>", "<pubDate>Mon, 10 Mar 2025 11:00:00 +0300</pubDate></item>"
    )
    [entry] = parse(xml).entries
    assert entry.published == datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    assert entry.published.tzinfo is UTC


def test_atom_feed() -> None:
    feed = parse(
        atom_xml(
            [
                FeedItem(
                    "EU probes EV subsidies",
                    link="https://en.test/a",
                    guid="urn:1",
                    summary="<em>Brussels</em> opens a probe",
                    published=NOW - timedelta(hours=1),
                ),
            ]
        )
    )
    [entry] = feed.entries
    assert (entry.identity, entry.summary) == ("guid:urn:1", "Brussels opens a probe")
    assert entry.published == NOW - timedelta(hours=1)


def test_future_date_is_clamped_and_identity_stays_stable() -> None:
    item = FeedItem("Gelecekten gelen haber", published=NOW + timedelta(days=3))
    [entry] = parse(rss_xml([item])).entries
    assert entry.published == NOW
    later = parse_feed(rss_xml([item]).encode(), base_url=BASE, now=NOW + timedelta(hours=1))
    assert later.entries[0].identity == entry.identity


def test_entry_without_date_or_link_gets_a_hash_identity() -> None:
    [entry] = parse(rss_xml([FeedItem("Sadece başlık var")])).entries
    assert entry.published is None
    assert entry.link is None
    assert entry.identity.startswith("hash:")


def test_entry_without_guid_is_identified_by_canonical_link() -> None:
    [entry] = parse(
        rss_xml([FeedItem("Başlık", link="http://www.haber.test/a/?utm_campaign=x")])
    ).entries
    assert entry.identity == "link:https://haber.test/a"


def test_duplicate_guids_keep_the_first_and_warn() -> None:
    feed = parse(
        rss_xml(
            [
                FeedItem("Birinci", guid="same", link="http://a.test/1"),
                FeedItem("İkinci", guid="same", link="http://a.test/2"),
                FeedItem("Üçüncü", guid="other", link="http://a.test/3"),
            ]
        )
    )
    assert [e.title for e in feed.entries] == ["Birinci", "Üçüncü"]
    assert any("duplicate" in w for w in feed.warnings)


def test_guid_is_not_resolved_against_the_feed_url() -> None:
    [entry] = parse(rss_xml([FeedItem("x", guid="12345", link="/a")])).entries
    assert entry.guid == "12345"


def test_wrongly_declared_windows_1254_is_decoded_as_turkish() -> None:
    xml = rss_xml(
        [FeedItem("Şarj istasyonu ağı büyüyor: İzmir'de ılık karşılama", link="http://a.test/1")]
    )
    body = xml.encode("windows-1254")  # but the declaration says utf-8
    feed = parse(body, content_type="application/rss+xml; charset=utf-8")
    assert feed.entries[0].title == "Şarj istasyonu ağı büyüyor: İzmir'de ılık karşılama"
    assert any("charset" in w for w in feed.warnings)


def test_correctly_declared_windows_1254() -> None:
    xml = rss_xml(
        [FeedItem("Elektrikli otobüs ihalesi", link="http://a.test/1")],
        encoding="windows-1254",
        title="Güncel",
    )
    feed = parse(xml.encode("windows-1254"))
    assert feed.title == "Güncel"
    assert feed.warnings == ()


def test_undefined_entity_in_complete_document_is_recovered_with_warning() -> None:
    xml = rss_xml([FeedItem("placeholder", link="http://a.test/1")]).replace(
        "placeholder", "Togg&nbsp;T10X"
    )
    feed = parse(xml)
    assert feed.entries[0].title.startswith("Togg")
    assert any("malformed XML" in w for w in feed.warnings)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + ']><rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"  \n\t ", "empty body"),
        (
            b"<!DOCTYPE html><html><head><title>Haber</title></head><body>x</body></html>",
            "not a feed: looks like an HTML page",
        ),
        ("<html><body>Site bakımda</body></html>".encode(), "not a feed: looks like an HTML page"),
        (
            rss_xml([FeedItem("a", link="http://a.test/1")] * 3).encode()[:-60],
            "malformed XML at line",
        ),
        (b"<?xml version='1.0'?><rss><channel><item><title>x</tit", "malformed XML at line"),
        (b"just some text", "malformed XML"),
        (b'<?xml version="1.0"?><config><a>1</a></config>', "not a feed"),
        (BILLION_LAUGHS.encode(), "entity expansion refused"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<rss version="2.0"><channel><title>&x;</title></channel></rss>',
            "entity expansion refused",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "html-doctype",
        "html",
        "truncated",
        "truncated-early",
        "text",
        "other-xml",
        "billion-laughs",
        "external-entity",
    ],
)
def test_not_a_feed_is_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=message):
        parse(body)


def test_truncated_error_names_truncation() -> None:
    body = rss_xml([FeedItem("a", link="http://a.test/1")]).encode()[:-40]
    with pytest.raises(FeedParseError, match="truncated"):
        parse(body)
