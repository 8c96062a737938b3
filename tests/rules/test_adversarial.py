"""Hostile feed text and rules files cost work linear in their size.

The bounds are counted operations, never wall-clock times: steps of the
suffix automaton (a counting copy of its transition table), list elements
scanned when finding phrase openers, and references walked in a rules file.
Each count is taken at n and 2n; linear work about doubles.

What the old code did, for the record: the suffix regex
``(?:lar|…|in|i|n|…)*(?:e?s)?`` with fullmatch tried every split of
``inin…`` (``in`` or ``i``+``n``), about ×9 work per two more letters
(``batarya`` + ``in``×16 + ``x`` took 14.5 s in the bot); finding phrase
openers cost (distinct openers × chunks) list scans; a rules file with n
rules using one n-term list parsed every term n times (600 → 9.2 s). The
HTML clean-up patterns run inside ``re``, whose steps Python cannot count:
``<(script|style)\\b[^>]*>.*?</\\1\\s*>`` and ``<\\s*br\\b[^>]*>`` scanned to the end
of the text from every unclosed tag (20,000 characters of ``<style>`` took
0.9 s, ×3 per doubling); the tests below pin the output on such input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import rules.matcher as matcher_module
import rules.terms as terms_module
from rules import (
    CATEGORY_IDS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    KeywordMatcher,
    RulesError,
    clean_text,
    clip,
    load_rules,
    parse_rules,
)
from rules.loader import MAX_REFERENCES
from rules.terms import suffix_ok
from rules.text import clean_chunks


class _CountingState(dict[str, int]):
    """One state of the suffix automaton that counts the transitions taken from it."""

    steps = 0

    def get(self, key: str, default: int = -1) -> int:  # type: ignore[override]
        _CountingState.steps += 1
        return super().get(key, default)


@pytest.fixture
def suffix_steps(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Count the suffix automaton's steps from now on; returns a reader."""
    # raising=True: the old code had no automaton, only the backtracking regex.
    monkeypatch.setattr(terms_module, "_BACK", [_CountingState(s) for s in terms_module._BACK])
    _CountingState.steps = 0

    def read() -> int:
        return _CountingState.steps

    return read


