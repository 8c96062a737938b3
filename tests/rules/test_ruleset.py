"""Rule semantics (any/all/none/where, vocabularies, tags) and the classification output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rules import Hit, RuleSet, TagInfo, load_rules
from tests.rules.conftest import filler

RULES = """
vocabularies:
  ev_context: [elektrikli araç, electric vehicle, "=EV"]
categories:
  - id: battery-manufacturing
    name: {tr: Batarya Üretimi, en: Battery Manufacturing}
    rules:
      - any: [batarya, battery]
        all:
          - [fabrika, factory, üretim]
          - [$ev_context]
        none: [telefon, phone]
  - id: competition
    name: {tr: Yarışmalar, en: Competition}
    rules:
      - any: [yarışma]
        where: title
        none_anywhere: [robot]
topics:
  - id: charging-stations
    label: Charging Stations
    label_tr: Şarj İstasyonları
    terms: [şarj istasyonu]
entities:
  - {id: togg, label: Togg, terms: [Togg]}
"""


@pytest.fixture
def ruleset(rules_file: Callable[[str], Path]) -> RuleSet:
    rest = filler("battery-manufacturing", "competition")
    return load_rules(rules_file(RULES.replace("topics:", rest + "topics:")))


@pytest.mark.parametrize(
    ("title", "summary", "categories"),
    [
        ("Batarya fabrikası", "Elektrikli araçlar için üretilecek", ["battery-manufacturing"]),
        ("Batarya fabrikası açıldı", "", []),  # all-group ev_context missing
        ("Bataryalar ve elektrikli araç", "", []),  # all-group fabrika missing
        ("Telefon bataryası fabrikası", "elektrikli araç", []),  # none fires
        ("EV battery factory opens", "", ["battery-manufacturing"]),
        ("Ev bataryası fabrikası", "", []),  # 'Ev' is not the acronym EV
        ("Yarışma başladı", "", ["competition"]),
        ("Başladı", "elektrikli araç yarışması", []),  # title-only rule
        # none_anywhere excludes from the summary too, though the rule reads the title
        ("Yarışma başladı", "Robot takımları yarıştı", []),
        ("Yarışma başladı", "Elektrikli araç takımları yarıştı", ["competition"]),
    ],
)
def test_rule_semantics(ruleset: RuleSet, title: str, summary: str, categories: list[str]) -> None:
    assert list(ruleset.classify(title, summary).categories) == categories


def test_hits_say_which_terms_fired_where(ruleset: RuleSet) -> None:
    result = ruleset.classify("Batarya fabrikası", "Elektrikli araçlar için")
    hits = result.matches["battery-manufacturing"]
    assert Hit("batarya", "title", "Batarya") in hits
    assert Hit("fabrika", "title", "fabrikası") in hits
    assert Hit("elektrikli araç", "summary", "Elektrikli araçlar") in hits


def test_to_json_follows_the_contract(ruleset: RuleSet) -> None:
    result = ruleset.classify("Togg batarya fabrikası", "elektrikli araç şarj istasyonu")
    assert result.to_json() == {
        "categories": ["battery-manufacturing"],
        "topics": ["charging-stations"],
        "entities": ["togg"],
        "matches": {"battery-manufacturing": ["batarya", "fabrika", "elektrikli araç"]},
    }


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "tr",
            "Batarya Üretimi: 'batarya' (başlık), 'fabrikası' (başlık), 'elektrikli araç' (özet)",
        ),
        (
            "en",
            "Battery Manufacturing: 'batarya' (title), 'fabrikası' (title), "
            "'elektrikli araç' (summary)",
        ),
    ],
)
def test_explain_in_both_languages(ruleset: RuleSet, lang: str, expected: str) -> None:
    assert ruleset.classify("batarya fabrikası", "elektrikli araç").explain(lang) == expected


def test_explain_when_nothing_matched(ruleset: RuleSet) -> None:
    assert ruleset.classify("Hava durumu").explain("tr") == "Hiçbir kategoriye uymadı."
    assert ruleset.classify("Weather").explain("en") == "No category matched."


def test_html_in_input_is_cleaned(ruleset: RuleSet) -> None:
    result = ruleset.classify("<b>Batarya</b> fabrikası", "<p>Elektrikli&nbsp;araç</p>")
    assert result.categories == ("battery-manufacturing",)


def test_category_lookup_and_summary(ruleset: RuleSet) -> None:
    assert ruleset.category("competition").name("tr") == "Yarışmalar"
    assert ruleset.category("competition").name("en") == "Competition"
    assert ruleset.categories[0].id == "battery-manufacturing"
    assert ruleset.summary_line().startswith("8 categories, ")


@pytest.mark.parametrize(
    ("tag", "hashtag"),
    [
        (TagInfo("charging-stations", "Charging Stations"), "#ChargingStations"),
        (TagInfo("togg", "Togg"), "#Togg"),
        (TagInfo("ford-otosan", "Ford Otosan"), "#FordOtosan"),
        (TagInfo("farasis-siro", "Farasis/Siro"), "#FarasisSiro"),
        (TagInfo("esarj", "Eşarj"), "#Eşarj"),
        (TagInfo("x", "2030 hedefi"), "#_2030Hedefi"),
        (TagInfo("lithium-and-boron", "Lithium & Boron"), "#LithiumBoron"),
    ],
)
def test_hashtags_are_telegram_safe(tag: TagInfo, hashtag: str) -> None:
    assert tag.hashtag == hashtag
    assert all(c.isalnum() or c == "_" for c in tag.hashtag[1:])


def test_bundled_rules_have_the_promised_tags() -> None:
    ruleset = load_rules()
    topics = {t.id for t in ruleset.topics}
    assert {
        "charging-stations",
        "battery-recycling",
        "lithium-and-boron",
        "statistics",
        "legislation",
        "incentives",
        "research",
        "agriculture",
        "public-transport",
    } <= topics
    entities = {t.id for t in ruleset.entities}
    assert {
        "togg",
        "aspilsan",
        "temsa",
        "karsan",
        "otokar",
        "bmc",
        "ford-otosan",
        "tofas",
        "farasis-siro",
        "kodeco",
        "esarj",
        "zes",
        "trugo",
        "voltrun",
        "tesla",
        "byd",
    } <= entities


TIE_RULES = """
categories:
  - id: battery-manufacturing
    name: {tr: a, en: a}
    terms: [üretim]
  - id: ev-manufacturing
    name: {tr: b, en: b}
    rules:
      - any: [üret*]
      - any: [üretim]
  - id: competition
    name: {tr: c, en: c}
    rules:
      - any: [üretim]
      - any: [üret*]
"""


def test_words_two_terms_match_are_quoted_once_as_the_earlier_rules_term(
    rules_file: Callable[[str], Path],
) -> None:
    # "üretim" is numbered before "üret*" (it comes first in the file), but in
    # ev-manufacturing the rule naming "üret*" comes first, and that decides.
    rules = TIE_RULES + filler("battery-manufacturing", "ev-manufacturing", "competition")
    result = load_rules(rules_file(rules)).classify("Üretim başladı", "seri üretim")
    assert result.matches["ev-manufacturing"] == (Hit("üret*", "title", "Üretim"),)
    assert result.matches["competition"] == (Hit("üretim", "title", "Üretim"),)
    assert result.matches["battery-manufacturing"] == (Hit("üretim", "title", "Üretim"),)
