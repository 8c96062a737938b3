"""Finding many terms in a text in one pass over its words.

Cleaned text has exactly one space between chunks, so the text is split on
spaces (a C-level split, several times faster than a tokenising regex) and
each distinct chunk - ``Togg'un``, ``(EV)``, ``e-scooter`` - is analysed once
and memoised as a :class:`~rules.scan.ChunkInfo`: which terms are complete
inside it (bitmasks, so the rule logic is integer arithmetic), where each
first occurs in it, and which phrases it leaves open. The memo is keyed on
the chunk as written (capitals included), so the acronym test of a word is
part of the memo and only the text-wide "not an all-capitals headline" test
is left per text. A chunk with no interesting word costs one dict hit; a
chunk in which no stem occurs at a word start is rejected by one trie-shaped
regex (rules/patterns.py) before any per-word work. This measured an order
of magnitude faster than one big alternation regex, which Python's ``re``
tries branch by branch at every position.

Phrases that run past the end of a chunk are followed from the positions of
the chunks that open them, one remembered step per next chunk; a step also
records the quote (where it starts and ends, its words) of each phrase it
completes. :meth:`CompiledMatcher.scan` returns what the pass saw (a
:class:`~rules.scan.Scan`), from which explanations read their quotes
without a second pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress

from rules.patterns import WordIndex, mostly_lower
from rules.scan import (
    NO_SCAN,
    ChunkInfo,
    Continued,
    Opener,
    Opens,
    Quote,
    Scan,
    Span,
    Step,
    Word,
    first_places,
    quote_phrase,
)
from rules.terms import TermSpec
from rules.text import match_key, tokens

__all__ = ["CompiledMatcher", "mostly_lower"]

_CACHE_LIMIT = 200_000
# The memos are also bounded in what they hold: the characters of the chunks and
# next chunks they keep, so many long distinct chunks cannot fill the memory.
_MEMO_CHARS = 8_000_000
_PAIR_LIMIT = 1_000  # remembered next chunks per phrase-opening chunk
_DASHES = frozenset(" -")


class _ChunkMemo(dict[str, ChunkInfo | None]):
    """Chunk as written -> its analysis; a chunk not seen yet is analysed on look-up.

    So a text's chunks are looked up in one C-level pass, and only new ones
    cost a Python call: no second pass to find them.
    """

    __slots__ = ("_analyse",)

    def __init__(self, analyse: Callable[[str], ChunkInfo | None]) -> None:
        super().__init__()
        self._analyse = analyse  # stores what it works out in this memo

    def __missing__(self, chunk: str) -> ChunkInfo | None:
        return self._analyse(chunk)


@dataclass(frozen=True)
class _Phrase:
    term: int
    patterns: tuple[int, ...]
    gaps: tuple[str | None, ...]


class CompiledMatcher:
    """Matcher for a fixed list of terms: which occur and where (:meth:`scan`)."""

    def __init__(self, terms: Sequence[TermSpec]) -> None:
        index = self._index = WordIndex()
        self.sources = tuple(spec.source for spec in terms)  # each term as written
        # Single-word terms by pattern; phrases numbered, and by first pattern.
        self._singles: dict[int, list[int]] = {}
        self._phrases: list[_Phrase] = []
        self._first: dict[int, list[int]] = {}
        for number, spec in enumerate(terms):
            for words, gaps in spec.variants:
                ids = [index.add(pattern) for pattern in words]
                if len(ids) == 1:
                    self._singles.setdefault(ids[0], []).append(number)
                else:
                    self._first.setdefault(ids[0], []).append(len(self._phrases))
                    self._phrases.append(_Phrase(number, tuple(ids), gaps))
        index.seal()
        self._acronyms = index.acronyms
        self._could = index.could
        self._stem_size = {pid: len(p.stem) for pid, p in enumerate(index.patterns)}
        self._words: dict[str, frozenset[int]] = {}
        self._infos = _ChunkMemo(self._analyse)
        self._hot: set[ChunkInfo] = set()  # analyses with something in plain, acro or opens
        # What a one-word chunk contributes depends only on the word's patterns (and
        # which acronyms are in capitals): "elektrikli'nin", "elektrikli'1" … share it.
        self._lone: dict[tuple[frozenset[int], frozenset[int]], _Lone] = {}
        self._memo_chars = 0  # characters held by _infos, _words and the phrase steps

    def word_patterns(self, word: str) -> tuple[int, ...]:
        """Pattern ids that one word (in match-key form) satisfies."""
        return self._index.word_patterns(word)

    def terms(self, chunks: list[str], text: str) -> frozenset[int]:
        """The terms that occur in a cleaned text given as ``text.split()`` (see mask)."""
        found = self.mask(chunks, text)
        return frozenset(n for n in range(found.bit_length()) if found >> n & 1)

    def mask(self, chunks: list[str], text: str) -> int:
        """The terms that occur in a cleaned text given as ``text.split()``, as a bitmask.

        Bit ``n`` is set when term ``n`` occurs. ``text`` is any string with
        the same letters as the cleaned text (it is only used for the
        all-capitals test of acronyms).
        """
        return self.scan(chunks, text)[0]

    def first_hits(
        self, text: str, chunks: list[str] | None = None
    ) -> dict[int, tuple[int, int, int]]:
        """The first occurrence of each term in ``text`` (cleaned, see clean_text).

        Maps term -> (term, start, end), offsets into ``text``; ``chunks`` is
        ``text.split(" ")`` when the caller already has it. See rules.scan.first_places.
        """
        if chunks is None:
            chunks = text.split(" ")
        starts = [0, *accumulate(len(chunk) + 1 for chunk in chunks)]
        found: dict[int, tuple[int, int, int]] = {}
        places = first_places(self.scan(chunks, text), self.sources)
        for term, (at, (start, neg_end, *_), _) in places.items():
            end = starts[at + (-neg_end >> 32)] + (-neg_end & _OFFSET)
            found[term] = (term, starts[at] + start, end)
        return found

    def scan(self, chunks: list[str], text: str) -> Scan:
        """One pass over a cleaned text given as ``text.split()``: what occurs, and where.

        ``text`` is any string with the same letters as the cleaned text
        (it is only used for the all-capitals test of acronyms). The chunks
        with something in them are visited in text order, so the scan also
        says where they are (see rules.scan.Scan).
        """
        infos = self._infos
        # Room for every chunk of the text first: the analyses it finds stay valid.
        if self._memo_chars > _MEMO_CHARS or len(infos) + len(chunks) > _CACHE_LIMIT:
            self._forget()
        # One C-level look-up per chunk; the memo analyses a chunk it has not seen.
        found_infos = list(map(infos.__getitem__, chunks))
        # Where the chunks with a term or a phrase opener are, in text order (in C).
        hot = list(compress(range(len(found_infos)), map(self._hot.__contains__, found_infos)))
        if not hot:
            return NO_SCAN
        found = 0
        acro = 0
        crossings: list[tuple[int, tuple[Quote, ...]]] = []
        last = len(chunks) - 1
        for at in hot:
            info: ChunkInfo = found_infos[at]  # type: ignore[assignment]  # hot chunks have one
            found |= info.plain
            if info.acro:
                acro |= info.acro
            # Most phrase openers are followed by a word no phrase continues with.
            if not info.opens or at == last or found_infos[at + 1] is None:
                continue
            step = info.pairs.get(chunks[at + 1])
            if step is not None and step[2] is None:  # remembered, and nothing left open
                found |= step[0]
                acro |= step[1]
                if step[3]:
                    crossings.append((at, step[3]))
            else:
                more, more_acro = self._phrases_from(chunks, found_infos, at, info, crossings)
                found |= more
                acro |= more_acro
        dropped = acro & ~found
        if dropped and mostly_lower(text):
            found |= acro
            dropped = 0
        return (found, found_infos, hot, crossings, dropped)

    def _forget(self) -> None:
        """Drop the chunk analyses and everything remembered with them."""
        self._infos.clear()
        self._hot.clear()
        self._words.clear()
        self._lone.clear()
        self._memo_chars = 0

    def _phrases_from(
        self,
        chunks: list[str],
        found_infos: list[ChunkInfo | None],
        at: int,
        opener: ChunkInfo,
        crossings: list[tuple[int, tuple[Quote, ...]]],
    ) -> tuple[int, int]:
        """Terms (plain, needing the acronym test) of the phrases opened by chunk ``at``.

        The phrases are followed chunk by chunk. Each step is decided by the
        open phrases and the next chunk alone, so it is remembered on the
        opener (and on what stays open after it). The quotes of the phrases
        that complete go into ``crossings``, with ``at``: they start there.
        """
        found = acro = 0
        head = at
        last = len(chunks) - 1
        state: Opener | None = opener
        while state is not None and at < last:
            nxt = found_infos[at + 1]
            if nxt is None:
                break
            if nxt is _GAP_INFO:  # a lone dash: the step depends on what follows
                got: set[int] = set()
                got_acro: set[int] = set()
                self._carry(chunks, found_infos, head, at + 1, state, got, got_acro, crossings)
                return found | _bits(got), acro | _bits(got_acro)
            after = chunks[at + 1]
            step = state.pairs.get(after)
            if step is None:
                step = self._remember_step(state, after, nxt)
            found |= step[0]
            acro |= step[1]
            if step[3]:
                crossings.append((head, step[3]))
            state = step[2]
            at += 1
        return found, acro

    def _remember_step(self, state: Opener, after: str, info: ChunkInfo) -> Step:
        """Work out and remember what the phrases open in ``state`` do in the next chunk."""
        got: set[int] = set()
        got_acro: set[int] = set()
        done: list[_Done] = []
        more = self._step(info, state.trail, state.opens, got, got_acro, done)
        middle: tuple[ChunkInfo, ...] = ()
        between = ""
        if isinstance(state, Continued):
            head, middle, between = state.head, state.middle, state.between
        else:
            assert isinstance(state, ChunkInfo)  # the chunk where the phrases start
            head = state
        quoted = self._quotes(done, head, middle, between, info) if done else ()
        after_opener = None
        chars = len(after) + 1 + sum(len(quote[3].text) for quote in quoted)
        if more:
            between = f"{between}{after} "
            after_opener = Continued(more, info.trail, head, (*middle, info), between)
            chars += len(between)
        step = (_bits(got), _bits(got_acro), after_opener, quoted)
        if len(state.pairs) >= _PAIR_LIMIT:
            state.pairs.clear()
        state.pairs[after] = step
        self._memo_chars += chars
        return step

    def _carry(
        self,
        chunks: list[str],
        found_infos: list[ChunkInfo | None],
        head: int,
        at: int,
        state: Opener,
        found: set[int],
        acro: set[int],
        crossings: list[tuple[int, tuple[Quote, ...]]],
    ) -> None:
        """Continue the phrases open in ``state`` (from chunk ``head``) from chunk ``at`` on.

        The path without memos, for phrases that meet a lone dash chunk; terms
        that complete go into ``found`` or ``acro`` (see :meth:`_step`).
        """
        first = found_infos[head]
        assert first is not None
        count = len(chunks)
        gap = state.trail
        opens = state.opens
        while opens:
            info = found_infos[at] if at < count else None
            dashes = 0
            while info is _GAP_INFO:
                dashes += 1
                at += 1
                info = found_infos[at] if at < count else None
            if info is None:
                return
            gap += " -" * dashes
            done: list[_Done] = []
            opens = self._step(info, gap, opens, found, acro, done)
            if done:
                # Only chunks of words or dashes lie between: a phrase runs through them.
                middle = [passed for passed in found_infos[head + 1 : at] if passed is not None]
                between = "".join(f"{chunk} " for chunk in chunks[head + 1 : at])
                quoted = self._quotes(done, first, middle, between, info)
                if quoted:
                    crossings.append((head, quoted))
            gap = info.trail
            at += 1

    def _quotes(
        self,
        done: list[_Done],
        head: ChunkInfo,
        middle: Sequence[ChunkInfo],
        between: str,
        last: ChunkInfo,
    ) -> tuple[Quote, ...]:
        """The quotes of the phrases ``done`` in ``last``, from ``head`` through ``middle``."""
        sources = self.sources
        quotes = (
            quote_phrase(term, sources[term], head, middle, between, last, index, before)
            for term, index, before in done
        )
        return tuple(quote for quote in quotes if quote is not None)

    def _step(
        self,
        info: ChunkInfo,
        gap: str,
        opens: Opens,
        found: set[int],
        acro: set[int],
        done: list[_Done],
    ) -> Opens:
        """Continue open phrases into the chunk ``info``, entered after ``gap``.

        ``opens`` maps the pattern the next word must satisfy to (phrase, step,
        needs the text-wide acronym test); terms that complete go into
        ``found`` or ``acro``, and where they end into ``done``. Returns the
        phrases still open at the end of the chunk, in the same form.
        """
        gap += " " + info.lead
        flexible = not gap.strip(" -")
        more: Opens = {}
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
                    # It ends at word count - step - 1; its first ``step`` words came before.
                    done.append((spec.term, len(spec.patterns) - step - 1, step))
                else:
                    more.setdefault(spec.patterns[next_step], []).append(
                        (phrase, next_step, need or needs)
                    )
        return more

    def _walk(
        self,
        chunk: str,
        key: str,
        words: tuple[Word, ...],
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
            pids = self._words[word] = frozenset(self._index.word_patterns(word))
        return pids

    def _analyse(self, chunk: str) -> ChunkInfo | None:
        """Work out and memoise what chunk (as written) contributes to a scan.

        None when nothing, _GAP_INFO when it is only dashes.
        """
        self._memo_chars += len(chunk) + 1
        key = match_key(chunk)
        if self._could(key) is None:  # most new chunks: no stem starts a word in them
            info = self._infos[chunk] = _GAP_INFO if key and not key.strip(" -") else None
            return info
        info = self._infos[chunk] = self._analysis(chunk, key)
        if info is not None and (info.plain or info.acro or info.opens):
            self._hot.add(info)
        return info

    def _analysis(self, chunk: str, key: str) -> ChunkInfo | None:
        """What chunk, whose match key is ``key``, contributes (see _analyse)."""
        words: tuple[Word, ...]
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
        opens: Opens = {}
        # Where each term first occurs: single words first, then phrases by their start.
        spans: dict[int, Span] = {}
        phrases: list[tuple[int, int, int]] = []
        for wi, (start, end, pids) in enumerate(words):
            for pid in pids:
                is_acro = pid in self._acronyms
                if is_acro and not chunk[start : start + self._stem_size[pid]].isupper():
                    continue
                for term in self._singles.get(pid, ()):
                    (acro if is_acro else plain).add(term)
                    spans.setdefault(term, (start, end))
                for phrase in self._first.get(pid, ()):
                    state = self._walk(chunk, key, words, wi + 1, phrase, 1, end, is_acro)
                    if state is None:
                        continue
                    step, need = state
                    spec = self._phrases[phrase]
                    if step == 0:
                        (acro if need else plain).add(spec.term)
                        phrases.append((spec.term, start, words[wi + len(spec.patterns) - 1][1]))
                    else:
                        opens.setdefault(spec.patterns[step], []).append((phrase, step, need))
        singles = frozenset(spans)
        for term, start, end in phrases:
            spans.setdefault(term, (start, end))
        return ChunkInfo(
            chunk, key, words, _bits(plain), _bits(acro - plain), opens, singles, spans
        )

    def _lone_word(self, chunk: str, key: str, words: tuple[Word, ...]) -> ChunkInfo:
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
            opens: Opens = {}
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
            lone = (_bits(plain), _bits(acro - plain), opens, frozenset(plain | acro))
            self._lone[(pids, capitals)] = lone
        return ChunkInfo(chunk, key, words, *lone)


# (terms complete, terms needing the acronym test, phrases open, all its terms) of one word.
_Lone = tuple[int, int, Opens, frozenset[int]]
_NONE: frozenset[int] = frozenset()
_GAP_INFO = ChunkInfo("", "", (), 0, 0, {})
_UNKNOWN: tuple[int, bool] = (-1, False)
# A phrase that _step() completes: (term, index of its last word in the chunk, how
# many of its words lie in the chunks before).
_Done = tuple[int, int, int]
_OFFSET = (1 << 32) - 1  # the offset in the chunk where a quote ends (see rules.scan.Quote)


def _bits(terms: set[int]) -> int:
    """The bitmask of a set of term numbers."""
    mask = 0
    for term in terms:
        mask |= 1 << term
    return mask
