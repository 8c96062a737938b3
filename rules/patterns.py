"""Which word patterns one word satisfies, and a prefilter that says "none" in C.

A term is a sequence of word patterns (rules/terms.py). This module owns the
index from a word, in match-key form, to the ids of the patterns it
satisfies (:meth:`WordIndex.patterns`: a handful of dict look-ups, the word
itself and each prefix that is a known stem, with the suffix chain checked
by the automaton in rules/terms.py), and the trie-shaped regex that rejects a
chunk in which no stem occurs at a word start before any per-word work
(:attr:`WordIndex.could`). It also owns the text-wide half of the acronym
test (:func:`mostly_lower`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rules.terms import SUFFIX_STARTS, Mode, WordPattern, suffix_chain_starts

__all__ = ["WordIndex", "mostly_lower"]


class WordIndex:
    """Word patterns numbered in the order they are added; words looked up against them."""

    def __init__(self) -> None:
        self.patterns: list[WordPattern] = []
        self._ids: dict[WordPattern, int] = {}
        self._exact: dict[str, list[int]] = {}
        self._stems: dict[str, list[int]] = {}
        self.acronyms: frozenset[int] = frozenset()
        # The first one or two letters of a stem -> the lengths of the stems that start so.
        self._sizes: dict[str, tuple[int, ...]] = {}
        self.could: Callable[[str], re.Match[str] | None] = _NEVER

    def add(self, pattern: WordPattern) -> int:
        """The id of ``pattern``, numbering it if it is new (call :meth:`seal` after the last)."""
        pid = self._ids.get(pattern)
        if pid is None:
            pid = self._ids[pattern] = len(self.patterns)
            self.patterns.append(pattern)
            exact = pattern.mode in (Mode.EXACT, Mode.ACRONYM)
            (self._exact if exact else self._stems).setdefault(pattern.stem, []).append(pid)
        return pid

    def seal(self) -> None:
        """Build the look-up helpers once every pattern is added."""
        self.acronyms = frozenset(
            pid for pid, p in enumerate(self.patterns) if p.mode is Mode.ACRONYM
        )
        sizes: dict[str, set[int]] = {}
        for stem in self._stems:
            sizes.setdefault(stem[:2], set()).add(len(stem))
        self._sizes = {head: tuple(sorted(lengths)) for head, lengths in sizes.items()}
        # Every pattern a word satisfies starts with one of these strings at the
        # start of the word: a chunk in which none occurs at a word start has
        # nothing to offer, and the regex (a trie, so ``re`` does not try each
        # stem in turn) says so in C.
        self.could = _prefix_regex((p.stem, p.mode) for p in self.patterns)

    def word_patterns(self, word: str) -> tuple[int, ...]:
        """Pattern ids that one word (in match-key form) satisfies."""
        base = word.partition("'")[0]
        result: list[int] = []
        result.extend(self._exact.get(base, ()))
        if base != word:
            result.extend(self._exact.get(word, ()))
        if base.endswith("s"):
            # Acronyms take the English plural without an apostrophe: "EVs".
            result.extend(p for p in self._exact.get(base[:-1], ()) if p in self.acronyms)
        # Where the rest of the word may start so that it is a suffix chain: worked
        # out once per word, in one pass from its end, when a stem first needs it.
        chains: set[int] | None = None
        end = len(base)
        # Only the lengths of stems that start like the word: most words try one or two.
        sizes = self._sizes.get(base[:1], ())
        if end > 1:
            sizes += self._sizes.get(base[:2], ())
        for size in sizes:
            if size > end:
                break
            pids = self._stems.get(base[:size])
            if pids is None:
                continue
            follows = word[size] if size < len(word) else ""
            for pid in pids:
                pattern = self.patterns[pid]
                if pattern.requires and (not follows or follows not in pattern.requires):
                    continue
                if pattern.mode is not Mode.PREFIX and size < end:
                    if chains is None:
                        chains = suffix_chain_starts(base, size)
                    if size not in chains:
                        continue
                result.append(pid)
        return tuple(result)


_NEVER = re.compile(r"(?!)").search
_Trie = dict[str, "_Trie"]
# What may follow a word pattern's stem inside the word, as a regex (see word_patterns):
# anything after a prefix; a suffix (or nothing) after an inflected stem; nothing
# but an apostrophe tail after an exact word, and a plural "s" after an acronym.
_AFTER = {
    Mode.PREFIX: "",
    Mode.INFLECT: f"(?=[{re.escape(SUFFIX_STARTS)}]|(?!\\w))",
    Mode.EXACT: "(?!\\w)",
    Mode.ACRONYM: "s?(?!\\w)",
}


def _prefix_regex(patterns: Iterable[tuple[str, Mode]]) -> Callable[[str], re.Match[str] | None]:
    """``search`` of a regex that finds, at the start of a word, a word some pattern could take.

    A trie of the stems, so ``re`` does not try each in turn. It never
    misses a word that has patterns (tests/rules/test_engine_caches.py), and
    it turns away words a stem only starts: ``2030`` for the term ``Model
    3``, ``pilot`` for ``pil``; numbers and serials then cost no Python work.
    """
    trie: _Trie = {}
    for stem, mode in patterns:
        node = trie
        for char in stem:
            node = node.setdefault(char, {})
        # Mode values are longer than one character, so they never clash with a letter.
        node.setdefault(mode.value, {})
    if not trie:
        return _NEVER

    def body(node: _Trie) -> str:
        if Mode.PREFIX.value in node:
            return ""  # the rest of the word is free: longer stems add nothing
        ends = [mode for mode in Mode if mode.value in node]
        if Mode.INFLECT in ends:
            ends = [Mode.INFLECT]  # its test admits everything the exact ones do
        branches = [
            re.escape(char) + body(child) for char, child in sorted(node.items()) if len(char) == 1
        ]
        branches += [_AFTER[mode] for mode in ends]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return re.compile(r"(?<!\w)" + body(trie)).search


def _build_letter_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in range(0x250):
        char = chr(code)
        table[code] = ("U" if char.isupper() else "l") if char.isalpha() else None
    return table


_LETTERS = _build_letter_table()
_ASCII_NOT_LETTER = bytes(c for c in range(128) if not chr(c).isalpha())
_ASCII_NOT_UPPER = bytes(c for c in range(128) if not chr(c).isupper())


def mostly_lower(text: str) -> bool:
    """True when fewer than half the letters of ``text`` are capitals.

    An acronym term (``=EV``) only counts in such a text: in an all-capitals
    headline "EV" may just be "ev" (home).
    """
    if text.isascii():
        raw = text.encode("ascii")
        letters = len(raw.translate(None, _ASCII_NOT_LETTER))
        upper = len(raw.translate(None, _ASCII_NOT_UPPER))
        return upper * 2 < letters
    kinds = text.translate(_LETTERS)
    upper = kinds.count("U")
    lower = kinds.count("l")
    if upper + lower != len(kinds):  # characters beyond the table: count them one by one
        alpha = [c for c in text if c.isalpha()]
        return sum(1 for c in alpha if c.isupper()) * 2 < len(alpha)
    return upper * 2 < upper + lower
