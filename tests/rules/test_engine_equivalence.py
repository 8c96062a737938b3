"""The rules engine must classify and explain exactly as the engine it replaced.

``engine_equivalence.json.gz`` holds inputs and the full output of the engine
on the bundled rules: first written by the engine as it was before the speed
work (commit 8e2ca55's matcher), rewritten only when the rules changed (the
last time by the round-6 tuning, after the engine had reproduced the old
snapshot): every item of
tests/corpus/*.jsonl, the 10,000 items of ``bench.rules_bench`` and a few
thousand texts generated with hypothesis (fixed seed) that mix rule terms
with Turkish suffixes, capitals (İ/I/ı), ASCII-folded spellings,
apostrophes, hyphens, HTML, entities, emoji and noise. For each item it
records ``Classification.to_json()``, every ``Hit`` (term, where, text) of
every matched id in order, and both explanations; for the generated texts
also the answers of a few ``KeywordMatcher``\\ s.

Regenerate (only when a change of results is intended and reviewed)::

    python -m tests.rules.test_engine_equivalence
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from rules import KeywordMatcher, RuleSet, load_rules

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).with_name("engine_equivalence.json.gz")
GENERATED = 3000

KEYWORD_SETS: list[list[str]] = [
    ["batarya", "-telefon"],
    ["=EV", "şarj istasyonu"],
    ["e-scooter", "Togg", "üret*"],
    ["=bor", "teşvik", "battery"],
    ["elektrikli araç", "-=EV"],
    ["ID.7", "Li-ion", "=İBB"],
]

_SUFFIXES = [
    "",
    "",
    "",
    "",
    "s",
    "es",
    "'s",
    "’s",
    "'un",
    "’ın",
    "'nin",
    "'da",
    "'den",
    "lar",
    "ler",
    "ları",
    "lerin",
    "larının",
    "ı",
    "i",
    "u",
    "ü",
    "sı",
    "si",
    "ya",
    "yı",
    "da",
    "de",
    "dan",
    "den",
    "nın",
    "nin",
    "la",
    "le",
    "lı",
    "li",
    "lık",
    "lik",
    "sız",
    "cı",
    "dir",
    "ki",
    "ndan",
    "yla",
    "ot",
    "av",
    "ım",
    "ydı",
    "x",
    "ing",
]
_SEPARATORS = [" ", " ", " ", " ", "-", " - ", " – ", "—", ", ", ". ", "  ", "\n", " / ", "'", "’"]
_NOISE = [
    "ve",
    "bir",
    "the",
    "and",
    "of",
    "Türkiye",
    "İstanbul",
    "IĞDIR",
    "ısparta",
    "pilot",
    "borsa",
    "boru",
    "ev",
    "Ev",
    "evde",
    "EVLER",
    "evler",
    "(2024)",
    "100",
    "%50",
    "🚗",
    "⚡️",
    "—",
    "-",
    "&",
    "&amp;",
    "&nbsp;",
    "&lt;b&gt;",
    "<b>",
    "</b>",
    "<p>",
    "<br>",
    "<script>x=1</script>",
    "\u00ad",
    "\u200b",
    "S\u0327arj",
    "I\u0307",
    "'",
    "’",
    "ID.7",
    "ID 7",
    "e scooter",
    "escooter",
    "EVs",
    "HABER",
    "SON DAKİKA",
    "ŞARJ",
    "İ",
    "ı",
]


def _turkish_upper(text: str) -> str:
    return text.replace("i", "İ").replace("ı", "I").upper()


def _ascii_fold(text: str) -> str:
    table = str.maketrans("şçğıöüâŞÇĞİÖÜÂ", "scgiouaSCGIOUA")
    return text.translate(table)


_CASES = [
    lambda s: s,
    lambda s: s,
    str.upper,
    _turkish_upper,
    str.title,
    str.lower,
    _ascii_fold,
    lambda s: _ascii_fold(s).upper(),
]


def _pieces(terms: list[str]) -> st.SearchStrategy[str]:
    term = st.tuples(
        st.sampled_from(terms), st.sampled_from(_SUFFIXES), st.integers(0, len(_CASES) - 1)
    ).map(lambda t: _CASES[t[2]](t[0].strip("=*") + t[1]))
    noise = st.sampled_from(_NOISE)
    free = st.text(
        alphabet=st.sampled_from("abcçdeğhıiİIklmnoöprsştuüvyzABCÇŞÖÜ0123456789 -'’.,<>&;é😀"),
        max_size=12,
    )
    return st.one_of(term, term, term, noise, free)


def _texts(terms: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.tuples(_pieces(terms), st.sampled_from(_SEPARATORS)), max_size=14).map(
        lambda parts: "".join(p + s for p, s in parts)
    )


def generated_items(terms: list[str]) -> list[tuple[str, str]]:
    """GENERATED (title, summary) pairs from a fixed hypothesis seed."""
    out: list[tuple[str, str]] = []

    @seed(20261123)
    @settings(
        max_examples=GENERATED,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(st.tuples(_texts(terms), _texts(terms)))
    def collect(item: tuple[str, str]) -> None:
        out.append(item)

    collect()
    return out


def snapshot(ruleset: RuleSet, title: str, summary: str) -> dict[str, Any]:
    """Everything classify() says about one item."""
    result = ruleset.classify(title, summary)
    return {
        "json": result.to_json(),
        "hits": [
            [key, [[h.term, h.where, h.text] for h in hits]] for key, hits in result.matches.items()
        ],
        "explain": [result.explain("tr"), result.explain("en")],
    }


def keyword_answers(title: str, summary: str) -> list[str | None]:
    return [_KEYWORDS[n].match(title, summary) for n in range(len(KEYWORD_SETS))]


_KEYWORDS = [KeywordMatcher.compile(terms) for terms in KEYWORD_SETS]


def _corpus_items() -> list[tuple[str, str]]:
    items = []
    for path in sorted((ROOT / "tests" / "corpus").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                items.append((str(row.get("title") or ""), str(row.get("summary") or "")))
    return items


def build_fixture() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from bench.rules_bench import build_items

    ruleset = load_rules()
    terms = list(ruleset.term_sources())
    generated = generated_items(terms)
    data: dict[str, Any] = {}
    for name, items in (
        ("corpus", _corpus_items()),
        ("bench", build_items(10_000)),
        ("generated", generated),
    ):
        data[name] = [{"title": t, "summary": s, "out": snapshot(ruleset, t, s)} for t, s in items]
    for row in data["generated"]:
        row["keywords"] = keyword_answers(row["title"], row["summary"])
    return data


def _load() -> dict[str, Any]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@pytest.fixture(scope="module")
def fixture_data() -> dict[str, Any]:
    return _load()


@pytest.fixture(scope="module")
def fresh_ruleset() -> RuleSet:
    return load_rules()


def _mismatches(ruleset: RuleSet, rows: list[dict[str, Any]]) -> Iterator[str]:
    for n, row in enumerate(rows):
        got = json.loads(json.dumps(snapshot(ruleset, row["title"], row["summary"])))
        if got != row["out"]:
            yield f"#{n} {row['title']!r} / {row['summary'][:80]!r}: {got} != {row['out']}"


@pytest.mark.parametrize("name", ["corpus", "bench", "generated"])
def test_engine_reproduces_snapshot(
    fixture_data: dict[str, Any], fresh_ruleset: RuleSet, name: str
) -> None:
    rows = fixture_data[name]
    assert len(rows) >= 294
    bad = list(_mismatches(fresh_ruleset, rows))
    assert not bad, f"{len(bad)} of {len(rows)} differ; first: {bad[:3]}"


def test_keyword_matchers_reproduce_snapshot(fixture_data: dict[str, Any]) -> None:
    bad = [
        row["title"]
        for row in fixture_data["generated"]
        if keyword_answers(row["title"], row["summary"]) != row["keywords"]
    ]
    assert not bad, f"{len(bad)} differ; first: {bad[:3]}"


def test_snapshot_covers_the_hard_cases(fixture_data: dict[str, Any]) -> None:
    rows = fixture_data["generated"]
    assert len(rows) >= 2000
    explained = [row for row in rows if row["out"]["json"]["categories"]]
    assert len(explained) > len(rows) // 4
    texts = " ".join(row["title"] + row["summary"] for row in rows)
    for needle in ("İ", "ı", "’", "<", "&", "-", "😀"):
        assert needle in texts


if __name__ == "__main__":
    payload = json.dumps(build_fixture(), ensure_ascii=False, separators=(",", ":"))
    with gzip.open(FIXTURE, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write(payload)
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size:,} bytes)")
