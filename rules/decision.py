r"""Deciding which targets an item falls in, as generated code over term bitmasks.

A rule file compiles into :class:`Target`\ s (a category, topic or entity)
with :class:`Rule`\ s over term numbers. This module owns turning them into
Python functions whose tests are integer ``&`` against constant masks (bit
n: term n): one that decides every target of an item at once
(:func:`_compile_decision`), and, per target, one that says which of its
rules matched, for explanations (:func:`compile_pickers`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Literal

__all__ = ["Pick", "Rule", "Target", "compile_pickers"]


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
    return "(" + " and ".join(parts) + ")"


# One rule that matched, as explanations read it: (its number in the target, every
# term that can make it match, title only).
Pick = tuple[int, frozenset[int], bool]
_Picks = tuple[Pick, ...]
_Picker = Callable[[int, int], _Picks]


def compile_pickers(targets: Sequence[Target]) -> tuple[tuple[_Picks, ...], tuple[_Picker, ...]]:
    """Per target, the rules that match: ``(only, pick)``.

    ``only[n]`` is the one rule of target n when it has one (it matched if
    the target did), else empty; ``pick[n](title_terms, all_terms)`` gives
    the rules of target n that match, in order, for any target.
    """
    constants: dict[str, object] = {}
    lines: list[str] = []
    only: list[_Picks] = []
    for number, target in enumerate(targets):
        picks = tuple(
            (order, rule.any.union(*rule.all), rule.title_only)
            for order, rule in enumerate(target.rules)
        )
        only.append(picks if len(picks) == 1 else ())
        lines.append(f"def pick{number}(t, a):")
        lines.append("    r = ()")
        for one, rule in zip(picks, target.rules, strict=True):
            name = f"_k{len(constants)}"
            constants[name] = one
            lines.append(f"    if {_test(rule)}: r += ({name},)")
        lines.append("    return r")
    namespace: dict[str, object] = dict(constants)
    exec(compile("\n".join(lines), "<rules explanation>", "exec"), namespace)
    pickers = tuple(namespace[f"pick{n}"] for n in range(len(targets)))
    return tuple(only), pickers  # type: ignore[return-value]


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