def _adversarial_words(n: int) -> list[str]:
    """Words that are a stem and then ``n`` characters a suffix chain nearly is."""
    return [
        "batarya" + "in" * (n // 2) + "x",  # every "in" splits two ways
        "batarya" + "ini" * (n // 3) + "x",
        "batarya" + "lar" * (n // 3) + "q",
        "batarya" + "n" * n,
        "pil" + "imiz" * (n // 4) + "x",
        "batarya" + "i" * n + "'" + "in" * (n // 2),
    ]


@pytest.mark.parametrize("n", [16, 64, 4096])
def test_suffix_check_takes_one_step_per_letter(suffix_steps: Callable[[], int], n: int) -> None:
    for word in _adversarial_words(n):
        rest = word[7:] if word.startswith("batarya") else word[3:]
        before = suffix_steps()
        assert suffix_ok(rest) == ("x" not in rest and "q" not in rest)
        assert suffix_steps() - before <= len(rest), word[:40]


def test_classifying_suffix_runs_is_linear(suffix_steps: Callable[[], int]) -> None:
    def steps(n: int) -> int:
        ruleset = load_rules()  # fresh: nothing remembered from the previous size
        before = suffix_steps()
        for word in _adversarial_words(n):
            ruleset.classify(word, f"{word} bir {word}-{word}")
        return suffix_steps() - before

    small, large = steps(512), steps(1024)
    assert 0 < large <= 2.2 * small
    assert large <= 6 * 1100 * 4  # about one step per letter of each distinct word


def test_matching_personal_keywords_on_suffix_runs_is_linear(
    suffix_steps: Callable[[], int],
) -> None:
    # A chat's /keywords are matched against every new title and summary, by
    # the same suffix automaton; a hostile headline must cost them linear work too.
    def steps(n: int) -> int:
        keywords = KeywordMatcher.compile(["batarya", "pil", "şarj istasyonu", "-pilot"])
        before = suffix_steps()
        for word in _adversarial_words(n):
            chain = "x" not in word and "q" not in word  # else one letter spoils the suffix
            expected = "batarya" if chain else None
            assert keywords.match(word, f"{word} bir {word}-{word}") == expected, word[:40]
        return suffix_steps() - before

    small, large = steps(512), steps(1024)
    assert 0 < large <= 2.2 * small
    assert large <= 6 * 1100 * 4  # about one step per letter of each distinct word


def test_suffix_run_still_matches_only_when_it_is_a_chain() -> None:
    keywords = KeywordMatcher.compile(["batarya"])
    assert keywords.match("batarya" + "in" * 16) == "batarya"  # a (silly) chain of "ın"
    assert keywords.match("batarya" + "in" * 16 + "x") is None  # 39 letters: froze the bot
    assert keywords.match("x", "batarya" + "in" * 2048 + "x") is None


class _CountingList(list[str]):
    """A text's chunks that count the elements list.count/index scan."""

    scanned = 0

    def count(self, value: object) -> int:
        _CountingList.scanned += len(self)
        return super().count(value)

    def index(self, value: object, start: int = 0, stop: int = 2**62) -> int:  # type: ignore[override]
        found = super().index(value, start, stop)
        _CountingList.scanned += found - start + 1
        return found


def test_many_distinct_phrase_openers_are_found_in_one_pass() -> None:
    # Every apostrophe tail makes a new chunk that opens "elektrikli araç" & co.
    def scanned(n: int) -> tuple[int, int]:
        matcher = load_rules()._matcher
        plain, chunks = clean_chunks(" ".join(f"elektrikli'{i} araç" for i in range(n)))
        _CountingList.scanned = 0
        found = matcher.mask(_CountingList(chunks), plain)
        return _CountingList.scanned, found

    (small, found_small), (large, found_large) = scanned(500), scanned(1000)
    assert found_small == found_large != 0
    assert large <= 2.2 * max(small, 1)
    assert large <= 16 * 2000  # at most a few C-level passes over the 2,000 chunks


def test_memo_holds_a_bounded_number_of_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    # raising=False: on code without the bound the assertion below is what fails.
    monkeypatch.setattr(matcher_module, "_MEMO_CHARS", 100_000, raising=False)
    ruleset = load_rules()
    for n in range(100):
        summary = " ".join(f"{n}x{k}" + "ab" * 250 for k in range(19))  # ~9.6 KB, unique
        ruleset.classify(f"batarya {n}", summary)
        ruleset.classify(f"batarya {n}", summary).explain("en")
    matcher = ruleset._matcher
    # Explanations read what classification remembered: this is the only chunk memo.
    assert sum(map(len, matcher._infos)) <= 100_000 + MAX_SUMMARY_CHARS


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<style>" * 15_000 + "batarya", "batarya"),  # never closed: tags dropped, not text
        ("<script " * 12_000 + "> x", "<script " * 11_999 + "x"),  # only the last is a tag
        ("<br " * 25_000 + "batarya", "<br " * 25_000 + "batarya"),  # no ">": all text
        ("<p " * 30_000 + ">batarya", "batarya"),  # one tag from the first "<p" to ">"
        ("a<script>x</script>" * 5_000 + "<style>" * 5_000, ("a " * 5_000).strip()),
        ("<style>a</style>" + "<style>" * 5_000 + "b", "b"),
        ("<" + " " * 50_000 + "batarya", "< batarya"),
        ("&" * 50_000 + "x", "&" * 50_000 + "x"),
    ],
    ids=["style", "script", "br", "p", "closed-then-open", "open-after-close", "spaces", "amp"],
)
def test_unclosed_tags_in_100_kb(html: str, expected: str) -> None:
    assert clean_text(html) == expected


def test_item_is_read_up_to_the_documented_cap() -> None:
    ruleset = load_rules()
    pad = "haber " * (MAX_SUMMARY_CHARS // 6)
    assert ruleset.classify("x", pad[:9_000] + " batarya fabrikası üretimi").categories
    assert not ruleset.classify("x", pad + " batarya fabrikası üretimi").categories
    title_pad = "haber " * (MAX_TITLE_CHARS // 6)
    assert not ruleset.classify(title_pad + " Togg").entities
    # The cut never leaves the start of a word behind: "pilot" must not become "pil".
    text = "a" * (MAX_TITLE_CHARS - 4) + " pilot"
    assert clip(text, MAX_TITLE_CHARS) == "a" * (MAX_TITLE_CHARS - 4)
    assert clip("x" * (MAX_TITLE_CHARS + 5), MAX_TITLE_CHARS) == ""
    keywords = KeywordMatcher.compile(["batarya"])
    assert keywords.match("x", pad + " batarya") is None
    assert keywords.match("x", "batarya " + pad) == "batarya"


def _alias_rules(n: int) -> str:
    """n terms in one anchored list, used by about n rules through ``*v``."""
    terms = ", ".join(f"term{i}" for i in range(n))
    per = n // len(CATEGORY_IDS) + 1
    cats = "".join(
        f"  - id: {cat}\n    name: {{tr: a, en: b}}\n    rules:\n" + "      - any: *v\n" * per
        for cat in CATEGORY_IDS
    )
    return f"vocabularies:\n  v: &v [{terms}]\ncategories:\n{cats}"


def _vocab_rules(n: int) -> str:
    """The same through ``$v``: n terms, named by about n rules."""
    return _alias_rules(n).replace("  v: &v [", "  v: [").replace("any: *v", "any: [$v]")


@pytest.mark.parametrize("make", [_alias_rules, _vocab_rules], ids=["alias", "vocabulary"])
def test_expanding_rules_file_parses_each_term_once(
    make: Callable[[int], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import rules.loader as loader_module

    calls = 0
    real = loader_module.parse_term

    def counting(raw: str) -> object:
        nonlocal calls
        calls += 1
        return real(raw)

    monkeypatch.setattr(loader_module, "parse_term", counting)
    ruleset, problems = parse_rules(make(200), "many.yaml")
    assert not problems and ruleset is not None
    assert ruleset.summary_line().endswith("200 terms (0 topics, 0 entities)")
    assert calls <= 200 + 8  # each distinct term once (and the filler)


@pytest.mark.parametrize("make", [_alias_rules, _vocab_rules], ids=["alias", "vocabulary"])
def test_rules_file_expanding_past_the_cap_is_refused_by_line(
    make: Callable[[int], str], rules_file: Callable[[str], Path]
) -> None:
    n = int(MAX_REFERENCES**0.5) + 50  # n rules × n terms: just past the cap
    path = rules_file(make(n))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}:")
    line = int(problem.split(":")[1])
    assert path.read_text().splitlines()[line - 1].strip().startswith("- any:")
    assert f"more than {MAX_REFERENCES:,} term references" in problem
