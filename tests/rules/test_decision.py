"""The generated decision function agrees with the rule semantics, rule by rule.

The function nests targets behind guard tests (see ruleset._compile_decision);
here random rule sets and random term sets are decided both by it and by
reading each rule as written (any, all groups, none, title only), so a wrong
guard or a lost target would show as a disagreement.
"""

from __future__ import annotations

from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.ruleset import Rule, Target, _compile_decision

TERMS = 40
_terms = st.frozensets(st.integers(0, TERMS - 1), max_size=6)
_rules = st.builds(
    Rule,
    any=st.frozensets(st.integers(0, TERMS - 1), min_size=1, max_size=6),
    all=st.lists(_terms.filter(bool), max_size=2).map(tuple),
    none=_terms,
    title_only=st.booleans(),
)
_kinds: st.SearchStrategy[Literal["category", "topic", "entity"]] = st.sampled_from(
    ["category", "topic", "entity"]
)


@st.composite
def _targets(draw: st.DrawFn) -> list[Target]:
    kinds = draw(st.lists(_kinds, min_size=1, max_size=30))
    return [
        Target(f"t{n}", kind, tuple(draw(st.lists(_rules, min_size=1, max_size=4))))
        for n, kind in enumerate(kinds)
    ]


def _bits(terms: frozenset[int]) -> int:
    return sum(1 << n for n in terms)


def _fires(rule: Rule, title: frozenset[int], both: frozenset[int]) -> bool:
    scope = title if rule.title_only else both
    return (
        bool(rule.any & scope)
        and all(group & scope for group in rule.all)
        and not rule.none & scope
    )


@settings(max_examples=300, deadline=None)
@given(targets=_targets(), title=_terms, summary=_terms)
def test_decision_matches_rules_as_written(
    targets: list[Target], title: frozenset[int], summary: frozenset[int]
) -> None:
    both = title | summary
    expected: dict[str, list[str]] = {"category": [], "topic": [], "entity": []}
    fired = []
    for number, target in enumerate(targets):
        if any(_fires(rule, title, both) for rule in target.rules):
            expected[target.kind].append(target.id)
            fired.append(number)
    decide = _compile_decision(targets)
    assert decide(_bits(title), _bits(both)) == (
        tuple(expected["category"]),
        tuple(expected["topic"]),
        tuple(expected["entity"]),
        tuple(fired),
    )
