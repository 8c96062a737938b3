"""check_rules / load_rules: every problem reported as FILE:LINE: message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rules import DEFAULT_RULES_PATH, RulesError, check_rules, load_rules
from tests.rules.conftest import filler

HEAD = """version: 1
vocabularies:
  ctx: [elektrikli araç]
categories:
  - id: battery-manufacturing
    name: {tr: Batarya, en: Battery}
    rules:
      - any: [batarya]
"""  # the rule's 'any' is line 8


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("        colour: red\n", 9, "unknown key 'colour'"),
        ("        any: [x]\n", 9, "duplicate key 'any' (first on line 8)"),
        ("        none: [telefon, Telefon]\n", 9, "duplicate term 'Telefon'"),
        ("        none: [şarj, sarj]\n", 9, "duplicate term 'sarj'"),
        ("        none: ['']\n", 9, "empty term"),
        ("        none: ['!!!']\n", 9, "can never match"),
        ("        none: ['şarj.']\n", 9, "can never match"),
        ("        none: ['=x*']\n", 9, "cannot be both"),
        ("        none: [$nope]\n", 9, "unknown vocabulary '$nope'"),
        ("        where: body\n", 9, "where must be 'title' or 'title+summary'"),
        ("        none: [batarya]\n", 9, "in both any and none"),
        ("        none_anywhere: [batarya]\n", 9, "in both any and none_anywhere"),
        ("        all:\n          - [fabrika, fabrika]\n", 10, "duplicate term 'fabrika'"),
    ],
)
def test_each_problem_names_its_line(
    rules_file: Callable[[str], Path], extra: str, line: int, message: str
) -> None:
    path = rules_file(HEAD + extra + filler("battery-manufacturing"))
    problems = check_rules(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line}: ")
    assert message in problems[0]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "categories:\n  - id: batteries\n    name: {tr: a, en: b}\n    terms: [x]\n",
            2,
            "unknown category id 'batteries'",
        ),
        ("categories: [\n", 2, "YAML syntax error"),
        ("colours: []\n", 1, "unknown key 'colours'"),
        ("", 1, "empty"),
    ],
)
def test_file_level_problems(
    rules_file: Callable[[str], Path], text: str, line: int, message: str
) -> None:
    problems = check_rules(rules_file(text))
    prefix = f"{problems[0].split(':', 1)[0]}:{line}: "
    assert any(p.startswith(prefix) and message in p for p in problems), problems


def test_missing_categories_are_reported(rules_file: Callable[[str], Path]) -> None:
    problems = check_rules(rules_file(HEAD))
    assert any("missing categories: micro-mobility" in p for p in problems)


def test_several_problems_are_all_reported(rules_file: Callable[[str], Path]) -> None:
    text = HEAD + "        none: ['', x, x]\n        where: x\n" + filler("battery-manufacturing")
    assert len(check_rules(rules_file(text))) == 3


def test_load_rules_raises_with_the_same_problems(rules_file: Callable[[str], Path]) -> None:
    path = rules_file(HEAD + "        oops: 1\n" + filler("battery-manufacturing"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.problems == check_rules(path)
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert check_rules(missing)[0].startswith(f"{missing}:1: cannot read")
    with pytest.raises(RulesError):
        load_rules(missing)


def test_bundled_rules_are_valid() -> None:
    assert check_rules(DEFAULT_RULES_PATH) == []
    assert load_rules().source == str(DEFAULT_RULES_PATH)


def test_yes_no_stay_text(rules_file: Callable[[str], Path]) -> None:
    # YAML 1.1 would read NO as False; terms keep what was written.
    text = HEAD.replace("[batarya]", "[NO, yes]") + filler("battery-manufacturing")
    ruleset = load_rules(rules_file(text))
    assert ruleset.classify("NO").categories == ("battery-manufacturing",)
