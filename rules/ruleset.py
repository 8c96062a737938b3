"""A compiled rules file: terms, rules per category/topic/entity, and classify()."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from types import MappingProxyType
from typing import Literal

from rules.matcher import CompiledMatcher
from rules.model import CATEGORY_IDS, CategoryInfo, Classification, Hit, TagInfo
from rules.scan import Scan
from rules.terms import TermSpec
from rules.text import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, clean_chunks, clip

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
        self._decide = _compile_decision(self._targets)
        self._hits: dict[tuple[int, str, str], Hit] = {}  # Hit values, shared
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
        """Classify one item. ``language`` is accepted for the API but rules apply to both.

        Only the first MAX_TITLE_CHARS of the title and MAX_SUMMARY_CHARS of
        the summary are read (cut back to a space, see ``rules.text.clip``),
        and the work is linear in what is read, so one item costs a bounded time.
        """
        del language  # terms are bilingual; kept so callers can pass what they know
        if len(title) > MAX_TITLE_CHARS:
            title = clip(title, MAX_TITLE_CHARS)
        if len(summary) > MAX_SUMMARY_CHARS:
            summary = clip(summary, MAX_SUMMARY_CHARS)
        title_plain, title_chunks = clean_chunks(title)
        summary_plain, summary_chunks = clean_chunks(summary)
        scan = self._matcher.scan
        title_scan = scan(title_chunks, title_plain) if title_chunks else _NOTHING
        summary_scan = scan(summary_chunks, summary_plain) if summary_chunks else _NOTHING
        title_terms = title_scan.terms
        all_terms = title_terms | summary_scan.terms
        if not all_terms:
            return Classification((), (), (), _NO_MATCHES, self._names)
        categories, topics, entities, fired = self._decide(title_terms, all_terms)
        return Classification(
            categories,
            topics,
            entities,
            _LazyMatches(self, fired, title_scan, summary_scan, all_terms),
            self._names,
        )


_NOTHING = Scan([], [], set(), [], 0)
_NO_MATCHES: Mapping[str, tuple[Hit, ...]] = MappingProxyType({})

_Ids = tuple[str, ...]
_Decision = Callable[[int, int], tuple[_Ids, _Ids, _Ids, tuple[int, ...]]]


def _mask(terms: frozenset[int]) -> str:
    """A term set as an integer literal (bit n: term n)."""
    return hex(_bitmask(terms))


def _compile_decision(targets: Sequence[Target]) -> _Decision:
    """One generated function that decides every target in order.

    ``decide(title_terms, all_terms)`` takes the terms found as bitmasks
    (bit n: term n) and returns tuples of the ids of the categories, topics and
    entities that fire and the numbers of the fired targets. Each rule
    becomes one boolean expression of integer ``&`` tests against constant
    masks, so nothing is looped over or looked up per item. Most items hold
    a few terms, so targets are nested in groups, each behind one test of
    the union of its rules' ``any`` terms: a group none of whose terms
    occur costs one test, however many rules it holds.
    """
    constants: dict[str, object] = {}

    def const(value: object) -> str:
        name = f"_k{len(constants)}"
        constants[name] = value
        return name

    lists = {"category": "c", "topic": "p", "entity": "e"}
    numbered = [(n, t) for n, t in enumerate(targets) if t.rules]
    # Tuples grown with += : an item fires a few targets, and this saves the
    # list-to-tuple copies that Classification would need.
    lines = ["def decide(t, a):", "    c = p = e = f = ()"]

    def emit(group: list[tuple[int, Target]], depth: int) -> None:
        pad = "    " * depth
        if len(group) > _GROUP_SIZE:
            size = max(_GROUP_SIZE, math.isqrt(len(group) - 1) + 1)
            for at in range(0, len(group), size):
                part = group[at : at + size]
                lines.append(f"{pad}if a & {_mask(_any_terms(t for _, t in part))}:")
                emit(part, depth + 1)
            return
        for number, target in group:
            tests = []
            for rule in target.rules:
                scope = "t" if rule.title_only else "a"
                parts = [f"{scope} & {_mask(rule.any)}"]
                parts += [f"{scope} & {_mask(needed)}" for needed in rule.all]
                if rule.none:
                    parts.append(f"not {scope} & {_mask(rule.none)}")
                tests.append("(" + " and ".join(parts) + ")")
            inner = pad
            if len(tests) > 1:  # one rule starts with its own any-test already
                lines.append(f"{pad}if a & {_mask(_any_terms([target]))}:")
                inner += "    "
            lines.append(f"{inner}if {' or '.join(tests)}:")
            lines.append(
                f"{inner}    {lists[target.kind]} += ({const(target.id)},); f += ({number},)"
            )

    for _, run in groupby(numbered, key=lambda item: item[1].kind):
        kind = list(run)
        if len(kind) > _GROUP_SIZE:
            lines.append(f"    if a & {_mask(_any_terms(t for _, t in kind))}:")
            emit(kind, 2)
        else:
            emit(kind, 1)
    lines.append("    return c, p, e, f")
    namespace: dict[str, object] = dict(constants)
    exec(compile("\n".join(lines), "<rules decision>", "exec"), namespace)
    decide: _Decision = namespace["decide"]  # type: ignore[assignment]
    return decide


_GROUP_SIZE = 4  # targets decided one by one below this; above it, nested in guarded groups


def _any_terms(targets: Iterable[Target]) -> frozenset[int]:
    """Every term of the ``any`` lists of these targets' rules: no rule fires without one."""
    return frozenset().union(*(rule.any for target in targets for rule in target.rules))


