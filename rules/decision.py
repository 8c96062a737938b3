r"""Deciding which targets an item falls in, as generated code over term bitmasks.

A rule file compiles into :class:`Target`\ s (a category, topic or entity)
with :class:`Rule`\ s over term numbers. This module owns turning them into
Python functions whose tests are integer ``&`` against constant masks (bit
n: term n): one that decides every target of an item at once
(:func:`_compile_decision`), and, per target, one that says which terms its
explanation quotes (:func:`compile_wanted`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Literal

__all__ = ["Quoting", "Rule", "Target", "Wanted", "compile_wanted", "first_rule"]


@dataclass(frozen=True)
class Rule:
    """any-of terms, all-of groups, none-of exclusions, over the title or title + summary.

    ``none_anywhere`` excludes wherever its terms occur, even when the rule
    otherwise reads the title only.
    """

    any: frozenset[int]
    all: tuple[frozenset[int], ...] = ()
    none: frozenset[int] = frozenset()
    title_only: bool = False
    none_anywhere: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Target:
    """Something a rule can put an item in: a category, a topic or an entity."""

    id: str
    kind: Literal["category", "topic", "entity"]
    rules: tuple[Rule, ...]


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
            tests = [_test(rule) for rule in target.rules]
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


def _test(rule: Rule) -> str:
    """The rule as a Python expression over ``t`` (title terms) and ``a`` (all terms)."""
    scope = "t" if rule.title_only else "a"
    parts = [f"{scope} & {_mask(rule.any)}"]
    parts += [f"{scope} & {_mask(needed)}" for needed in rule.all]
    if rule.none:
        parts.append(f"not {scope} & {_mask(rule.none)}")
    if rule.none_anywhere:
        parts.append(f"not a & {_mask(rule.none_anywhere)}")
    return "(" + " and ".join(parts) + ")"


# A rule as explanations read it: (the terms it quotes, its any and all terms; title only).
Quoting = tuple[frozenset[int], bool]
# What the explanation of a target that fired quotes: the terms of its rules that
# match, (wherever they occur, only from the title), and those rules in order.
Wanted = tuple[frozenset[int], frozenset[int], tuple[Quoting, ...]]


def compile_wanted(
    targets: Sequence[Target],
) -> tuple[tuple[Wanted | tuple[()], ...], tuple[Callable[[int, int], Wanted], ...]]:
    """Per target, what its explanation quotes (see Wanted): ``(fixed, pick)``.

    ``pick[n](title_terms, all_terms)`` finds the rules of target n that
    match by generated bitmask tests and makes the sets of each combination
    once. It is only asked of a target that fired, so for a target with one
    rule the answer is fixed, and ``fixed[n]`` has it (else it is empty).
    """
    lines: list[str] = []
    namespace: dict[str, object] = {}
    fixed: list[Wanted | tuple[()]] = []
    for number, target in enumerate(targets):
        rules = tuple((rule.any.union(*rule.all), rule.title_only) for rule in target.rules)
        lines.append(f"def pick{number}(t, a):")
        if len(rules) == 1:
            fixed.append(_remember_wanted(rules, {}, 1))
            namespace[f"_w{number}"] = fixed[-1]
            lines.append(f"    return _w{number}")
            continue
        fixed.append(())
        memo: dict[int, Wanted] = {}
        namespace[f"_w{number}"] = memo
        namespace[f"_r{number}"] = functools.partial(_remember_wanted, rules, memo)
        lines.append("    r = 0")
        for order, rule in enumerate(target.rules):
            lines.append(f"    if {_test(rule)}: r |= {1 << order}")
        lines.append(f"    return _w{number}.get(r) or _r{number}(r)")
    exec(compile("\n".join(lines), "<rules explanation>", "exec"), namespace)
    pick: tuple[Callable[[int, int], Wanted], ...] = tuple(
        namespace[f"pick{n}"]  # type: ignore[misc]
        for n in range(len(targets))
    )
    return tuple(fixed), pick


def _remember_wanted(rules: Sequence[Quoting], memo: dict[int, Wanted], matched: int) -> Wanted:
    """What the rules whose bits are set in ``matched`` quote, remembered in ``memo``."""
    if len(memo) >= _WANTED_LIMIT:
        memo.clear()
    chosen = tuple(rule for n, rule in enumerate(rules) if matched >> n & 1)
    anywhere = frozenset().union(*(terms for terms, title_only in chosen if not title_only))
    title = frozenset().union(*(terms for terms, title_only in chosen if title_only))
    wanted = memo[matched] = (anywhere, title - anywhere, chosen)
    return wanted


def first_rule(rules: Sequence[Quoting], term: int, in_summary: bool) -> int:
    """The number of the first of ``rules`` that quotes ``term`` (found in the summary or not)."""
    for order, (terms, title_only) in enumerate(rules):
        if term in terms and not (title_only and in_summary):
            return order
    return len(rules)


_WANTED_LIMIT = 1_024  # remembered rule combinations per target


_GROUP_SIZE = 4  # targets decided one by one below this; above it, nested in guarded groups


def _any_terms(targets: Iterable[Target]) -> frozenset[int]:
    """Every term of the ``any`` lists of these targets' rules: no rule fires without one."""
    return frozenset().union(*(rule.any for target in targets for rule in target.rules))


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
