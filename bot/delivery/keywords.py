"""Personal keyword alerts: a chat's terms compiled, and what they say about a story (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules import KeywordMatcher


@dataclass(frozen=True)
class KeywordMatchers:
    """A chat's keywords compiled: its positive terms, and its exclusions on their own."""

    positive: KeywordMatcher | None
    negative: KeywordMatcher | None


class _Excluded:
    """The story mentions one of the chat's `-term`s."""


EXCLUDED = _Excluded()


def compile_keywords(terms: Sequence[str]) -> KeywordMatchers:
    """Compile stored terms; a term the rules language no longer accepts is skipped."""
    good: list[str] = []
    for term in terms:
        try:
            KeywordMatcher.compile([term])
        except ValueError:
            continue
        good.append(term)
    positives = [x for x in good if not x.startswith("-")]
    negatives = [x[1:].strip() for x in good if x.startswith("-")]
    return KeywordMatchers(
        positive=KeywordMatcher.compile(good) if positives else None,
        negative=KeywordMatcher.compile(negatives) if negatives else None,
    )


def keyword_decision(matchers: KeywordMatchers, title: str, summary: str) -> str | _Excluded | None:
    """The chat's term that matched, EXCLUDED if an exclusion matched, else None."""
    if matchers.negative is not None and matchers.negative.match(title, summary) is not None:
        return EXCLUDED
    if matchers.positive is not None:
        return matchers.positive.match(title, summary)
    return None
