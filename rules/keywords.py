"""Personal keyword alerts: a user's terms, matched like rule terms."""

from __future__ import annotations

from collections.abc import Sequence

from rules.matcher import CompiledMatcher
from rules.terms import TermError, parse_term
from rules.text import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, clean_chunks, clip

__all__ = ["KeywordMatcher"]


class KeywordMatcher:
    """A compiled list of keyword terms; a term starting with ``-`` excludes."""

    def __init__(self, positive: Sequence[str], negative: Sequence[str]) -> None:
        self._positive = tuple(positive)
        specs = [parse_term(t) for t in (*positive, *negative)]
        self._matcher = CompiledMatcher(specs)

    @classmethod
    def compile(cls, terms: Sequence[str]) -> KeywordMatcher:
        """Compile user terms; raise ValueError on an empty or unmatchable term."""
        positive: list[str] = []
        negative: list[str] = []
        for raw in terms:
            term = raw.strip()
            exclude = term.startswith("-")
            body = term[1:].strip() if exclude else term
            if not body:
                raise TermError(f"empty term {raw!r}")
            parse_term(body)  # raises TermError (a ValueError) with the reason
            (negative if exclude else positive).append(body)
        return cls(positive, negative)

    def match(self, title: str, summary: str = "") -> str | None:
        """The first positive term (in given order) found; None if none is or an exclusion is.

        Reads as much of the title and summary as RuleSet.classify does.
        """
        found = 0  # bit n: term n occurs
        texts = (clip(title, MAX_TITLE_CHARS), clip(summary, MAX_SUMMARY_CHARS))
        for plain, chunks in map(clean_chunks, texts):
            if chunks:
                found |= self._matcher.mask(chunks, plain)
        if not found or found >> len(self._positive):
            return None  # nothing, or an exclusion
        return self._positive[(found & -found).bit_length() - 1]