class _LazyMatches(Mapping[str, tuple[Hit, ...]]):
    """Hits per target id, built on first access: most items are never explained.

    Holds the scans of the title and the summary, which say where each term
    occurs; nothing is matched again when an explanation is asked for.
    """

    __slots__ = ("_built", "_fired_map", "_found", "_numbers", "_rules", "_scans", "_sets")

    def __init__(
        self, rules: RuleSet, fired: tuple[int, ...], title: Scan, summary: Scan, all_terms: int
    ) -> None:
        self._rules = rules
        self._numbers = fired
        self._scans = (title, summary, all_terms)
        self._fired_map: dict[str, Target] | None = None
        self._built: dict[str, tuple[Hit, ...]] = {}
        self._sets: tuple[frozenset[int], frozenset[int]] | None = None
        self._found: tuple[str, str, dict[int, _Span], dict[int, _Span]] | None = None

    @property
    def _fired(self) -> dict[str, Target]:
        if self._fired_map is None:
            targets = self._rules._targets
            self._fired_map = {targets[n].id: targets[n] for n in self._numbers}
        return self._fired_map

    def __getitem__(self, key: str) -> tuple[Hit, ...]:
        hits = self._built.get(key)
        if hits is None:
            target = self._fired[key]
            title, both = self.sets()
            rules = []
            for rule in target.rules:
                terms = _fire(rule, title, both)
                if terms:
                    rules.append((sorted(terms), rule.title_only))
            hits = self._built[key] = self._build(rules)
        return hits

    def __iter__(self) -> Iterator[str]:
        return iter(self._fired)

    def __len__(self) -> int:
        return len(self._numbers)

    def __repr__(self) -> str:
        return repr(dict(self))

    def sets(self) -> tuple[frozenset[int], frozenset[int]]:
        """The terms found in the title and in title + summary, as sets."""
        if self._sets is None:
            title_scan, _, all_terms = self._scans
            title_terms = title_scan.terms
            title = frozenset(_numbers(title_terms))
            self._sets = (title, title.union(_numbers(all_terms ^ title_terms)))
        return self._sets

    def found(self) -> tuple[str, str, dict[int, _Span], dict[int, _Span]]:
        """(title, summary, first span of each term in the title, … in the summary)."""
        if self._found is None:
            title, summary, _ = self._scans
            self._found = (
                " ".join(title.chunks),
                " ".join(summary.chunks),
                title.spans(),
                summary.spans(),
            )
        return self._found

    def _build(self, rules: list[tuple[list[int], bool]]) -> tuple[Hit, ...]:
        title, summary, first_title, first_summary = self.found()
        # (0 title / 1 summary, start, -end, order of first mention, term); sorting
        # these tuples orders hits by place, start and longest first, ties as listed.
        spans: list[tuple[int, int, int, int, int]] = []
        seen: set[tuple[int, int]] = set()
        for terms, title_only in rules:
            for term in terms:
                hit = first_title.get(term)
                place = 0
                if hit is None:
                    if title_only:
                        continue
                    hit = first_summary.get(term)
                    if hit is None:
                        continue
                    place = 1
                if (term, place) not in seen:
                    seen.add((term, place))
                    spans.append((place, hit[0], -hit[1], len(spans), term))
        spans.sort()
        kept: list[Hit] = []
        reach = [-1, -1]
        memo = self._rules._hits
        sources = self._rules._terms
        for place, start, neg_end, _, term in spans:
            end = -neg_end
            # Skip words already quoted inside a longer hit ("üretim" within "batarya üretimi").
            if end <= reach[place]:
                continue
            reach[place] = max(reach[place], end)
            text = (summary if place else title)[start:end]
            where = _PLACES[place]
            hit_value = memo.get((term, where, text))
            if hit_value is None:
                if len(memo) >= _HIT_MEMO_LIMIT:
                    memo.clear()
                hit_value = memo[(term, where, text)] = Hit(sources[term].source, where, text)
            kept.append(hit_value)
        return tuple(kept)


_Span = tuple[int, int]  # (start, end) of a term in the cleaned text
_PLACES: tuple[_Where, _Where] = ("title", "summary")
_HIT_MEMO_LIMIT = 50_000


def _numbers(mask: int) -> list[int]:
    """The set bits of ``mask``, lowest first (found by str.find, not big-int arithmetic)."""
    digits = bin(mask)[:1:-1]  # bit n is digits[n]
    out = []
    at = digits.find("1")
    while at >= 0:
        out.append(at)
        at = digits.find("1", at + 1)
    return out


def _bitmask(terms: frozenset[int]) -> int:
    """A set of term numbers as a bitmask (bit n: term n).

    Built in a byte array: ``mask |= 1 << term`` copies the growing integer
    each time, which for a long list of terms is quadratic.
    """
    if not terms:
        return 0
    buffer = bytearray(max(terms) // 8 + 1)
    for term in terms:
        buffer[term >> 3] |= 1 << (term & 7)
    return int.from_bytes(buffer, "little")


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
