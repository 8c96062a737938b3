"""Finding many terms in a text in one pass over its words.

Cleaned text has exactly one space between chunks, so the text is split on
spaces (a C-level split, several times faster than a tokenising regex) and
each distinct chunk - ``Togg'un``, ``(EV)``, ``e-scooter`` - is analysed once
and memoised: its words, and for each word the word patterns it satisfies
(a handful of dict look-ups: the word itself and each prefix that is a known
stem). A chunk with no interesting word costs one dict hit. Phrases are
followed only from a word that starts one. This measured an order of
magnitude faster than one big alternation regex, which Python's ``re`` tries
branch by branch at every position.

:meth:`CompiledMatcher.mask` is the fast path that classification uses: it
only answers *which* terms occur (a bitmask, bit n for term n), which is
all the rule logic needs. Its memo is keyed on the chunk as written
(capitals included), so the acronym test of a word is part of the memo and
only the text-wide "not an all-capitals headline" test is left per text; a
chunk that completes a term contributes a precomputed bitmask, and phrases
that run past the end of a chunk are followed from the positions of the
chunks that open them, one remembered step per next chunk. The
offsets that explanations quote come from :meth:`first_hits`, run lazily
and only when an explanation is asked for. Both must agree on the set of
terms (tests/rules/test_engine_equivalence.py checks it). A chunk in which
no stem occurs at a word start is rejected by one trie-shaped regex
(:func:`_prefix_regex`) before any per-word work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from typing import NamedTuple

from rules.terms import SUFFIX_STARTS, Mode, TermSpec, WordPattern, suffix_chain_starts
from rules.text import match_key, tokens

__all__ = ["CompiledMatcher", "TermHit", "lower_same_length", "mostly_lower"]

_CACHE_LIMIT = 200_000
# The memos are also bounded in what they hold: the characters of the chunks and
# next chunks they keep, so many long distinct chunks cannot fill the memory.
_MEMO_CHARS = 8_000_000
_FEW_OPENERS = 16  # more distinct phrase-opening chunks in a text: find them in one pass
_PAIR_LIMIT = 1_000  # remembered next chunks per phrase-opening chunk
_DASHES = frozenset(" -")


class TermHit(NamedTuple):
    """Term number ``term`` occurs at ``start:end`` (offsets into the cleaned text)."""

    term: int
    start: int
    end: int


# What first_hits() maps terms to: a plain (term, start, end) tuple, cheaper than a TermHit.
_TermHit = tuple[int, int, int]


@dataclass(frozen=True)
class _Phrase:
    term: int
    patterns: tuple[int, ...]
    gaps: tuple[str | None, ...]


# (start, end, key of the word, pattern ids) of one word inside a chunk.
_Word = tuple[int, int, str, tuple[int, ...]]


@dataclass(frozen=True, eq=False)
class _Chunk:
    key: str  # match key of the chunk
    words: tuple[_Word, ...]
    # Precomputed so that first_hits() does little per chunk: single-word hits as
    # (term, start, end, acronym length or 0), and words that begin a phrase as
    # (word index, start, phrases by second pattern, acronym length or 0).
    singles: tuple[tuple[int, int, int, int], ...] = ()
    starts: tuple[tuple[int, int, dict[int, list[_Phrase]], int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.singles or self.starts)


_GAP_ONLY = _Chunk("", ())


def lower_same_length(text: str) -> str:
    """Lower-case without changing length ("İ" would become two characters)."""
    if "İ" in text:
        text = text.replace("İ", "i")
    return text.lower()


class CompiledMatcher:
    """Matcher for a fixed list of terms: which occur (:meth:`mask`), where (:meth:`first_hits`)."""

    def __init__(self, terms: Sequence[TermSpec]) -> None:
        self._patterns: list[WordPattern] = []
        pattern_ids: dict[WordPattern, int] = {}
        self._exact: dict[str, list[int]] = {}
        self._stems: dict[str, list[int]] = {}
        # Single-word terms by pattern; phrases by first and then second pattern.
        self._singles: dict[int, list[int]] = {}
        self._by_second: dict[int, dict[int, list[_Phrase]]] = {}
        for number, spec in enumerate(terms):
            for words, gaps in spec.variants:
                ids = []
                for pattern in words:
                    pid = pattern_ids.get(pattern)
                    if pid is None:
                        pid = pattern_ids[pattern] = len(self._patterns)
                        self._patterns.append(pattern)
                        exact = pattern.mode in (Mode.EXACT, Mode.ACRONYM)
                        index = self._exact if exact else self._stems
                        index.setdefault(pattern.stem, []).append(pid)
                    ids.append(pid)
                if len(ids) == 1:
                    self._singles.setdefault(ids[0], []).append(number)
                else:
                    phrase = _Phrase(number, tuple(ids), gaps)
                    seconds = self._by_second.setdefault(ids[0], {})
                    seconds.setdefault(ids[1], []).append(phrase)
        self._acronyms = frozenset(
            pid for pid, p in enumerate(self._patterns) if p.mode is Mode.ACRONYM
        )
        lengths = [len(stem) for stem in self._stems] or [1]
        self._min_stem = min(lengths)
        self._max_stem = max(lengths)
        # Every pattern a word satisfies starts with one of these strings at the
        # start of the word: a chunk in which none occurs at a word start has
        # nothing to offer, and the regex (a trie, so ``re`` does not try each
        # stem in turn) says so in C.
        self._could = _prefix_regex((p.stem, p.mode) for p in self._patterns)
        self._chunks: dict[str, _Chunk | None] = {}
        self._starting: set[str] = set()  # chunks in which some term can start
        # Fast path (terms()): phrases numbered, indexed by first pattern and by
        # (pattern, position) for continuing into the next chunk.
        self._phrases: list[_Phrase] = []
        self._first: dict[int, list[int]] = {}
        for seconds in self._by_second.values():
            for group in seconds.values():
                for phrase in group:
                    self._first.setdefault(phrase.patterns[0], []).append(len(self._phrases))
                    self._phrases.append(phrase)
        self._stem_size = {pid: len(p.stem) for pid, p in enumerate(self._patterns)}
        self._words: dict[str, frozenset[int]] = {}
        self._infos: dict[str, _Info | None] = {}
        self._hot: set[_Info] = set()  # analyses with something in plain, acro or opens
        # What a one-word chunk contributes depends only on the word's patterns (and
        # which acronyms are in capitals): "elektrikli'nin", "elektrikli'1" … share it.
        self._lone: dict[tuple[frozenset[int], frozenset[int]], _Lone] = {}
        self._memo_chars = 0  # characters held by _infos, _words and the phrase steps
        self._chunk_chars = 0  # characters held by _chunks (explanations)

    def word_patterns(self, word: str) -> tuple[int, ...]:
        """Pattern ids that one word (in match-key form) satisfies."""
        base = word.partition("'")[0]
        result: list[int] = []
        result.extend(self._exact.get(base, ()))
        if base != word:
            result.extend(self._exact.get(word, ()))
        if base.endswith("s"):
            # Acronyms take the English plural without an apostrophe: "EVs".
            result.extend(p for p in self._exact.get(base[:-1], ()) if p in self._acronyms)
        # Where the rest of the word may start so that it is a suffix chain: worked
        # out once per word, in one pass from its end, when a stem first needs it.
        chains: set[int] | None = None
        end = len(base)
        for size in range(self._min_stem, min(end, self._max_stem) + 1):
            pids = self._stems.get(base[:size])
            if pids is None:
                continue
            follows = word[size] if size < len(word) else ""
            for pid in pids:
                pattern = self._patterns[pid]
                if pattern.requires and (not follows or follows not in pattern.requires):
                    continue
                if pattern.mode is not Mode.PREFIX and size < end:
                    if chains is None:
                        chains = suffix_chain_starts(base, size)
                    if size not in chains:
                        continue
                result.append(pid)
        return tuple(result)

    def terms(self, chunks: list[str], text: str) -> frozenset[int]:
        """The terms that occur in a cleaned text given as ``text.split()`` (see mask)."""
        found = self.mask(chunks, text)
        return frozenset(n for n in range(found.bit_length()) if found >> n & 1)

    def mask(self, chunks: list[str], text: str) -> int:
        """The terms that occur in a cleaned text given as ``text.split()``, as a bitmask.

        Bit ``n`` is set when term ``n`` occurs: the same terms as the keys
        of ``first_hits(" ".join(chunks))``. ``text`` is any
        string with the same letters as the cleaned text (it is only used for
        the all-capitals test of acronyms).
        """
        infos = self._infos
        if self._memo_chars > _MEMO_CHARS:
            self._forget()
        # One C-level look-up per chunk; _MISSING marks chunks never analysed.
        found_infos = list(map(infos.get, chunks, _MISSING_FOREVER))
        if _MISSING in found_infos:
            if len(infos) + len(chunks) > _CACHE_LIMIT:
                self._forget()
                found_infos = [_MISSING] * len(chunks)
            at = -1
            for _ in range(found_infos.count(_MISSING)):
                at = found_infos.index(_MISSING, at + 1)
                chunk = chunks[at]
                info = infos.get(chunk, _MISSING)  # a new chunk seen twice in this text
                found_infos[at] = self._analyse(chunk) if info is _MISSING else info
        hot = self._hot.intersection(found_infos)
        if not hot:
            return 0
        found = 0
        acro = 0
        opening: list[_Info] = []
        for info in hot:
            found |= info.plain
            if info.acro:
                acro |= info.acro
            if info.opens:
                opening.append(info)
        if len(opening) > _FEW_OPENERS:
            more, more_acro = self._open_many(chunks, found_infos, opening)
            found |= more
            acro |= more_acro
        elif opening:
            last = len(chunks) - 1
            for info in opening:
                chunk = info.chunk
                at = -1
                for _ in range(chunks.count(chunk)):
                    at = chunks.index(chunk, at + 1)
                    # Most phrase openers are followed by a word no phrase continues with.
                    if at == last or found_infos[at + 1] is None:
                        continue
                    step = info.pairs.get(chunks[at + 1])
                    if step is not None and step[2] is None:  # remembered, and nothing left open
                        found |= step[0]
                        acro |= step[1]
                    else:
                        more, more_acro = self._phrases_from(chunks, found_infos, at, info)
                        found |= more
                        acro |= more_acro
        if acro & ~found and mostly_lower(text):
            found |= acro
        return found

    def _open_many(
        self, chunks: list[str], found_infos: list[_Info | None], opening: list[_Info]
    ) -> tuple[int, int]:
        """Terms (plain, needing the acronym test) of the phrases that many openers open.

        mask() finds a few openers by C-level list searches, one per opener;
        with many (each inflection or apostrophe tail is a new chunk) that
        would be openers × chunks, so here one pass over the text finds them.
        """
        found = acro = 0
        wanted = set(opening)
        last = len(chunks) - 1
        for at, info in enumerate(found_infos):
            if info not in wanted or at == last or found_infos[at + 1] is None:
                continue
            assert info is not None
            step = info.pairs.get(chunks[at + 1])
            if step is not None and step[2] is None:
                found |= step[0]
                acro |= step[1]
            else:
                more, more_acro = self._phrases_from(chunks, found_infos, at, info)
                found |= more
                acro |= more_acro
        return found, acro

    def _forget(self) -> None:
        """Drop the chunk analyses and everything remembered with them."""
        self._infos.clear()
        self._hot.clear()
        self._words.clear()
        self._lone.clear()
        self._memo_chars = 0

    def _phrases_from(
        self, chunks: list[str], found_infos: list[_Info | None], at: int, opener: _Info
    ) -> tuple[int, int]:
        """Terms (plain, needing the acronym test) of the phrases opened by chunk ``at``.

        The phrases are followed chunk by chunk. Each step is decided by the
        open phrases and the next chunk alone, so it is remembered on the
        opener (and on what stays open after it).
        """
        found = acro = 0
        last = len(chunks) - 1
        state: _Opener | None = opener
        while state is not None and at < last:
            nxt = found_infos[at + 1]
            if nxt is None:
                break
            if nxt is _GAP_INFO:  # a lone dash: the step depends on what follows
                got: set[int] = set()
                got_acro: set[int] = set()
                self._carry(chunks, at + 1, state.trail, state.opens, got, got_acro)
                return found | _bits(got), acro | _bits(got_acro)
            after = chunks[at + 1]
            step = state.pairs.get(after)
            if step is None:
                step = self._remember_step(state, after, nxt)
            found |= step[0]
            acro |= step[1]
            state = step[2]
            at += 1
        return found, acro

    def _remember_step(self, state: _Opener, after: str, info: _Info) -> _Step:
        """Work out and remember what the phrases open in ``state`` do in the next chunk."""
        got: set[int] = set()
        got_acro: set[int] = set()
        more = self._step(info, state.trail, state.opens, got, got_acro)
        step = (_bits(got), _bits(got_acro), _Opener(more, info.trail) if more else None)
        if len(state.pairs) >= _PAIR_LIMIT:
            state.pairs.clear()
        state.pairs[after] = step
        self._memo_chars += len(after) + 1
        return step

    def _carry(
        self,
        chunks: list[str],
        at: int,
        gap: str,
        opens: dict[int, list[tuple[int, int, bool]]],
        found: set[int],
        acro: set[int],
    ) -> None:
        """Continue phrases that reached the end of chunk ``at - 1`` into the next chunks.

        The path without memos, for phrases that meet a lone dash chunk; terms
        that complete go into ``found`` or ``acro`` (see :meth:`_step`).
        """
        infos = self._infos
        count = len(chunks)
        while opens:
            info = infos[chunks[at]] if at < count else None
            dashes = 0
            while info is _GAP_INFO:
                dashes += 1
                at += 1
                info = infos[chunks[at]] if at < count else None
            if info is None:
                return
            gap += " -" * dashes
            opens = self._step(info, gap, opens, found, acro)
            gap = info.trail
            at += 1

    def _step(
        self,
        info: _Info,
        gap: str,
        opens: dict[int, list[tuple[int, int, bool]]],
        found: set[int],
        acro: set[int],
    ) -> dict[int, list[tuple[int, int, bool]]]:
        """Continue open phrases into the chunk ``info``, entered after ``gap``.

        ``opens`` maps the pattern the next word must satisfy to (phrase, step,
        needs the text-wide acronym test); terms that complete go into
        ``found`` or ``acro``. Returns the phrases still open at the end of
        the chunk, in the same form.
        """
        gap += " " + info.lead
        flexible = not gap.strip(" -")
        more: dict[int, list[tuple[int, int, bool]]] = {}
        for pid in info.words[0][2]:
            group = opens.get(pid)
            if group is None:
                continue
            for phrase, step, need in group:
                spec = self._phrases[phrase]
                if spec.term in found:
                    continue
                wanted = spec.gaps[step - 1]
                if not flexible if wanted is None else gap != wanted:
                    continue
                state = info.cont.get((phrase, step), _UNKNOWN)
                if state is _UNKNOWN:
                    state = info.cont[(phrase, step)] = self._walk(
                        info.chunk, info.key, info.words, 0, phrase, step, -1, False
                    )
                if state is None:
                    continue
                next_step, needs = state
                if next_step == 0:
                    (acro if need or needs else found).add(spec.term)
                else:
                    more.setdefault(spec.patterns[next_step], []).append(
                        (phrase, next_step, need or needs)
                    )
        return more

    def _walk(
        self,
        chunk: str,
        key: str,
        words: tuple[tuple[int, int, frozenset[int]], ...],
        wi: int,
        phrase: int,
        step: int,
        prev_end: int,
        acro: bool,
    ) -> tuple[int, bool] | None:
        """Match ``phrase`` from pattern ``step`` at word ``wi`` inside one chunk.

        None when it fails; (0, acro) when it completes; (next step, acro)
        when it reaches the end of the chunk. ``prev_end``
        -1 means word ``wi`` is entered from the previous chunk (gap checked
        by the caller).
        """
        spec = self._phrases[phrase]
        patterns = spec.patterns
        while step < len(patterns):
            if wi >= len(words):
                return step, acro
            start, end, pids = words[wi]
            if prev_end >= 0:
                gap = key[prev_end:start]
                wanted = spec.gaps[step - 1]
                if wanted is None:
                    if not gap or not set(gap) <= _DASHES:
                        return None
                elif gap != wanted:
                    return None
            pid = patterns[step]
            if pid not in pids:
                return None
            if pid in self._acronyms:
                if not chunk[start : start + self._stem_size[pid]].isupper():
                    return None
                acro = True
            prev_end = end
            wi += 1
            step += 1
        return 0, acro

    def _word_pids(self, word: str) -> frozenset[int]:
        pids = self._words.get(word)
        if pids is None:
            pids = self._words[word] = frozenset(self.word_patterns(word))
        return pids

    def _analyse(self, chunk: str) -> _Info | None:
        """Work out and memoise what chunk (as written) contributes to terms()."""
        info = self._analysis(chunk)
        self._infos[chunk] = info
        self._memo_chars += len(chunk) + 1
        if info is not None and (info.plain or info.acro or info.opens):
            self._hot.add(info)
        return info

    def _analysis(self, chunk: str) -> _Info | None:
        """What chunk contributes: None when nothing, _GAP_INFO when it is only dashes."""
        key = match_key(chunk)
        if self._could(key) is None:
            return _GAP_INFO if key and not key.strip(" -") else None
        words: tuple[tuple[int, int, frozenset[int]], ...]
        if key.isalnum():
            pids = self._word_pids(key)
            words = ((0, len(key), pids),) if pids else ()
            if not words:
                return None
        else:
            words = tuple((s, e, self._word_pids(w)) for s, e, w in tokens(key))
            if not words:
                return _GAP_INFO if key and not key.strip(" -") else None
            if not any(pids for *_, pids in words):
                return None
        if len(words) == 1:
            return self._lone_word(chunk, key, words)
        plain: set[int] = set()
        acro: set[int] = set()
        opens: dict[int, list[tuple[int, int, bool]]] = {}
        for wi, (start, end, pids) in enumerate(words):
            for pid in pids:
                is_acro = pid in self._acronyms
                if is_acro and not chunk[start : start + self._stem_size[pid]].isupper():
                    continue
                for term in self._singles.get(pid, ()):
                    (acro if is_acro else plain).add(term)
                for phrase in self._first.get(pid, ()):
                    state = self._walk(chunk, key, words, wi + 1, phrase, 1, end, is_acro)
                    if state is None:
                        continue
                    step, need = state
                    spec = self._phrases[phrase]
                    if step == 0:
                        (acro if need else plain).add(spec.term)
                    else:
                        opens.setdefault(spec.patterns[step], []).append((phrase, step, need))
        return _Info(chunk, key, words, _bits(plain), _bits(acro - plain), opens)

    def _lone_word(
        self, chunk: str, key: str, words: tuple[tuple[int, int, frozenset[int]], ...]
    ) -> _Info:
        """The analysis of a chunk of one word, from the memo of its patterns when it can."""
        start, _, pids = words[0]
        capitals = (
            _NONE
            if self._acronyms.isdisjoint(pids)
            else frozenset(
                pid
                for pid in pids
                if pid in self._acronyms and chunk[start : start + self._stem_size[pid]].isupper()
            )
        )
        lone = self._lone.get((pids, capitals))
        if lone is None:
            plain: set[int] = set()
            acro: set[int] = set()
            opens: dict[int, list[tuple[int, int, bool]]] = {}
            for pid in pids:
                is_acro = pid in self._acronyms
                if is_acro and pid not in capitals:
                    continue
                for term in self._singles.get(pid, ()):
                    (acro if is_acro else plain).add(term)
                for phrase in self._first.get(pid, ()):
                    # The chunk ends here: every phrase it opens stays open at step 1.
                    spec = self._phrases[phrase]
                    opens.setdefault(spec.patterns[1], []).append((phrase, 1, is_acro))
            lone = self._lone[(pids, capitals)] = (_bits(plain), _bits(acro - plain), opens)
        plain_bits, acro_bits, opens = lone
        return _Info(chunk, key, words, plain_bits, acro_bits, opens)

    def _chunk(self, chunk: str) -> _Chunk | None:
        key = match_key(chunk)
        if self._could(key) is None:
            return _GAP_ONLY if key and not key.strip(" -") else None
        words = tuple((s, e, w, self.word_patterns(w)) for s, e, w in tokens(key))
        if not words:
            return _GAP_ONLY if key and not key.strip(" -") else None
        if not any(pids for *_, pids in words):
            return None
        singles: list[tuple[int, int, int, int]] = []
        starts: list[tuple[int, int, dict[int, list[_Phrase]], int]] = []
        for wi, (start, end, _, pids) in enumerate(words):
            for pid in pids:
                acronym = len(self._patterns[pid].stem) if pid in self._acronyms else 0
                singles.extend((term, start, end, acronym) for term in self._singles.get(pid, ()))
                seconds = self._by_second.get(pid)
                if seconds is not None:
                    starts.append((wi, start, seconds, acronym))
        return _Chunk(key, words, tuple(singles), tuple(starts))

    def first_hits(self, text: str, chunks: list[str] | None = None) -> dict[int, _TermHit]:
        """The first occurrence of each term in ``text`` (cleaned, see clean_text).

        Maps term -> (term, start, end), offsets into ``text``; "first" in the
        order of the words where the hits start, single-word terms of a chunk
        before the phrases starting in it. ``chunks`` is ``text.split(" ")``
        when the caller already has it. The chunk analysis does not depend on
        case (the key is folded), so chunks are cached as written; capitals
        are checked against ``text``. A chunk that occurs again can only
        repeat its single-word hits, so only its phrases are followed.
        """
        if chunks is None:
            chunks = text.split(" ")
        distinct = set(chunks)
        # Set operations run in C: only chunks never seen before cost Python work.
        new = distinct.difference(self._chunks)
        if new:
            # Make room before, not while, adding: this text's chunks must all stay.
            size = sum(map(len, new)) + len(new)
            if (
                len(self._chunks) + len(new) > _CACHE_LIMIT
                or self._chunk_chars + size > _MEMO_CHARS
            ):
                self._chunks.clear()
                self._starting.clear()
                self._chunk_chars = 0
                new = distinct
                size = sum(map(len, new)) + len(new)
            self._chunk_chars += size
            for chunk in new:
                self._remember(chunk)
        starting = distinct & self._starting
        first: dict[int, _TermHit] = {}
        if not starting:
            return first
        wanted = [ci for ci, chunk in enumerate(chunks) if chunk in starting]
        # offsets[ci]: where chunk ci starts in the text (chunks are one space apart).
        offsets = list(accumulate(map((1).__add__, map(len, chunks)), initial=0))
        found = list(map(self._chunks.__getitem__, chunks))
        caps = _Caps(text)
        done: set[str] = set()
        for ci in wanted:
            info = found[ci]
            assert info is not None
            base = offsets[ci]
            chunk = chunks[ci]
            if chunk not in done:
                done.add(chunk)
                for term, start, end, acronym in info.singles:
                    if term in first or (acronym and not caps.at(base + start, acronym)):
                        continue
                    first[term] = (term, base + start, base + end)
            for wi, start, seconds, acronym in info.starts:
                if acronym and not caps.at(base + start, acronym):
                    continue
                nxt = _next_word(found, ci, wi)
                if nxt is None:
                    continue
                nci, nwi, gap = nxt
                next_info = found[nci]
                assert next_info is not None
                for pid2 in next_info.words[nwi][3]:
                    for phrase in seconds.get(pid2, ()):
                        if phrase.term in first:
                            continue
                        span = self._follow(phrase, found, nci, nwi, gap, offsets, caps)
                        if span is not None:
                            first[phrase.term] = (phrase.term, base + start, span)
        return first

    def _remember(self, chunk: str) -> None:
        info = self._chunks[chunk] = self._chunk(chunk)
        if info:
            self._starting.add(chunk)

    def _follow(
        self,
        phrase: _Phrase,
        found: list[_Chunk | None],
        ci: int,
        wi: int,
        gap: str,
        offsets: list[int],
        caps: _Caps,
    ) -> int | None:
        """End offset of ``phrase`` whose second word is word ``wi`` of chunk ``ci``."""
        count = len(phrase.patterns)
        for step in range(1, count):
            if step > 1:
                nxt = _next_word(found, ci, wi)
                if nxt is None:
                    return None
                ci, wi, gap = nxt
            info = found[ci]
            assert info is not None
            start, _, _, pids = info.words[wi]
            pid = phrase.patterns[step]
            if pid not in pids:
                return None
            wanted = phrase.gaps[step - 1]
            if wanted is None:
                if not gap or not set(gap) <= _DASHES:
                    return None
            elif gap != wanted:
                return None
            if pid in self._acronyms and not caps.at(
                offsets[ci] + start, len(self._patterns[pid].stem)
            ):
                return None
        info = found[ci]
        assert info is not None
        return offsets[ci] + info.words[wi][1]


class _Opener:
    """Phrases open at the end of a chunk, and what they do in the chunks that follow."""

    __slots__ = ("opens", "pairs", "trail")

    def __init__(self, opens: dict[int, list[tuple[int, int, bool]]], trail: str) -> None:
        # Next word's pattern -> (phrase, step, acronym test) of the phrases still open.
        self.opens = opens
        self.trail = trail  # what follows the chunk's last word (part of the next gap)
        # Next chunk -> (terms completed there, those needing the acronym test, what
        # stays open after it): a step depends only on these phrases and that chunk.
        self.pairs: dict[str, _Step] = {}


_Step = tuple[int, int, _Opener | None]
# (terms complete, terms needing the acronym test, phrases open) of a one-word chunk.
_Lone = tuple[int, int, dict[int, list[tuple[int, int, bool]]]]


class _Info(_Opener):
    """What one chunk, as written, contributes to terms()."""

    __slots__ = ("acro", "chunk", "cont", "key", "lead", "plain", "words")

    def __init__(
        self,
        chunk: str,
        key: str,
        words: tuple[tuple[int, int, frozenset[int]], ...],
        plain: int,
        acro: int,
        opens: dict[int, list[tuple[int, int, bool]]],
    ) -> None:
        super().__init__(opens, key[words[-1][1] :] if words else "")
        self.chunk = chunk
        self.key = key
        self.words = words
        self.lead = key[: words[0][0]] if words else ""
        self.plain = plain  # terms complete inside the chunk (bitmask)
        self.acro = acro  # … that also need the text-wide acronym test (bitmask)
        # (phrase, step) -> _walk result when a phrase continues into this chunk.
        self.cont: dict[tuple[int, int], tuple[int, bool] | None] = {}


_NONE: frozenset[int] = frozenset()
_GAP_INFO = _Info("", "", (), 0, 0, {})
_MISSING = _Info("", "", (), 0, 0, {})  # what mask() gets for a chunk not analysed yet
# The default argument of each infos.get() in mask(). One endless iterator shared by
# every call: map() takes only as many items as there are chunks, and building a
# new repeat() each time cost about a tenth of a short text's look-ups.
_MISSING_FOREVER = repeat(_MISSING)


def _bits(terms: set[int]) -> int:
    """The bitmask of a set of term numbers."""
    mask = 0
    for term in terms:
        mask |= 1 << term
    return mask


_UNKNOWN: tuple[int, bool] = (-1, False)


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
        return re.compile(r"(?!)").search

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
    """True when fewer than half the letters of ``text`` are capitals (see _Caps.at)."""
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


def _next_word(found: list[_Chunk | None], ci: int, wi: int) -> tuple[int, int, str] | None:
    """(chunk, word, gap) of the word after word ``wi`` of chunk ``ci``, if any."""
    info = found[ci]
    assert info is not None
    end = info.words[wi][1]
    if wi + 1 < len(info.words):
        return ci, wi + 1, info.key[end : info.words[wi + 1][0]]
    parts = [info.key[end:]]
    ci += 1
    while ci < len(found) and found[ci] is _GAP_ONLY:
        parts.append(" -")
        ci += 1
    if ci >= len(found):
        return None
    nxt = found[ci]
    if nxt is None:
        return None
    parts.append(" " + nxt.key[: nxt.words[0][0]])
    return ci, 0, "".join(parts)


class _Caps:
    """The acronym test of one text; the all-capitals count is made once, if needed."""

    __slots__ = ("_mostly", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._mostly: bool | None = None

    def at(self, start: int, size: int) -> bool:
        """True when text[start:start+size] is in capitals and the text is not all capitals."""
        if not self.text[start : start + size].isupper():
            return False
        if self._mostly is None:
            # In an all-caps headline "EV" may just be "ev" (home): do not trust it.
            self._mostly = mostly_lower(self.text)
        return self._mostly
