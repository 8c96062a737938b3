"""What users type after /subscribe resolves to category ids."""

from __future__ import annotations

import pytest

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
