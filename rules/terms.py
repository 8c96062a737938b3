"""Parsing rule terms into word patterns.

Term syntax (see rules/README.md for the user-facing description):

* ``batarya`` - the word plus any Turkish inflection or English
  plural/possessive: ``bataryası``, ``bataryalarının``, ``batteries``,
  ``battery's``. The suffix after the stem must parse as a chain of Turkish
  suffixes (``lar``, ``ı``, ``nın``, ``da`` …) so ``pil`` matches ``piller``
  but not ``pilot``; after an apostrophe anything goes (``Togg'un``).
* ``üret*`` - prefix: the word followed by any letters (``üretim``, ``üretici``).
* ``=ab`` - exact word; only an apostrophe tail may follow (``AB'nin``).
* ``=EV`` - exact and written in capitals: an acronym. It matches only where the
  text has it in capitals too (``EV``, ``EV'ler``, ``EVs``), never ``ev``/``Ev``.
* Several words form a phrase. In the text the words may be separated by any
  run of spaces and hyphens; suffixes apply to the last word only. A hyphen
  inside a term also allows the joined spelling (``e-scooter`` → ``escooter``).
  When a phrase's last word ends in a compound-noun suffix (``şarj
  istasyonu``, ``şarj noktası``) the bare stem is used, so ``şarj
  istasyonlarına`` matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from itertools import pairwise

from rules.text import clean_text, match_key, tokens

__all__ = [
    "SUFFIX_STARTS",
    "Mode",
    "TermSpec",
    "WordPattern",
    "parse_term",
    "suffix_chain_starts",
    "suffix_ok",
]


class Mode(Enum):
    """How one word of a term is compared with a word of the text."""

    EXACT = "exact"
    ACRONYM = "acronym"
    INFLECT = "inflect"
    PREFIX = "prefix"


@dataclass(frozen=True)
class WordPattern:
    """One word of a term in match-key space.

    ``requires`` lists the letters the suffix must start with (empty: any,
    including no suffix) - used for the softened stems ``teşvig-`` and
    ``batteri-`` that only exist before a suffix.
    """

    mode: Mode
    stem: str
    requires: str = ""


@dataclass(frozen=True)
class TermSpec:
    """A parsed term: alternative word sequences and, per gap, a literal or None (flexible)."""

    source: str
    variants: tuple[tuple[tuple[WordPattern, ...], tuple[str | None, ...]], ...]
    key: str  # canonical form, used to detect duplicates


# Turkish nominal suffixes (and a few derivational ones) in match-key space, i.e.
# without diacritics, so "ı/i/u/ü" all appear as "i" or "u".
_MORPHEMES = [
    *("lar", "ler", "nin", "nun", "imiz", "umuz", "iniz", "unuz", "miz", "muz", "niz", "nuz"),
    *("in", "un", "im", "um", "ndan", "nden", "dan", "den", "tan", "ten", "nda", "nde"),
    *("da", "de", "ta", "te", "yla", "yle", "la", "le", "ya", "ye", "yi", "yu", "si", "su"),
    *("ni", "nu", "na", "ne", "ki", "lik", "luk", "lig", "lug", "li", "lu", "siz", "suz"),
    *("cilik", "ci", "cu", "dir", "dur", "tir", "tur", "yken", "i", "u", "a", "e", "n", "m"),
]
# Letters a non-empty suffix (see suffix_ok) can start with, apostrophe included.
SUFFIX_STARTS = "".join(sorted({m[0] for m in _MORPHEMES} | {"e", "s", "'"}))
_VOWELS = "aeiou"
_CONSONANTS = "bcdfghjklmnpqrstvwxyz"
_FLEX_GAP = re.compile(r"[\s\-]+")
_MARKERS = "=*"


def suffix_ok(rest: str) -> bool:
    """True when ``rest`` (what follows a stem inside one word) is an allowed suffix chain."""
    if not rest or rest[0] == "'":
        return True
    base = rest.partition("'")[0]
    return 0 in suffix_chain_starts(base, 0)


def suffix_chain_starts(word: str, lowest: int) -> set[int]:
    """Positions ``p >= lowest`` at which ``word[p:]`` is a suffix chain (``len(word)`` included).

    Linear in ``len(word) - lowest``: one pass from the end of the word through
    a deterministic automaton of the reversed chains, stopping as soon as no
    chain can continue. (A regex ``(?:lar|i|n|in|…)*`` tried each way of
    splitting ``ininin…`` in turn, which doubled its work with every two letters.)
    """
    table = _BACK  # read once per call so that tests can swap in a counting table
    accepting = _BACK_ACCEPTING
    state = 0
    out = {len(word)}
    for at in range(len(word) - 1, lowest - 1, -1):
        state = table[state].get(word[at], -1)
        if state < 0:
            break
        if accepting[state]:
            out.add(at)
    return out


def _build_back_automaton() -> tuple[list[dict[str, int]], list[bool]]:
    """A DFA reading a word right to left: it accepts ``(e?s)? morpheme*`` reversed.

    States of the underlying NFA are ``""`` (a chain boundary), prefixes of
    reversed morphemes, and ``"^"``/``"^s"`` for the optional plural that can
    only come last in the word (so first when reading backwards). The subset
    construction runs once at import; the morpheme list is fixed.
    """
    reversed_morphemes = {m[::-1] for m in _MORPHEMES}
    prefixes = {m[:n] for m in reversed_morphemes for n in range(1, len(m) + 1)}

    def step(states: frozenset[str], char: str) -> frozenset[str]:
        out: set[str] = set()
        for state in states:
            if state == "^" and char == "s":
                out.update(("^s", ""))  # read the plural "s"; a boundary follows
            elif state == "^s" and char == "e":
                out.add("")  # the plural was "es"
            if state.startswith("^"):
                continue
            grown = state + char
            if grown in prefixes:
                out.add(grown)
            if grown in reversed_morphemes:
                out.add("")  # a whole morpheme read: back at a boundary
        return frozenset(out)

    alphabet = sorted({c for m in _MORPHEMES for c in m} | {"e", "s"})
    start = frozenset({"^", ""})
    numbers = {start: 0}
    table: list[dict[str, int]] = [{}]
    todo = [start]
    while todo:
        states = todo.pop()
        for char in alphabet:
            target = step(states, char)
            if not target:
                continue
            if target not in numbers:
                numbers[target] = len(table)
                table.append({})
                todo.append(target)
            table[numbers[states]][char] = numbers[target]
    accepting = [False] * len(table)
    for states, number in numbers.items():
        accepting[number] = "" in states
    return table, accepting


_BACK, _BACK_ACCEPTING = _build_back_automaton()


class TermError(ValueError):
    """A term that is empty or can never match."""


def parse_term(raw: str) -> TermSpec:
    """Parse one term written in the rule language; raise TermError if it is unusable."""
    text = clean_text(raw)
    if not text:
        raise TermError("empty term")
    exact = text.startswith("=")
    prefix = text.endswith("*")
    body = text[1 if exact else 0 : len(text) - (1 if prefix else 0)].strip()
    if exact and prefix:
        raise TermError(f"term {raw!r} cannot be both exact (=) and prefix (*)")
    if not body:
        raise TermError("empty term")
    if any(marker in body for marker in _MARKERS):
        raise TermError(f"term {raw!r} can never match: '=' and '*' are only allowed at its ends")
    key = match_key(body)
    words = tokens(key)
    if not words:
        raise TermError(f"term {raw!r} can never match: it has no letters or digits")
    if words[0][0] != 0 or words[-1][1] != len(key):
        raise TermError(
            f"term {raw!r} can never match: words never start or end with "
            f"{key[: words[0][0]] or key[words[-1][1] :]!r}"
        )
    acronym = exact and _is_acronym(body)
    if acronym:
        last_mode = Mode.ACRONYM
    else:
        last_mode = Mode.EXACT if exact else Mode.PREFIX if prefix else Mode.INFLECT
    inner_mode = Mode.ACRONYM if acronym else Mode.EXACT
    variants = _variants(key, inner_mode, last_mode)
    # "e-scooter" is also written "escooter": join words that the term hyphenates.
    joined = _JOINED_HYPHEN.sub("", key)
    if joined != key:
        variants += _variants(joined, inner_mode, last_mode)
    word_list = [w for _, _, w in words]
    canonical = ("=" if exact else "") + " ".join(word_list) + ("*" if prefix else "")
    return TermSpec(source=raw, variants=tuple(variants), key=canonical)


_JOINED_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_Variant = tuple[tuple[WordPattern, ...], tuple[str | None, ...]]


def _variants(key: str, inner_mode: Mode, last_mode: Mode) -> list[_Variant]:
    """Word-pattern sequences (one per form of the last word) and the gaps between words."""
    words = tokens(key)
    gaps = tuple(
        None if _FLEX_GAP.fullmatch(key[end:start]) else key[end:start]
        for (_, end, _), (start, _, _) in pairwise(words)
    )
    inner = tuple(WordPattern(inner_mode, w) for _, _, w in words[:-1])
    return [
        ((*inner, last), gaps)
        for last in _last_word_patterns(words[-1][2], last_mode, len(words) > 1)
    ]


def _is_acronym(body: str) -> bool:
    letters = [c for c in body if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _last_word_patterns(word: str, mode: Mode, in_phrase: bool) -> list[WordPattern]:
    if mode is not Mode.INFLECT:
        return [WordPattern(mode, word)]
    out = [WordPattern(mode, word)]
    stems = [word]
    # Compound nouns carry a suffix in the dictionary form ("şarj istasyon-u",
    # "şarj nokta-sı"); inflected forms replace it ("istasyon-ları-na").
    if in_phrase and len(word) >= 5 and word[-1] in "iu" and "'" not in word:
        if word[-2] == "s" and word[-3] in _VOWELS:
            stems.append(word[:-2])
        elif word[-2] in _CONSONANTS:
            stems.append(word[:-1])
        for stem in stems[1:]:
            out.append(WordPattern(mode, stem))
    for stem in stems:
        # Final k/p soften before a vowel: teşvik → teşviği, kulüp → kulübü.
        if stem[-1] == "k":
            out.append(WordPattern(mode, stem[:-1] + "g", requires=_VOWELS))
        elif stem[-1] == "p":
            out.append(WordPattern(mode, stem[:-1] + "b", requires=_VOWELS))
        # English consonant + y: battery → batteries.
        if len(stem) > 2 and stem[-1] == "y" and stem[-2] in _CONSONANTS:
            out.append(WordPattern(mode, stem[:-1] + "i", requires="e"))
    return out
