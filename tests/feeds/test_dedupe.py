"""Which entries are new stories: first poll, reappearance, cross-source dedupe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.dedupe import (
    SIMILARITY_THRESHOLD,
    AlreadySeen,
    KnownStory,
    NewStory,
    SameStory,
    decide,
    recent_window_start,
    title_similarity,
    titles_match,
)
from feeds.entries import Entry, make_entry
from feeds.text import title_key

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def entry(
    title: str,
    *,
    link: str | None = None,
    guid: str | None = None,
    published: datetime | None = None,
) -> Entry:
    made = make_entry(
        guid=guid,
        link=link,
        title=title,
        summary="",
        published=published,
        base_url="https://feed.test/rss",
        now=NOW,
    )
    assert made is not None
    return made


def known(
    story_id: int,
    title: str,
    link: str | None = None,
    first_seen: datetime = NOW - timedelta(hours=2),
) -> KnownStory:
    e = entry(title, link=link)
    return KnownStory(story_id, e.canonical_link, e.title_key, first_seen)


# Pairs that are the same story, as syndicated copies and re-publications differ.
SAME_STORY = [
    ("Togg, T10F'in fiyatını açıkladı", "TOGG T10F’İN FİYATINI AÇIKLADI!"),
    ("İBB, elektrikli otobüs ihalesini sonuçlandırdı", "İBB elektrikli otobüs ihalesi sonuçlandı"),
    (
        "İstanbul'da 100 yeni şarj istasyonu kuruluyor",
        "İstanbul'a 100 yeni şarj istasyonu kurulacak",
    ),
    (
        "Elektrikli scooter kiralama şirketlerine yeni düzenleme geliyor",
        "Elektrikli scooter kiralama şirketlerine yönelik yeni düzenleme geliyor",
    ),
    (
        "Sanayi ve Teknoloji Bakanlığı batarya üretimi için yeni teşvik paketini açıkladı",
        "Sanayi ve Teknoloji Bakanlığı, batarya üretimine yönelik yeni teşvik paketini açıkladı",
    ),
    (
        "EU opens probe into Chinese electric vehicle subsidies",
        "EU opens probe into Chinese electric-vehicle subsidies",
    ),
    ("Karsan delivers 20 e-ATAK buses to Romania", "Karsan Delivers 20 e-ATAK Buses To Romania"),
    ("Turkey's EV sales doubled in 2024, data show", "Turkey EV sales doubled in 2024 data shows"),
]

# Different stories with much shared vocabulary: must not be merged.
DIFFERENT_STORY = [
    ("Elektrikli araç satışları ekimde arttı", "Elektrikli araç satışları kasımda düştü"),
    (
        "Ankara'da elektrikli otobüs ihalesi sonuçlandı",
        "İzmir'de elektrikli otobüs ihalesi sonuçlandı",
    ),
    ("Togg yeni şarj istasyonlarını Ankara'da açtı", "Togg yeni şarj istasyonlarını İzmir'de açtı"),
    ("Elektrikli otomobil satışları rekor kırdı", "Hibrit otomobil satışları rekor kırdı"),
    (
        "Bakanlık elektrikli araçlarda ÖTV matrahını güncelledi",
        "Bakanlık hibrit araçlarda ÖTV matrahını güncelledi",
    ),
    ("Togg T10X fiyat listesi açıklandı", "Togg T10F fiyat listesi açıklandı"),
    (
        "Elektrikli araç satışları 2024'te yüzde 20 arttı",
        "Elektrikli araç satışları 2025'te yüzde 20 arttı",
    ),
    ("Tesla cuts Model Y prices in Turkey", "Tesla raises Model Y prices in Turkey"),
    (
        "Turkey raises tariffs on Chinese electric vehicles",
        "Turkey lowers tariffs on Chinese electric vehicles",
    ),
    ("Togg opens new charging stations in Ankara", "Togg opens new charging stations in Izmir"),
    ("Son dakika", "Son dakika!"),
]


@pytest.mark.parametrize(("a", "b"), SAME_STORY)
def test_near_identical_titles_match(a: str, b: str) -> None:
    score = titles_match(title_key(a), title_key(b))
    assert score is not None and score >= SIMILARITY_THRESHOLD


@pytest.mark.parametrize(("a", "b"), DIFFERENT_STORY)
def test_different_stories_do_not_match(a: str, b: str) -> None:
    assert titles_match(title_key(a), title_key(b)) is None


@given(st.text(max_size=80), st.text(max_size=80))
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    ka, kb = title_key(a), title_key(b)
    s = title_similarity(ka, kb)
    assert 0.0 <= s <= 1.0
    assert s == title_similarity(kb, ka)
    if ka.strip():
        assert title_similarity(ka, ka) == 1.0


def test_first_poll_records_without_alerting() -> None:
    entries = [
        entry("Birinci haber başlığı burada", link="https://a.test/1"),
        entry("İkinci haber başlığı burada da", link="https://a.test/2"),
    ]
    decisions = decide(entries, seen_identities=set(), recent_stories=[], first_poll=True, now=NOW)
    assert decisions == [NewStory(entries[0], alert=False), NewStory(entries[1], alert=False)]


def test_new_entry_after_first_poll_alerts_and_seen_one_does_not() -> None:
    old = entry("Eski haber başlığı burada", link="https://a.test/1", guid="g1")
    new = entry("Yeni haber başlığı burada geldi", link="https://a.test/2", guid="g2")
    decisions = decide(
        [new, old],
        seen_identities=set(old.identities),
        recent_stories=[],
        first_poll=False,
        now=NOW,
    )
    assert decisions == [NewStory(new, alert=True), AlreadySeen(old)]


def test_entry_that_disappears_and_reappears_is_not_realerted() -> None:
    # Its story is long gone from the window; only the tombstoned identity remains.
    e = entry("Geri dönen haber başlığı burada", guid="g-back", link="https://a.test/back")
    decisions = decide(
        [e], seen_identities={"guid:g-back"}, recent_stories=[], first_poll=False, now=NOW
    )
    assert decisions == [AlreadySeen(e)]


def test_changed_guid_same_link_is_already_seen_even_outside_the_window() -> None:
    before = entry(
        "Haber başlığı değişmeden kaldı", guid="v1", link="https://a.test/story?utm_source=x"
    )
    after = entry("Haber başlığı değişmeden kaldı", guid="v2", link="https://www.a.test/story")
    decisions = decide(
        [after],
        seen_identities=set(before.identities),
        recent_stories=[],
        first_poll=False,
        now=NOW,
    )
    assert decisions == [AlreadySeen(after)]


def test_changed_link_and_guid_same_title_is_same_story() -> None:
    story = known(7, "Togg Almanya'da satışa başladı", link="https://a.test/old-slug")
    moved = entry("Togg Almanya'da satışa başladı", guid="new-guid", link="https://a.test/new-slug")
    [decision] = decide(
        [moved], seen_identities=set(), recent_stories=[story], first_poll=False, now=NOW
    )
    assert isinstance(decision, SameStory)
    assert decision.story_id == 7 and decision.reason.startswith("title 1.00")


def test_same_story_from_a_second_feed_by_canonical_link() -> None:
    story = known(3, "Karsan wins e-bus order", link="https://news.test/karsan?utm_source=feed1")
    other = entry(
        "A different headline entirely here", link="https://www.news.test/karsan/?fbclid=1"
    )
    [decision] = decide(
        [other], seen_identities=set(), recent_stories=[story], first_poll=False, now=NOW
    )
    assert decision == SameStory(other, 3, "canonical link")


def test_same_story_from_a_second_feed_by_title_only_within_window() -> None:
    title = "Elektrikli otobüs ihalesini İBB kazandı"
    inside = known(1, title, first_seen=NOW - timedelta(hours=47))
    outside = known(2, title, first_seen=NOW - timedelta(hours=49))
    copy = entry("İBB elektrikli otobüs ihalesini kazandı", link="https://b.test/x")
    [d1] = decide([copy], seen_identities=set(), recent_stories=[inside], first_poll=False, now=NOW)
    [d2] = decide(
        [copy], seen_identities=set(), recent_stories=[outside], first_poll=False, now=NOW
    )
    assert isinstance(d1, SameStory) and d1.story_id == 1
    assert d2 == NewStory(copy, alert=True)


def test_window_uses_entry_date_when_present() -> None:
    story = known(
        5, "Batarya fabrikası Bursa'da üretime başladı", first_seen=NOW - timedelta(days=10)
    )
    dated = entry(
        "Batarya fabrikası Bursa'da üretime başladı",
        link="https://c.test/1",
        published=NOW - timedelta(days=9),
    )
    [d] = decide([dated], seen_identities=set(), recent_stories=[story], first_poll=False, now=NOW)
    assert isinstance(d, SameStory)


def test_best_match_wins_and_link_beats_title() -> None:
    by_title = known(1, "Ford Otosan E-Transit üretimine başladı")
    by_link = known(2, "Başka bir başlık tamamen farklı", link="https://d.test/ford")
    e = entry("Ford Otosan E-Transit üretimine başladı", link="https://d.test/ford")
    [d] = decide(
        [e], seen_identities=set(), recent_stories=[by_title, by_link], first_poll=False, now=NOW
    )
    assert isinstance(d, SameStory) and d.story_id == 2


def test_same_story_twice_in_one_batch_links_to_the_batch_index() -> None:
    a = entry("Togg T10F Avrupa'da satışa çıktı", link="https://e.test/1")
    b = entry("Togg'un yeni modeli hakkında bilgiler", link="https://e.test/2")
    c = entry("TOGG T10F AVRUPA'DA SATIŞA ÇIKTI", link="https://e.test/3")
    decisions = decide(
        [a, b, c], seen_identities=set(), recent_stories=[], first_poll=False, now=NOW
    )
    assert decisions[0] == NewStory(a, alert=True)
    assert decisions[1] == NewStory(b, alert=True)
    assert isinstance(decisions[2], SameStory)
    assert decisions[2].story_id is None and decisions[2].batch_index == 0


def test_repeated_identity_within_a_batch_is_already_seen() -> None:
    a = entry("Aynı haber iki kez geldi", guid="x")
    decisions = decide([a, a], seen_identities=set(), recent_stories=[], first_poll=False, now=NOW)
    assert decisions == [NewStory(a, alert=True), AlreadySeen(a)]


def test_recent_window_start_covers_dated_entries() -> None:
    assert recent_window_start(NOW, timedelta(hours=48)) == NOW - timedelta(hours=96)
