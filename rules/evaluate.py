"""Scoring a rule set against a labelled corpus.

Each item may carry ``gold`` (categories it must get) and ``also_ok``
(categories it may get). A predicted category in ``gold`` is a true positive,
one in neither list a false positive, and a ``gold`` category not predicted a
false negative. Items without a ``gold`` key are skipped. An item whose
``gold`` is empty is a negative: predicting any category outside ``also_ok``
for it is a false alarm. An item without a ``title`` is read with the headline its
``link`` or ``source`` spells (:mod:`rules.links`), as ingest reads a feed entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from textwrap import shorten

from rules.links import item_title
from rules.model import CATEGORY_IDS
from rules.ruleset import RuleSet

__all__ = ["CategoryScore", "EvalReport", "Miss", "evaluate"]


@dataclass(frozen=True)
class CategoryScore:
    """Counts and scores for one category."""

    category: str
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        """Number of items with this category in gold."""
        return self.tp + self.fn


@dataclass(frozen=True)
class Miss:
    """A misclassified item and why the rules said what they said."""

    item_id: str
    title: str
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    explanation: str


@dataclass(frozen=True)
class EvalReport:
    """Result of :func:`evaluate`."""

    scores: tuple[CategoryScore, ...]
    items: int
    negatives: int
    false_alarms: int
    misses: tuple[Miss, ...] = field(default=())

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the categories that occur in gold or in predictions."""
        used = [s.f1 for s in self.scores if s.tp + s.fp + s.fn]
        return sum(used) / len(used) if used else 1.0

    @property
    def micro_f1(self) -> float:
        """F1 over all (item, category) decisions pooled."""
        tp = sum(s.tp for s in self.scores)
        fp = sum(s.fp for s in self.scores)
        fn = sum(s.fn for s in self.scores)
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0

    @property
    def false_alarm_rate(self) -> float:
        """Share of negative items (empty gold) that got a category not in also_ok."""
        return self.false_alarms / self.negatives if self.negatives else 0.0

    def score(self, category: str) -> CategoryScore:
        """The figures of one category."""
        return next(s for s in self.scores if s.category == category)

    def format(self) -> str:
        """Plain-text report: per-category table, totals, then each misclassified item."""
        lines = [
            f"{'category':<30} {'prec':>6} {'recall':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}",
        ]
        for s in self.scores:
            # A category nobody labelled and nothing predicted has no figures, not 1.000s.
            figures = (
                f"{s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}"
                if s.tp + s.fp + s.fn
                else f"{'-':>6} {'-':>6} {'-':>6}"
            )
            lines.append(f"{s.category:<30} {figures} {s.tp:4d} {s.fp:4d} {s.fn:4d}")
        lines.append("")
        lines.append(f"items: {self.items}")
        lines.append(f"micro F1: {self.micro_f1:.3f}")
        lines.append(f"macro F1: {self.macro_f1:.3f}")
        lines.append(
            f"false alarms: {self.false_alarms}/{self.negatives} items with no gold category "
            f"({self.false_alarm_rate:.1%})"
        )
        if self.misses:
            lines.append("")
            lines.append(f"misclassified ({len(self.misses)}):")
            for miss in self.misses:
                lines.append(f"- {miss.item_id}: {miss.title}")
                if miss.missing:
                    lines.append(f"    missing: {', '.join(miss.missing)}")
                if miss.extra:
                    lines.append(f"    extra:   {', '.join(miss.extra)}")
                for line in miss.explanation.splitlines():
                    lines.append(f"    {line}")
        return "\n".join(lines)


def _labels(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def evaluate(ruleset: RuleSet, items: Iterable[Mapping[str, object]]) -> EvalReport:
    """Classify every labelled item and score the result (see module docstring)."""
    counts = {cat: [0, 0, 0] for cat in CATEGORY_IDS}
    total = negatives = false_alarms = 0
    misses: list[Miss] = []
    for number, item in enumerate(items, 1):
        if "gold" not in item:
            continue
        total += 1
        gold = _labels(item.get("gold"))
        also_ok = _labels(item.get("also_ok"))
        title = item_title(item)
        summary = str(item.get("summary") or "")
        result = ruleset.classify(title, summary, str(item.get("language") or "") or None)
        predicted = set(result.categories)
        for cat in predicted & gold:
            counts.setdefault(cat, [0, 0, 0])[0] += 1
        extra = predicted - gold - also_ok
        for cat in extra:
            counts.setdefault(cat, [0, 0, 0])[1] += 1
        missing = gold - predicted
        for cat in missing:
            counts.setdefault(cat, [0, 0, 0])[2] += 1
        if not gold:
            negatives += 1
            false_alarms += bool(extra)
        if extra or missing:
            order = {c: n for n, c in enumerate(CATEGORY_IDS)}
            misses.append(
                Miss(
                    str(item.get("id", f"#{number}")),
                    # Many stored pages have no headline: name the item by its first words.
                    str(item.get("title") or "")
                    or f"(no title) {shorten(summary, 100, placeholder=' …')}",
                    tuple(sorted(missing, key=lambda c: order.get(c, 99))),
                    tuple(sorted(extra, key=lambda c: order.get(c, 99))),
                    result.explain("en"),
                )
            )
    scores = tuple(CategoryScore(cat, *c) for cat, c in counts.items())
    return EvalReport(scores, total, negatives, false_alarms, tuple(misses))
