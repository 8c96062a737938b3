"""The shipped rules against the seed examples, the labelled corpus and known traps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rules import CATEGORY_IDS, RuleSet, evaluate, load_rules

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"


def _items(name: str) -> list[dict[str, object]]:
    with open(CORPUS_DIR / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules()


SEEDS = _items("seed_items.jsonl")


@pytest.mark.parametrize("item", SEEDS, ids=[str(i["id"]) for i in SEEDS])
def test_seed_examples_get_their_gold_categories(ruleset: RuleSet, item: dict[str, object]) -> None:
    result = ruleset.classify(str(item["title"]), str(item["summary"]), str(item["language"]))
    gold = set(item["gold"])  # type: ignore[call-overload]
    allowed = gold | set(item["also_ok"])  # type: ignore[call-overload]
    assert gold <= set(result.categories), result.explain("en")
    assert set(result.categories) <= allowed, result.explain("en")


def test_corpus_meets_the_targets(ruleset: RuleSet) -> None:
    items = _items("corpus.jsonl")
    report = evaluate(ruleset, items)
    assert report.macro_f1 >= 0.92, report.format()
    assert report.false_alarm_rate <= 0.05, report.format()


def test_corpus_shape() -> None:
    items = _items("corpus.jsonl")
    assert len(items) >= 250
    assert len({i["id"] for i in items}) == len(items)
    for cat in CATEGORY_IDS:
        assert sum(cat in i["gold"] for i in items) >= 20, cat  # type: ignore[operator]
    assert sum(not i["gold"] for i in items) >= 60
    assert {i["id"] for i in SEEDS} <= {i["id"] for i in items}
    turkish = sum(i["language"] == "tr" for i in items) / len(items)
    assert 0.55 <= turkish <= 0.7


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Ev sahipleri kira artışına tepkili", "Evde kalan kiracılar yeni düzenleme bekliyor."),
        ("EV SAHİBİ KİRAYI ARTIRDI", "KİRACI MAHKEMEYE GİTTİ"),
        ("Yeni telefonun bataryası iki gün dayanıyor", "Şarj süresi 30 dakikaya indi."),
        ("Laptop battery recall", "The notebook batteries may overheat."),
        ("Otomobil satışları yüzde 10 arttı", "Benzinli modeller pazarın lideri."),
        ("Belediye parkı yeniledi", "Çocuk oyun alanı açıldı."),
        ("Şarkı yarışmasında birincilik", "Genç şarkıcı jüriden tam puan aldı."),
        ("Borsa güne yükselişle başladı", "Bankacılık hisseleri öne çıktı."),
        ("Formula 1 İstanbul'a dönüyor", "Türkiye Grand Prix'si Eylül'de."),
        ("Telefonunuzu hızlı şarj ederken dikkat", "Powerbank kullanımı bataryayı yıpratıyor."),
    ],
)
def test_near_misses_get_no_category(ruleset: RuleSet, title: str, summary: str) -> None:
    assert ruleset.classify(title, summary).categories == ()


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("ŞARJ İSTASYONU SAYISI 20 BİNİ AŞTI", "ev-market"),
        ("Togg’un Almanya satışları başladı", "ev-market"),
        ("sarj istasyonlarina yeni duzenleme EPDK", "regulation"),
        ("Karsan e-JEST yeni versiyonunu tanıttı", "commercial-ev-manufacturing"),
        ("TEKNOFEST Efficiency Challenge başvuruları başladı", "competition"),
        ("Elektrikli scooterlara kask zorunluluğu", "micro-mobility"),
        ("İBB elektrikli otobüs filosunu büyütüyor", "municipality"),
        ("Aspilsan lityum iyon hücre fabrikası açıldı", "battery-manufacturing"),
        ("Togg T10F seri üretime geçti", "ev-manufacturing"),
    ],
)
def test_domain_headlines(ruleset: RuleSet, title: str, category: str) -> None:
    assert category in ruleset.classify(title).categories
