"""The engine's memos (chunk analyses, phrase pairs, Hit values) must not change answers.

test_engine_equivalence.py replays the snapshot in one order on one rule set;
here the same rows are replayed in reverse on a fresh rule set, so every memo
is filled in a different order, and the trie prefilter is checked against the
word-by-word analysis it short-cuts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import rules.matcher as matcher_module
from rules import load_rules
from rules.matcher import CompiledMatcher
from rules.terms import parse_term
from rules.text import clean_text, match_key, tokens
from tests.rules.test_engine_equivalence import _load, snapshot


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    data = _load()
    return [*data["corpus"], *data["generated"]]


def test_reverse_order_reproduces_snapshot(rows: list[dict[str, Any]]) -> None:
    ruleset = load_rules()
    bad = [
        row["title"]
        for row in reversed(rows)
        if json.loads(json.dumps(snapshot(ruleset, row["title"], row["summary"]))) != row["out"]
    ]
    assert not bad, f"{len(bad)} differ; first: {bad[:3]}"


def test_prefilter_never_hides_a_word_with_patterns(rows: list[dict[str, Any]]) -> None:
    matcher = load_rules()._matcher
    missed = []
    for row in rows:
        for chunk in f"{row['title']} {row['summary']}".split():
            key = match_key(chunk)
            if matcher._could(key) is None:
                for _, _, word in tokens(key):
                    if matcher.word_patterns(word):
                        missed.append(word)
    assert not missed, missed[:10]


LONG = "elektrikli araç şarj istasyonu"
SHORT = "elektrikli araç"
# One matcher classifies these in turn, so each text meets the steps the texts
# before it remembered for the same opening chunks ("elektrikli", then "araç").
PHRASE_TEXTS = [
    ("elektrikli araç şarj istasyonu kuruldu", {LONG, SHORT}),
    ("elektrikli araç şarj cihazı", {SHORT}),
    ("elektrikli araç şarj istasyonlarına yatırım", {LONG, SHORT}),
    ("elektrikli araç şarj", {SHORT}),
    ("elektrikli araç", {SHORT}),
    ("elektrikli araç şarj - istasyonu", {LONG, SHORT}),
    ("elektrikli - araç şarj istasyonu", {LONG, SHORT}),
    ("elektrikli araç. Şarj istasyonu", {SHORT}),
    ("elektrikli araç şarj istasyonu", {LONG, SHORT}),
    ("elektrikli elektrikli araç şarj şarj istasyonu", {SHORT}),
    ("Elektrikli araç şarj istasyonu", {LONG, SHORT}),
]


def test_remembered_phrase_steps_fit_every_later_text() -> None:
    matcher = CompiledMatcher([parse_term(LONG), parse_term(SHORT)])
    names = [LONG, SHORT]
    for text, expected in PHRASE_TEXTS * 2:
        clean = clean_text(text)
        chunks = clean.split(" ")
        fast = {names[n] for n in matcher.terms(chunks, clean)}
        slow = {names[n] for n in matcher.first_hits(clean, chunks)}
        assert (fast, slow) == (expected, expected), text


def test_small_memo_limits_give_the_same_answers(
    rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny limits make every memo fill up and be dropped again many times over,
    # including in the middle of a text whose other chunks are already looked up.
    monkeypatch.setattr(matcher_module, "_CACHE_LIMIT", 40)
    monkeypatch.setattr(matcher_module, "_PAIR_LIMIT", 2)
    ruleset = load_rules()
    bad = [
        row["title"]
        for row in rows[:1500]
        if json.loads(json.dumps(snapshot(ruleset, row["title"], row["summary"]))) != row["out"]
    ]
    assert not bad, f"{len(bad)} differ; first: {bad[:3]}"
    assert len(ruleset._matcher._infos) <= 40 + 200  # bounded: a text adds at most its chunks
