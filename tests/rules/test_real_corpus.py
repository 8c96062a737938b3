"""The real-news corpus stays well-formed, and rule edits keep what the tuning data taught.

Only the development files are scored here (dev, extra, every round). The frozen
test split is never read by a test: a failing floor would be an invitation to
tune on it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from rules import load_rules
from rules.evaluate import evaluate

REAL = Path(__file__).resolve().parents[1] / "corpus" / "real"


def _validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_corpus_validate", REAL / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_corpus_file_is_well_formed(capsys: pytest.CaptureFixture[str]) -> None:
    validate = _validator()
    assert validate.main([]) == 0, capsys.readouterr().out


# Figures the bundled rules reached on each development file when they were last
# tuned (rules/README.md), less a small margin: an edit that loses more has undone
# a lesson of the data.
FLOORS = {
    "dev.jsonl": 0.95,
    "extra.jsonl": 0.93,
    "round4.jsonl": 0.95,
    "round5.jsonl": 0.88,
    "round6.jsonl": 0.83,
    "round7.jsonl": 0.92,
    "round8.jsonl": 0.93,
    "round9.jsonl": 0.90,
    "round10.jsonl": 0.91,
    "round11.jsonl": 0.90,
    "round12.jsonl": 0.88,
    "round13.jsonl": 0.88,
    "round14.jsonl": 0.89,
    "round15.jsonl": 0.82,
    "round16.jsonl": 0.85,
    "round17.jsonl": 0.88,
    # Round 18 holds five categories, some with a handful of items: its macro figure
    # moves in big steps.
    "round18.jsonl": 0.86,
    "round19.jsonl": 0.90,
    "round20.jsonl": 0.90,
    "round21.jsonl": 0.87,
    # Round 22 holds one battery item and no car-maker item: one stray prediction
    # moves its macro figure by a tenth, so its micro figure guards it (below).
    "round22.jsonl": 0.70,
    "round23.jsonl": 0.86,
}
# Files whose macro figure averages categories of one or two items: their pooled
# decisions are the steadier measure.
MICRO_FLOORS = {
    "round18.jsonl": 0.87,
    "round22.jsonl": 0.88,
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_rules_keep_their_figures_on_the_development_data(name: str) -> None:
    rows = [json.loads(line) for line in (REAL / name).read_text(encoding="utf-8").splitlines()]
    report = evaluate(load_rules(), rows)
    assert report.macro_f1 >= FLOORS[name], report.format()
    assert report.micro_f1 >= MICRO_FLOORS.get(name, 0.0), report.format()
    assert report.false_alarm_rate <= 0.05, report.format()
