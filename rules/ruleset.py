"""A compiled rules file: terms, rules per category/topic/entity, and classify()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from rules.matcher import CompiledMatcher, TermHit
from rules.model import CATEGORY_IDS, CategoryInfo, Classification, Hit, TagInfo
from rules.terms import TermSpec
from rules.text import clean_text

__all__ = ["Rule", "RuleSet", "Target"]


@dataclass(frozen=True)
class Rule:
    """any-of terms, all-of groups, none-of exclusions, over the title or title + summary."""

    any: frozenset[int]
    all: tuple[frozenset[int], ...] = ()
    none: frozenset[int] = frozenset()
    title_only: bool = False


@dataclass(frozen=True)
class Target:
    """Something a rule can put an item in: a category, a topic or an entity."""

    id: str
    kind: Literal["category", "topic", "entity"]
    rules: tuple[Rule, ...]


_Where = Literal["title", "summary"]


class RuleSet:
    """Compiled rules; immutable and safe to share between threads and tasks."""

    def __init__(
        self,
        *,
        categories: Sequence[CategoryInfo],
        topics: Sequence[TagInfo],
        entities: Sequence[TagInfo],
        terms: Sequence[TermSpec],
        targets: Sequence[Target],
        source: str,
    ) -> None:
        order = {cat: n for n, cat in enumerate(CATEGORY_IDS)}
        self.categories: tuple[CategoryInfo, ...] = tuple(
            sorted(categories, key=lambda c: order.get(c.id, len(order)))
        )
        self.topics: tuple[TagInfo, ...] = tuple(topics)
        self.entities: tuple[TagInfo, ...] = tuple(entities)
        self.source = source
        self._terms = tuple(terms)
        self._matcher = CompiledMatcher(self._terms)
        kind_rank = {"category": 0, "topic": 1, "entity": 2}
        self._targets = tuple(
            sorted(targets, key=lambda t: (kind_rank[t.kind], order.get(t.id, len(order))))
        )
        by_term: dict[int, set[int]] = {}
        for number, target in enumerate(self._targets):
            for rule in target.rules:
                for term in rule.any:
                    by_term.setdefault(term, set()).add(number)
        self._targets_by_term = {term: tuple(sorted(nums)) for term, nums in by_term.items()}
        self._by_id = {c.id: c for c in self.categories}
        names: dict[str, tuple[str, str]] = {c.id: (c.name_tr, c.name_en) for c in categories}
        for tag in (*self.topics, *self.entities):
            names[tag.id] = (tag.name("tr"), tag.label)
        self._names: Mapping[str, tuple[str, str]] = MappingProxyType(names)

    def category(self, cat_id: str) -> CategoryInfo:
        """The category with this id; KeyError if there is none."""
        return self._by_id[cat_id]

    def summary_line(self) -> str:
        """One line for operators: "N categories, N rules, N terms"."""
        rules = sum(len(t.rules) for t in self._targets)
        return (
            f"{len(self.categories)} categories, {rules} rules, {len(self._terms)} terms "
            f"({len(self.topics)} topics, {len(self.entities)} entities)"
        )

    def classify(
        self, title: str, summary: str = "", language: str | None = None
    ) -> Classification:
        """Classify one item. ``language`` is accepted for the API but rules apply to both."""
        del language  # terms are bilingual; kept so callers can pass what they know
        title_text = clean_text(title)
        summary_text = clean_text(summary)
        in_title = _first_hits(self._matcher.find(title_text))
        in_summary = _first_hits(self._matcher.find(summary_text))
        candidates: set[int] = set()
        for term in (*in_title, *in_summary):
            candidates.update(self._targets_by_term.get(term, ()))
        title_terms = frozenset(in_title)
        all_terms = frozenset(in_title.keys() | in_summary.keys())
        found: dict[str, list[Hit]] = {}
        matched: list[Target] = []
        for number in sorted(candidates):
            target = self._targets[number]
            hits: dict[tuple[int, _Where], Hit] = {}
            for rule in target.rules:
                fired = _fire(rule, title_terms, all_terms)
                if fired is None:
                    continue
                for term in fired:
                    place = _place(term, in_title, in_summary, rule.title_only)
                    hit = in_title[term] if place == "title" else in_summary[term]
                    text = (title_text if place == "title" else summary_text)[hit.start : hit.end]
                    hits.setdefault((term, place), Hit(self._terms[term].source, place, text))
            if hits:
                matched.append(target)
                found[target.id] = _outermost(hits, in_title, in_summary)
        return Classification(
            categories=tuple(t.id for t in matched if t.kind == "category"),
            topics=tuple(t.id for t in matched if t.kind == "topic"),
            entities=tuple(t.id for t in matched if t.kind == "entity"),
            matches=MappingProxyType({k: tuple(v) for k, v in found.items()}),
            names=self._names,
        )


def _outermost(
    hits: Mapping[tuple[int, _Where], Hit],
    in_title: Mapping[int, TermHit],
    in_summary: Mapping[int, TermHit],
) -> list[Hit]:
    """Hits in text order, without those whose words lie inside another hit's words."""
    spans = []
    for (term, place), hit in hits.items():
        where = in_title[term] if place == "title" else in_summary[term]
        spans.append((place != "title", where.start, -where.end, hit))
    spans.sort(key=lambda s: s[:3])
    kept: list[Hit] = []
    reach: dict[bool, int] = {}
    for in_summary_text, start, neg_end, hit in spans:
        if -neg_end <= reach.get(in_summary_text, -1) and start >= 0:
            continue
        reach[in_summary_text] = max(reach.get(in_summary_text, -1), -neg_end)
        kept.append(hit)
    return kept


def _first_hits(hits: list[TermHit]) -> dict[int, TermHit]:
    first: dict[int, TermHit] = {}
    for hit in hits:
        first.setdefault(hit.term, hit)
    return first


def _fire(rule: Rule, title: frozenset[int], both: frozenset[int]) -> list[int] | None:
    """The terms that make ``rule`` match (any + the fired terms of each all-group), or None."""
    scope = title if rule.title_only else both
    fired = rule.any & scope
    if not fired:
        return None
    for group in rule.all:
        group_hits = group & scope
        if not group_hits:
            return None
        fired |= group_hits
    if rule.none & scope:
        return None
    return sorted(fired)


def _place(
    term: int, in_title: Mapping[int, TermHit], in_summary: Mapping[int, TermHit], title_only: bool
) -> _Where:
    if term in in_title or title_only:
        return "title"
    return "summary"
