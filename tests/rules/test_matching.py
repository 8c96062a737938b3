"""Term matching semantics, driven through KeywordMatcher (same engine as rule terms)."""

from __future__ import annotations

import pytest

from rules import KeywordMatcher, clean_text, fold, match_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ŞARJ İSTASYONU", "şarj istasyonu"),
        ("IĞDIR", "ığdır"),
        ("İstanbul", "istanbul"),
        ("ISPARTA", "ısparta"),
        ("Togg'un", "togg'un"),
    ],
)
def test_fold_is_turkish_lowercase(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_plain_lower_fails_where_fold_works() -> None:
    # The reason fold exists: Python's lower() leaves a combining dot after İ.
    assert "istasyonu" not in "ŞARJ İSTASYONU".lower()
    assert "istasyonu" in fold("ŞARJ İSTASYONU")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ŞARJ İSTASYONU", "sarj istasyonu"),
        ("Togg’un", "togg'un"),
        ("e–scooter", "e-scooter"),
        ("Çağrı Öğüt", "cagri ogut"),
    ],
)
def test_match_key_drops_diacritics_and_keeps_length(text: str, expected: str) -> None:
    assert match_key(text) == expected
    assert len(match_key(text)) == len(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>Togg <b>T10X</b></p><p>satışta</p>", "Togg T10X satışta"),
        ("Şarj &amp; batarya&nbsp;haberi", "Şarj & batarya haberi"),
        ("  çok   boşluk\n\tvar ", "çok boşluk var"),
        ("<script>var x = 1;</script>Haber", "Haber"),
        ("&lt;b&gt;kalın&lt;/b&gt; yazı", "kalın yazı"),
        ("S\u0327arj", "Şarj"),  # decomposed Ş becomes NFC
        ("", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


MATCHES = [
    # Turkish casing
    ("şarj istasyonu", "ŞARJ İSTASYONU KURULDU", True),
    ("Iğdır", "IĞDIR'DA YENİ TESİS", True),
    ("ığdır", "Iğdır'da yeni tesis", True),
    # Turkish suffixes
    ("batarya", "Togg'un bataryası", True),
    ("batarya", "bataryalarının üretimi", True),
    ("batarya", "bataryalı model", True),
    ("Togg", "Togg'un yeni modeli", True),
    ("Togg", "Togg’un yeni modeli", True),
    ("teşvik", "yatırıma teşviği verildi", True),
    ("araç", "aracın menzili", True),
    # suffix grammar: a stem followed by non-suffix letters is another word
    ("pil", "piller tükeniyor", True),
    ("pil", "pilot bölge", False),
    ("bor", "Borsa İstanbul", False),
    ("bor", "borç yapılandırması", False),
    # phrases with suffix on the last word, across whitespace and hyphens
    ("şarj istasyonu", "şarj istasyonlarına yatırım", True),
    ("şarj istasyonu", "şarj  \t istasyonunda", True),
    ("şarj noktası", "şarj noktalarının sayısı", True),
    ("elektrikli araç", "elektrikli-araç pazarı", True),
    ("elektrikli araç", "elektrikli ve hibrit araç", False),
    ("elektrikli araç", "elektrikli. Araç", False),
    ("e-scooter", "e scooter kiralama", True),
    ("e-scooter", "escooter kiralama", True),
    ("e-scooter", "e-scooterlar yasaklandı", True),
    # ASCII-folded input
    ("şarj istasyonu", "sarj istasyonlari", True),
    ("batarya üretimi", "batarya uretimi basladi", True),
    ("Eşarj", "Esarj agini genisletti", True),
    # English plurals and possessives
    ("battery", "new batteries", True),
    ("battery", "the battery's life", True),
    ("electric vehicle", "Electric Vehicles sold", True),
    ("factory", "two factories", True),
    ("bus", "business news", False),
    # exact words and acronyms: the EV/ev trap
    ("=EV", "EV satışları arttı", True),
    ("=EV", "EV'ler yollarda", True),
    ("=EV", "EVs are selling", True),
    ("=EV", "evde şarj", False),
    ("=EV", "evler satışta", False),
    ("=EV", "ev sahibi kirayı artırdı", False),
    ("=EV", "Ev sahibi kirayı artırdı", False),
    ("=EV", "EV SAHİBİ KİRAYI ARTIRDI", False),
    ("=AB", "AB'nin yeni kararı", True),
    ("=AB", "ABD'de satışlar", False),
    ("=AB", "Abdullah geldi", False),
    ("=bor", "Bor madeni", True),
    ("=bor", "boru hattı", False),
    # prefix terms
    ("üret*", "üreticiler ve üretim", True),
    ("üret*", "ürün", False),
]


@pytest.mark.parametrize(("term", "text", "matches"), MATCHES)
def test_term_matching(term: str, text: str, matches: bool) -> None:
    matcher = KeywordMatcher.compile([term])
    assert (matcher.match(text) == term) is matches


@pytest.mark.parametrize(
    ("terms", "title", "summary", "expected"),
    [
        (["batarya", "-telefon"], "Batarya üretimi", "", "batarya"),
        (["batarya", "-telefon"], "Telefon bataryası", "", None),
        (["batarya", "-telefon"], "Batarya ömrü", "yeni telefonlar", None),
        (["togg", "tesla"], "Tesla ve Togg", "", "togg"),
        (["togg"], "Başlık", "özette Togg var", "togg"),
        (["togg"], "Başlık", "", None),
    ],
)
def test_keyword_matcher_exclusions_and_order(
    terms: list[str], title: str, summary: str, expected: str | None
) -> None:
    assert KeywordMatcher.compile(terms).match(title, summary) == expected


@pytest.mark.parametrize("bad", ["", "  ", "-", "!!!", "=*x", "a=b", "şarj.", "=", "*"])
def test_keyword_matcher_rejects_unusable_terms(bad: str) -> None:
    with pytest.raises(ValueError):
        KeywordMatcher.compile([bad])
