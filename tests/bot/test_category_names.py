"""What users type after /subscribe resolves to category ids."""

from __future__ import annotations

from typing import Any

import pytest

from bot.telegram_app import category_names
from bot.telegram_app.category_names import resolve
from rules import load_rules

CATEGORIES = load_rules().categories


@pytest.mark.parametrize(
    ("typed", "ids"),
    [
        (["regulation"], ("regulation",)),
        (["Mevzuat"], ("regulation",)),
        (["MEVZUAT"], ("regulation",)),
        (["belediyeler"], ("municipality",)),
        (["mikromobilite"], ("micro-mobility",)),
        (["Battery", "Manufacturing"], ("battery-manufacturing",)),
        (["batarya", "uretimi"], ("battery-manufacturing",)),
        (["Batarya", "Üretimi,", "Yarışmalar"], ("battery-manufacturing", "competition")),
        (["yarismalar"], ("competition",)),
        (["ev-market", "regulation"], ("ev-market", "regulation")),
        (["micro"], ("micro-mobility",)),
    ],
)
def test_names_ids_and_prefixes(typed: list[str], ids: tuple[str, ...]) -> None:
    found = resolve(typed, CATEGORIES)
    assert (found.ids, found.unknown) == (ids, ())


def test_all_means_every_category() -> None:
    found = resolve(["all"], CATEGORIES)
    assert found.all and len(found.ids) == 8


def test_unknown_words_are_reported() -> None:
    found = resolve(["regulation", "weather"], CATEGORIES)
    assert found.ids == ("regulation",)
    assert found.unknown == ("weather",)


def test_ambiguous_prefix_is_unknown() -> None:
    assert resolve(["ev"], CATEGORIES).unknown == ("ev",)


def count_lookups(monkeypatch: pytest.MonkeyPatch, words: int) -> int:
    """How many phrase lookups resolving `words` one-letter words takes."""
    calls = 0
    real = category_names._lookup

    def counting(*args: Any) -> str | None:
        nonlocal calls
        calls += 1
        return real(*args)

    monkeypatch.setattr(category_names, "_lookup", counting)
    found = resolve(["x"] * words, CATEGORIES)
    assert found.ids == () and len(found.unknown) == words
    return calls


def test_work_grows_at_most_linearly_with_the_words_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    """`/latest` and 1,000 one-letter words froze the bot for 46 s (all spans were tried)."""
    longest_name = max(
        len(name.split()) for c in CATEGORIES for name in (c.name_en, c.name_tr, c.id)
    )
    for words in (10, 20, 40):
        assert count_lookups(monkeypatch, words) <= words * longest_name, words
    # Past a cap, more words cost nothing more.
    assert count_lookups(monkeypatch, 2000) == count_lookups(monkeypatch, 1000)


def test_a_long_name_is_still_found_after_many_unknown_words() -> None:
    found = resolve(["x"] * 10 + ["Ticari", "Elektrikli", "Araç", "Üretimi"], CATEGORIES)
    assert found.ids == ("commercial-ev-manufacturing",)


@pytest.mark.parametrize(
    "typed",
    [
        ["x" * 4096],  # one word of 4,096 letters
        ["x"] * 2048,  # 2,048 one-letter words: a 4,096-character message
        ["batarya" + "in" * 2044],  # a suffix run, as in the feed-title freeze
        [",".join(["ab"] * 1365)],  # comma-separated, no spaces
        ["Ticari Elektrikli Araç " * 178],  # a real name's words over and over
    ],
    ids=["one-word", "one-letter-words", "suffix-run", "commas", "name-words"],
)
def test_a_4096_character_argument_costs_work_linear_in_its_length(
    monkeypatch: pytest.MonkeyPatch, typed: list[str]
) -> None:
    """Characters compared while resolving stay a small multiple of what was typed.

    Counted, not timed: every phrase handed to the lookup is summed by length.
    Trying every span, as the old code did, made this about n²/2 phrases.
    """
    typed_chars = len(" ".join(typed))
    assert 4000 <= typed_chars <= 4200
    longest_name = max(
        len(name.split()) for c in CATEGORIES for name in (c.name_en, c.name_tr, c.id)
    )
    bound = longest_name * (typed_chars + 1)
    looked_up = 0
    real = category_names._lookup

    def counting(phrase: str, *args: Any) -> str | None:
        nonlocal looked_up
        looked_up += len(phrase) + 1
        # Stop at once past the bound: the old quadratic search would run for minutes.
        assert looked_up <= bound, f"more than {bound} characters looked up"
        return real(phrase, *args)

    monkeypatch.setattr(category_names, "_lookup", counting)
    resolve(typed, CATEGORIES)
    assert looked_up > 0
