"""The archive over HTTP, as a browser or feed reader sees it, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import feedparser
import httpx

from bot.storage import Storage
from bot.web.texts import TEXTS
from tests.web.archive_support import Story, also_from, seed, serve

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Links(HTMLParser):
    """Every <a href>, <link> and <title> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feeds: list[str] = []
        self.scripts = 0
        self.handlers: list[str] = []
        self.next: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
            if values.get("rel") == "next":
                self.next = values["href"]
        if tag == "link" and values.get("type") == "application/atom+xml":
            self.feeds.append(values.get("href") or "")
        if tag in {"script", "img", "iframe"}:
            self.scripts += 1
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def titles(html: str) -> list[str]:
    """The story headlines of a list page, in order (unescaped)."""
    import html as html_lib

    return [
        html_lib.unescape(t) for t in re.findall(r'<h2 id="story-\d+"><a [^>]*>(.*?)</a>', html)
    ]


STORIES = [
    Story("Bakanlık yönetmeliği yayımladı", ("regulation",), summary="Yeni kurallar"),
    Story(
        "Şarj istasyonu sayısı İSTANBUL'da arttı",
        ("municipality",),
        summary="Belediye yeni şarj istasyonları kurdu",
        matches={"municipality": ["belediye", "şarj istasyonu"]},
    ),
    Story("Hava durumu: yarın yağmurlu", ()),  # not categorised: never public
    Story("Togg yeni aracı tanıttı", ("ev-manufacturing", "ev-market"), feed="bb"),
]


async def test_home_lists_categorised_stories_newest_first_with_sources_and_local_time(
    storage: Storage,
) -> None:
    ids = await seed(storage, STORIES, START)
    await also_from(storage, ids[1], "cc", START.replace(hour=10))
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        response = await http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert titles(page) == [
        "Togg yeni aracı tanıttı",
        "Şarj istasyonu sayısı İSTANBUL'da arttı",
        "Bakanlık yönetmeliği yayımladı",
    ]
    assert "Hava durumu" not in page
    assert "Ayrıca: Electrive" in page  # the second source of the İstanbul story
    # 09:03 UTC is 12:03 in İstanbul.
    assert "23 Kasım 2026 12:03" in page
    assert 'href="/c/ev-manufacturing"' in page


