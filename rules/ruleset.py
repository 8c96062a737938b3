"""A compiled rules file: classify() an item, and explain it from what classify() saw.

Owns :class:`RuleSet` (the terms, the targets and their rules, the matcher
and the generated decision functions of one rules file) and the lazy
``Classification.matches`` that turns the scans of the title and summary
into the quoted words of each target's explanation.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping, Sequence
from types import MappingProxyType

from rules.decision import (
    Quoting,
    Rule,
    Target,
    _compile_decision,
    compile_wanted,
    first_rule,
)
from rules.matcher import CompiledMatcher
from rules.model import CATEGORY_IDS, CategoryInfo, Classification, Hit, TagInfo
from rules.scan import NO_SCAN, SUMMARY, Place, Scan, first_places
from rules.terms import TermSpec
from rules.text import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, clean_chunks, clip

__all__ = ["Rule", "RuleSet", "Target"]


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
        self._fixed, self._pick = compile_wanted(self._targets)
        self._ids = tuple(target.id for target in self._targets)
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
        title_scan = scan(title_chunks, title_plain) if title_chunks else NO_SCAN
        summary_scan = scan(summary_chunks, summary_plain) if summary_chunks else NO_SCAN
        title_terms = title_scan[0]
        all_terms = title_terms | summary_scan[0]
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

    def _explain(
        self, fired: tuple[int, ...], title: Scan, summary: Scan, all_terms: int
    ) -> dict[str, tuple[Hit, ...]]:
        """The hits of each fired target: the words of the terms of its rules that match.

        A term is quoted where it first occurs, in the title if it is there;
        a word already quoted inside a longer hit is not repeated.
        """
        # Where each term first occurs, in the title if it is there.
        sources = self._matcher.sources
        first = first_places(summary, sources, SUMMARY)
        if title[2]:
            first.update(first_places(title, sources))
        title_terms = title[0]
        fixed = self._fixed
        pick = self._pick
        ids = self._ids
        out: dict[str, tuple[Hit, ...]] = {}
        for number in fired:
            anywhere, title_only, rules = fixed[number] or pick[number](title_terms, all_terms)
            terms = anywhere.intersection(first)
            if title_only:  # rare: terms of rules that only look at the title
                in_title = [
                    term for term in title_only.intersection(first) if first[term][0] < SUMMARY
                ]
                terms = terms.union(in_title)
            if len(terms) == 1:  # the most common case: one term, one hit
                (term,) = terms
                out[ids[number]] = (first[term][2],)
                continue
            hits: list[Hit] = []
            reach = -1  # where the longest hit quoted so far ends: words inside it are skipped
            for place in sorted(map(first.__getitem__, terms)):
                at, quote, hit = place
                end = (at << 32) - quote[1]
                if end > reach:
                    reach = end
                    hits.append(hit)
                    shown = place
                elif end == reach and shown[0] == at and shown[1][0] == quote[0]:
                    # The same words as the last hit: quote the term of the earlier rule.
                    shown = _tie(rules, hits, shown, place)
            out[ids[number]] = tuple(hits)
        return out


def _tie(rules: Sequence[Quoting], hits: list[Hit], shown: Place, place: Place) -> Place:
    """The last hit, ``shown``, or the same words as ``place`` if an earlier rule quotes it.

    Two terms quoted with the very same words are shown once, as the term
    of the rule that comes first (rare, so not worked out in advance).
    """
    at, quote, hit = place
    in_summary = at >= SUMMARY
    if first_rule(rules, quote[2], in_summary) >= first_rule(rules, shown[1][2], in_summary):
        return shown
    hits[-1] = hit
    return place


_NO_MATCHES: Mapping[str, tuple[Hit, ...]] = MappingProxyType({})


class _LazyMatches(Mapping[str, tuple[Hit, ...]]):
    """Hits per target id, built on first access: most items are never explained.

    Holds the scans of the title and the summary, which say where each term
    occurs; nothing is matched again when an explanation is asked for.
    """

    __slots__ = ("_args", "_hits")

    def __init__(
        self, rules: RuleSet, fired: tuple[int, ...], title: Scan, summary: Scan, all_terms: int
    ) -> None:
        self._args = (rules, fired, title, summary, all_terms)
        self._hits: dict[str, tuple[Hit, ...]] | None = None

    def _all(self) -> dict[str, tuple[Hit, ...]]:
        hits = self._hits
        if hits is None:
            rules, fired, title, summary, all_terms = self._args
            hits = self._hits = rules._explain(fired, title, summary, all_terms)
        return hits

    def __getitem__(self, key: str) -> tuple[Hit, ...]:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._args[1])

    def items(self) -> ItemsView[str, tuple[Hit, ...]]:
        """(id, hits) of every target that fired, in order."""
        return self._all().items()

    def __repr__(self) -> str:
        return repr(self._all())
