"""The headline a news link spells stands in for a missing title."""

from __future__ import annotations

import pytest

from rules import load_rules
from rules.evaluate import evaluate
from rules.links import item_title, link_headline


@pytest.mark.parametrize(
    ("link", "words"),
    [
        # Article ids and extensions are not words of the headline.
        (
            "https://www.haber.example/ekonomi/karsan-bursaya-elektrikli-otobus-teslim-etti-h160489.html",
            "karsan bursaya elektrikli otobus teslim etti",
        ),
        # The longest slug wins over section names, dates and numeric ids.
        (
            "https://news.example/2023/04/11/turkiye-plans-to-build-1000-ev-stations-by-2023-end/",
            "turkiye plans to build ev stations by end",
        ),
        # Hashes glued to the last word go with it.
        (
            "https://x.example/alman-partileri-anlasti-26-07-2022-haberd3a6ac8ecf13e1ed.html",
            "alman partileri anlasti",
        ),
        # A percent-encoded apostrophe keeps a Turkish suffix on its word.
        (
            "https://x.example/T%C3%BCrkiye%27de-%C5%9Farj-a%C4%9F%C4%B1-b%C3%BCy%C3%BCyor",
            "Türkiye'de şarj ağı büyüyor",
        ),
        # Quotes around a slug are not words.
        (
            "https://x.example/yerel/''sifir-salimli-hazirlik-programi''/903303",
            "sifir salimli hazirlik programi",
        ),
        # No headline in the address: nothing is made up.
        ("https://x.example/?p=36193", ""),
        ("https://x.example/news/world/", ""),
        ("https://x.example/video/x8kd91z", ""),
        ("http://[::1/broken-ipv6-link-here", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_the_words_of_a_link(link: str | None, words: str) -> None:
    assert link_headline(link) == words


def test_a_title_wins_over_the_link() -> None:
    item = {
        "title": "Togg Almanya'da satışa çıktı",
        "source": "https://x.example/togg-yeni-fabrika-kuruyor",
    }
    assert item_title(item) == "Togg Almanya'da satışa çıktı"
    assert item_title({"title": "  ", "link": "https://x.example/togg-yeni-fabrika-kuruyor"}) == (
        "togg yeni fabrika kuruyor"
    )
    assert item_title({"summary": "no link"}) == ""


def test_scoring_reads_a_title_less_item_by_its_link() -> None:
    """A labelled item without a headline is scored as ingest would file it."""
    item = {
        "id": "l1",
        "title": "",
        "summary": "Teslimat töreni dün Bükreş'te yapıldı.",
        "source": "https://haber.example/karsan-romanyaya-elektrikli-otobus-teslim-etti-h4512.html",
        "gold": ["commercial-ev-manufacturing"],
    }
    rules = load_rules()
    assert evaluate(rules, [item]).misses == ()
    # Without the link the same item is a miss, named by its first words.
    report = evaluate(rules, [{**item, "source": ""}])
    assert [m.title for m in report.misses] == ["(no title) Teslimat töreni dün Bükreş'te yapıldı."]