async def test_a_category_page_shows_only_its_stories_and_a_follow_button(
    storage: Storage,
) -> None:
    await seed(storage, STORIES, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        page = (await http.get("/c/municipality")).text
        unknown = await http.get("/c/no-such-category")
    assert titles(page) == ["Şarj istasyonu sayısı İSTANBUL'da arttı"]
    assert "https://t.me/evbot_news_bot?start=municipality" in parse(page).hrefs
    assert "/feeds/municipality.atom" in parse(page).feeds
    assert unknown.status_code == 404
    assert "Sayfa bulunamadı" in unknown.text


async def test_the_follow_button_is_hidden_when_the_bot_name_is_unknown(storage: Storage) -> None:
    await seed(storage, STORIES, START)
    async with serve(storage, bot_username=None) as base, httpx.AsyncClient(base_url=base) as http:
        page = (await http.get("/c/municipality")).text
    assert not [h for h in parse(page).hrefs if "t.me" in h]
    assert "Telegram" not in page


async def test_a_story_page_shows_every_source_and_the_matched_terms(storage: Storage) -> None:
    ids = await seed(storage, STORIES, START)
    await also_from(storage, ids[1], "cc", START.replace(hour=10))
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        page = (await http.get(f"/s/{ids[1]}")).text
        uncategorised = await http.get(f"/s/{ids[2]}")
        missing = await http.get("/s/999999")
    hrefs = parse(page).hrefs
    assert "https://aa.example/news/1" in hrefs  # the original article
    assert f"https://cc.example/x/{ids[1]}" in hrefs  # the second source's own link
    assert "AA Enerji" in page and "Electrive" in page
    assert "<mark>belediye</mark>" in page and "<mark>şarj istasyonu</mark>" in page
    assert uncategorised.status_code == 404
    assert missing.status_code == 404


async def test_search_finds_turkish_words_typed_without_diacritics_or_in_capitals(
    storage: Storage,
) -> None:
    await seed(storage, STORIES, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:

        async def found(query: str) -> list[str]:
            response = await http.get("/search", params={"q": query})
            assert response.status_code == 200
            return titles(response.text)

        istanbul = ["Şarj istasyonu sayısı İSTANBUL'da arttı"]
        assert await found("sarj istasyonu") == istanbul
        assert await found("ŞARJ İSTASYONU") == istanbul
        assert await found("istanbul") == istanbul
        assert await found("ISTANBUL") == istanbul
        assert await found("istasyon") == istanbul  # a word's beginning finds its forms
        assert await found("araci") == ["Togg yeni aracı tanıttı"]
        assert await found("yonetmeli") == ["Bakanlık yönetmeliği yayımladı"]
        assert await found("yagmurlu") == []  # uncategorised stories are not public
        assert await found("sarj togg") == []  # every word must match
        empty = await http.get("/search", params={"q": ""})
    assert empty.status_code == 200


async def test_search_survives_query_syntax_and_hostile_input(storage: Storage) -> None:
    await seed(storage, STORIES, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        for query in [
            '"',
            "NEAR(a b)",
            "*",
            "sarj OR",
            "a & b | !c:*",
            "'; DROP TABLE items; --",
            "x" * 5000,
        ]:
            response = await http.get("/search", params={"q": query})
            assert response.status_code == 200, query
        script = await http.get("/search", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in script.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in script.text


async def test_hostile_feed_text_is_never_rendered_as_html(storage: Storage) -> None:
    hostile = Story(
        '<script>alert("x")</script><img src=x onerror=alert(1)> Togg',
        ("ev-market",),
        summary='<iframe src="https://evil.example"></iframe> özet',
        link="javascript:alert(document.cookie)",
        matches={"ev-market": ["<b onmouseover=alert(1)>"]},
    )
    [story_id] = await seed(storage, [hostile], START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        pages = [(await http.get(path)).text for path in ("/", f"/s/{story_id}", "/c/ev-market")]
        pages.append((await http.get("/search", params={"q": "togg"})).text)
        headers = (await http.get("/")).headers
    for page in pages:
        links = parse(page)
        assert links.scripts == 0 and links.handlers == []
        assert not [h for h in links.hrefs if h.lower().startswith("javascript")]
        assert "&lt;script&gt;" in page
    assert "script-src" not in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]


async def test_feeds_parse_back_with_stable_tag_ids_original_links_and_categories(
    storage: Storage,
) -> None:
    ids = await seed(storage, STORIES, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        home = (await http.get("/")).text
        everything = await http.get("/feeds/all.atom")
        again = await http.get("/feeds/all.atom")
        category = await http.get("/feeds/ev-market.atom")
        english = await http.get("/feeds/ev-market.atom", params={"lang": "en"})
        unknown = await http.get("/feeds/nope.atom")
    assert "/feeds/all.atom" in parse(home).feeds  # discoverable from the page
    assert everything.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(everything.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert [e.title for e in parsed.entries] == [
        "Togg yeni aracı tanıttı",
        "Şarj istasyonu sayısı İSTANBUL'da arttı",
        "Bakanlık yönetmeliği yayımladı",
    ]
    togg = parsed.entries[0]
    assert togg.id == f"tag:evbot.invalid,2026-11-23:story/{ids[3]}"
    assert togg.link == "https://bb.example/news/3"  # rel=alternate: the original article
    assert {t.term for t in togg.tags} == {"ev-manufacturing", "ev-market"}
    assert "Elektrikli Araç Pazarı" in {t.label for t in togg.tags}
    assert everything.content == again.content  # same stories, same document, same ETag
    assert everything.headers["etag"] == again.headers["etag"]
    cat = feedparser.parse(category.content)
    assert [e.title for e in cat.entries] == ["Togg yeni aracı tanıttı"]
    assert cat.entries[0].id == togg.id
    assert "EV Market" in {t.label for t in feedparser.parse(english.content).entries[0].tags}
    assert unknown.status_code == 404


async def test_feeds_answer_304_until_a_new_story_arrives(storage: Storage) -> None:
    await seed(storage, STORIES, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        first = await http.get("/feeds/all.atom")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        by_etag = await http.get("/feeds/all.atom", headers={"If-None-Match": etag})
        by_date = await http.get("/feeds/all.atom", headers={"If-Modified-Since": modified})
        other_etag = await http.get("/feeds/all.atom", headers={"If-None-Match": '"stale"'})
        assert modified == "Mon, 23 Nov 2026 09:03:00 GMT"
        await seed(
            storage,
            [Story("Yeni batarya fabrikası", ("battery-manufacturing",))],
            START.replace(hour=10),
        )
        after = await http.get("/feeds/all.atom", headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.content == b""
    assert by_etag.headers["etag"] == etag
    assert by_date.status_code == 304
    assert other_etag.status_code == 200
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert feedparser.parse(after.content).entries[0].title == "Yeni batarya fabrikası"


async def test_language_follows_accept_language_and_the_remembered_switch(
    storage: Storage,
) -> None:
    await seed(storage, STORIES, START)
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        english = await http.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,tr;q=0.5"})
        turkish = await http.get("/", headers={"Accept-Language": "tr-TR,tr;q=0.9,en;q=0.8"})
        switched = await http.get(
            "/c/ev-market", params={"lang": "en"}, headers={"Accept-Language": "tr"}
        )
        # httpx keeps the cookie, as a browser would: the choice outlives the link.
        later = await http.get("/c/ev-market", headers={"Accept-Language": "tr"})
    assert '<html lang="en">' in english.text and "Latest news" in english.text
    assert '<html lang="tr">' in turkish.text and "Son haberler" in turkish.text
    assert "evbot_lang=en" in switched.headers["set-cookie"]
    assert "<h1>EV Market</h1>" in switched.text or "EV" in switched.text
    assert '<html lang="en">' in later.text
    assert "23 November 2026, 12:03" in later.text


async def test_pages_go_back_in_time_without_repeating_a_story(storage: Storage) -> None:
    await seed(storage, [Story(f"Haber {n}", ("ev-market",)) for n in range(5)], START)
    seen: list[str] = []
    async with serve(storage, page_size=2) as base, httpx.AsyncClient(base_url=base) as http:
        url: str | None = "/c/ev-market"
        for _ in range(5):  # 5 stories, 2 a page: 3 pages
            if url is None:
                break
            page = (await http.get(url)).text
            seen += titles(page)
            url = parse(page).next
        bad = await http.get("/", params={"before": "abc"})
    assert seen == [f"Haber {n}" for n in range(4, -1, -1)]
    assert bad.status_code == 400


async def test_an_empty_archive_still_answers_every_route(storage: Storage) -> None:
    async with serve(storage) as base, httpx.AsyncClient(base_url=base) as http:
        for path in (
            "/",
            "/c/regulation",
            "/search?q=sarj",
            "/feeds/all.atom",
            "/static/style.css",
        ):
            assert (await http.get(path)).status_code == 200, path
        assert (await http.get("/metrics")).status_code == 404  # not one of the archive's routes
        assert (await http.get("/s/1")).status_code == 404


def test_both_languages_have_the_same_page_texts() -> None:
    assert TEXTS["tr"].keys() == TEXTS["en"].keys()
    for key in TEXTS["tr"]:
        assert re.findall(r"{\w+}", TEXTS["tr"][key]) == re.findall(r"{\w+}", TEXTS["en"][key])


async def test_search_results_are_paged_newest_first(storage: Storage) -> None:
    await seed(
        storage, [Story(f"Şarj istasyonu haberi {n}", ("municipality",)) for n in range(4)], START
    )
    seen: list[str] = []
    async with serve(storage, page_size=1) as base, httpx.AsyncClient(base_url=base) as http:
        url: str | None = "/search?q=sarj+istasyonu"
        for _ in range(6):  # 4 stories, 1 a page
            if url is None:
                break
            page = (await http.get(url)).text
            seen += titles(page)
            url = parse(page).next
    assert seen == [f"Şarj istasyonu haberi {n}" for n in range(3, -1, -1)]
