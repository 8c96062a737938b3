"""Classification in worker threads with a per-item time budget."""

from __future__ import annotations

import threading
from typing import Any, cast

from bot.ingest.classify import BudgetedClassifier, Classified, NotClassified
from rules import RuleSet, load_rules

RULES = load_rules()


class Blocking:
    """Rules whose classify waits for `release` on titles starting with "slow"."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def classify(self, title: str, summary: str = "", language: str | None = None) -> Any:
        if title.startswith("slow"):
            self.release.wait(timeout=10)
        return RULES.classify(title, summary, language)


async def test_items_are_classified_in_full_off_the_loop() -> None:
    classifier = BudgetedClassifier(budget=5.0)
    try:
        result = await classifier.classify(
            RULES, "EPDK şarj hizmeti yönetmeliğinde değişikliğe gitti", "", "tr"
        )
    finally:
        classifier.close()
    assert isinstance(result, Classified)
    assert "regulation" in result.categories
    assert result.matches["regulation"]  # the lazy explanation was built in the worker


async def test_over_budget_items_are_given_up_and_held_workers_are_not_waited_for() -> None:
    rules = Blocking()
    classifier = BudgetedClassifier(budget=0.05, workers=2)
    try:
        for n in range(2):
            late = await classifier.classify(cast(RuleSet, rules), f"slow {n}", "", "tr")
            assert isinstance(late, NotClassified)
            assert "longer than 0.05 s" in late.reason
        assert classifier.overdue == 2
        # Every worker is held: the next item is not even started (no budget spent waiting).
        busy = await classifier.classify(cast(RuleSet, rules), "EPDK şarj yönetmeliği", "", "tr")
        assert isinstance(busy, NotClassified) and "busy" in busy.reason
    finally:
        rules.release.set()
        classifier.close()


async def test_a_failing_rule_set_loses_no_story() -> None:
    class Broken:
        def classify(self, *args: Any) -> Any:
            raise ValueError("bug in the rules")

    classifier = BudgetedClassifier()
    result = await classifier.classify(cast(RuleSet, Broken()), "x", "", "tr")
    classifier.close()
    assert isinstance(result, NotClassified) and "bug in the rules" in result.reason
