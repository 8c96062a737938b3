"""A compiled rules file: terms, rules per category/topic/entity, and classify()."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from rules.matcher import CompiledMatcher, TermHit
from rules.model import CATEGORY_IDS, CategoryInfo, Classification, Hit, TagInfo
from rules.terms import TermSpec
from rules.text import clean_chunks

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
        # A target whose rules are all plain "any" lists over title+summary fires
        # whenever one of its terms occurs: no rule needs evaluating.
        self._simple = tuple(
            all(not r.all and not r.none and not r.title_only for r in t.rules)
            for t in self._targets
        )
        self._by_id = {c.id: c for c in self.categories}
        names: dict[str, tuple[str, str]] = {c.id: (c.name_tr, c.name_en) for c in categories}
        for tag in (*self.topics, *self.entities):
            names[tag.id] = (tag.name("tr"), tag.label)
        self._names: Mapping[str, tuple[str, str]] = MappingProxyType(names)

    def category(self, cat_id: str) -> CategoryInfo:
        """The category with this id; KeyError if there is none."""
        return self._by_id[cat_id]

    def term_sources(self) -> tuple[str, ...]:
        """Every distinct term of the rules file, as written (first spelling wins)."""
        return tuple(term.source for term in self._terms)

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
        title_plain, title_chunks = clean_chunks(title)
        summary_plain, summary_chunks = clean_chunks(summary)
        terms = self._matcher.terms
        title_terms = terms(title_chunks, title_plain) if title_chunks else _NO_TERMS
        summary_terms = terms(summary_chunks, summary_plain) if summary_chunks else _NO_TERMS
        if not title_terms and not summary_terms:
            return Classification((), (), (), _NO_MATCHES, self._names)
        all_terms = title_terms | summary_terms
        candidates: set[int] = set()
        by_term = self._targets_by_term
        for term in all_terms:
            numbers = by_term.get(term)
            if numbers:
                candidates.update(numbers)
        fired: dict[str, Target] = {}
        kinds: dict[str, list[str]] = {"category": [], "topic": [], "entity": []}
        targets = self._targets
        simple = self._simple
        for number in sorted(candidates):
            if not simple[number]:
                for rule in targets[number].rules:
                    scope = title_terms if rule.title_only else all_terms
                    if rule.any.isdisjoint(scope) or not rule.none.isdisjoint(scope):
                        continue
                    for group in rule.all:
                        if group.isdisjoint(scope):
                            break
                    else:
                        break  # this rule fires
                else:
                    continue  # no rule fires
            target = targets[number]
            fired[target.id] = target
            kinds[target.kind].append(target.id)
        evidence = _Evidence(
            self._matcher, self._terms, title_chunks, summary_chunks, title_terms, all_terms
        )
        return Classification(
            categories=tuple(kinds["category"]),
            topics=tuple(kinds["topic"]),
            entities=tuple(kinds["entity"]),
            matches=_LazyMatches(fired, evidence),
            names=self._names,
        )


_NO_MATCHES: Mapping[str, tuple[Hit, ...]] = MappingProxyType({})


_NO_TERMS: frozenset[int] = frozenset()


class _Evidence:
    """What an explanation needs; the term offsets are found only when asked for."""

    __slots__ = ("_found", "all_terms", "chunks", "matcher", "terms", "title_terms")

    def __init__(
        self,
        matcher: CompiledMatcher,
        terms: Sequence[TermSpec],
        title_chunks: list[str],
        summary_chunks: list[str],
        title_terms: frozenset[int],
        all_terms: frozenset[int],
    ) -> None:
        self.matcher = matcher
        self.terms = terms
        self.chunks = (title_chunks, summary_chunks)
        self.title_terms = title_terms
        self.all_terms = all_terms
        self._found: tuple[str, str, list[TermHit], list[TermHit]] | None = None

    def found(self) -> tuple[str, str, list[TermHit], list[TermHit]]:
        """(title, summary, hits in the title, hits in the summary), cleaned texts."""
        if self._found is None:
            title = " ".join(self.chunks[0])
            summary = " ".join(self.chunks[1])
            find = self.matcher.find
            self._found = (
                title,
                summary,
                find(title) if title else [],
                find(summary) if summary else [],
            )
        return self._found


class _LazyMatches(Mapping[str, tuple[Hit, ...]]):
    """Hits per target id, built on first access: most items are never explained."""

    def __init__(self, fired: dict[str, Target], evidence: _Evidence) -> None:
        self._fired = fired
        self._evidence = evidence
        self._built: dict[str, tuple[Hit, ...]] = {}

    def __getitem__(self, key: str) -> tuple[Hit, ...]:
        hits = self._built.get(key)
        if hits is None:
            target = self._fired[key]
            ev = self._evidence
            rules = []
            for rule in target.rules:
                terms = _fire(rule, ev.title_terms, ev.all_terms)
                if terms:
                    rules.append((terms, rule.title_only))
            hits = self._built[key] = self._build(rules)
        return hits

    def __iter__(self) -> Iterator[str]:
        return iter(self._fired)

    def __len__(self) -> int:
        return len(self._fired)

    def __repr__(self) -> str:
        return repr(dict(self))

    def _build(self, rules: list[tuple[frozenset[int], bool]]) -> tuple[Hit, ...]:
        ev = self._evidence
        title, summary, in_title, in_summary = ev.found()
        first_title = _first_hits(in_title)
        first_summary = _first_hits(in_summary)
        spans: dict[tuple[int, _Where], TermHit] = {}
        for terms, title_only in rules:
            for term in sorted(terms):
                if term in first_title:
                    spans.setdefault((term, "title"), first_title[term])
                elif not title_only and term in first_summary:
                    spans.setdefault((term, "summary"), first_summary[term])
        ordered = sorted(
            spans.items(), key=lambda kv: (kv[0][1] != "title", kv[1].start, -kv[1].end)
        )
        kept: list[Hit] = []
        reach = {"title": -1, "summary": -1}
        for (term, place), hit in ordered:
            # Skip words already quoted inside a longer hit ("üretim" within "batarya üretimi").
            if hit.end <= reach[place]:
                continue
            reach[place] = max(reach[place], hit.end)
            text = (title if place == "title" else summary)[hit.start : hit.end]
            kept.append(Hit(ev.terms[term].source, place, text))
        return tuple(kept)


def _first_hits(hits: list[TermHit]) -> dict[int, TermHit]:
    """The first occurrence of each term."""
    first: dict[int, TermHit] = {}
    for hit in hits:
        first.setdefault(hit.term, hit)
    return first


def _fire(rule: Rule, title: frozenset[int], both: frozenset[int]) -> frozenset[int] | None:
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
    return fired
