"""What the matcher remembers about a chunk, and what one pass over a text records.

The matcher (rules/matcher.py) reads a text once, chunk by chunk (a chunk is
what lies between two spaces of the cleaned text). It memoises per chunk, as
written, a :class:`ChunkInfo`: the terms complete inside the chunk as
bitmasks for the rule logic, and *where* inside the chunk each one first
occurs for explanations; phrases that run on past the chunk's end are
followed with remembered :data:`Step`\\ s, which also say where in the next
chunk each phrase ends.

One pass over a text gives a :class:`Scan`: the terms found (a bitmask), the
chunk analyses in text order and the phrases completed across chunks.
:meth:`Scan.spans` turns that record into character offsets (the first
occurrence of each term) without reading the text again: that is all an
explanation needs.
"""

from __future__ import annotations

from itertools import accumulate

__all__ = ["ChunkInfo", "Completion", "Opener", "Scan", "Step"]

# A phrase completed in a chunk after the one it started in: (term, index of its
# last word in that chunk, number of words in the phrase).
Completion = tuple[int, int, int]
# Open phrases: the pattern the next word must satisfy -> (phrase, step, needs the
# text-wide acronym test) for each phrase waiting for it.
Opens = dict[int, list[tuple[int, int, bool]]]
# (start, end, pattern ids) of one word inside a chunk.
Word = tuple[int, int, frozenset[int]]
# In-chunk first occurrence of a term: (0 single word / 1 phrase, start, end).
InChunk = tuple[int, int, int]


class Opener:
    """Phrases open at the end of a chunk, and what they do in the chunks that follow."""

    __slots__ = ("opens", "pairs", "trail")

    def __init__(self, opens: Opens, trail: str) -> None:
        self.opens = opens
        self.trail = trail  # what follows the chunk's last word (part of the next gap)
        # Next chunk -> what these phrases do there: a step depends only on these
        # phrases and that chunk, so it is remembered here.
        self.pairs: dict[str, Step] = {}


# What open phrases do in one next chunk: (terms complete, terms needing the
# acronym test, phrases still open after it, where the completed ones end).
Step = tuple[int, int, "Opener | None", tuple[Completion, ...]]


class ChunkInfo(Opener):
    """What one chunk, as written, contributes to a scan."""

    __slots__ = ("acro", "chunk", "cont", "key", "lead", "plain", "spans", "terms", "words")

    def __init__(
        self,
        chunk: str,
        key: str,
        words: tuple[Word, ...],
        plain: int,
        acro: int,
        opens: Opens,
        spans: dict[int, InChunk] | None = None,
        terms: tuple[int, ...] = (),
    ) -> None:
        super().__init__(opens, key[words[-1][1] :] if words else "")
        self.chunk = chunk
        self.key = key
        self.words = words
        self.lead = key[: words[0][0]] if words else ""
        self.plain = plain  # terms complete inside the chunk (bitmask)
        self.acro = acro  # … that also need the text-wide acronym test (bitmask)
        # Term -> first occurrence inside the chunk, single words before phrases as
        # the explanations order them; None for a one-word chunk until asked for.
        self.spans = spans
        self.terms = terms  # a one-word chunk's terms, from which spans is made
        # (phrase, step) -> walk result when a phrase continues into this chunk.
        self.cont: dict[tuple[int, int], tuple[int, bool] | None] = {}

    def in_chunk(self) -> dict[int, InChunk]:
        """Each term complete inside the chunk -> (kind, start, end) of its first occurrence."""
        spans = self.spans
        if spans is None:  # one word: every term is that word
            start, end, _ = self.words[0]
            spans = self.spans = dict.fromkeys(self.terms, (0, start, end))
        return spans


_FEW_HOT = 16  # more distinct chunks with terms: find where each first occurs in one pass


class Scan:
    """One pass of the matcher over a text: which terms occur, and what says where."""

    __slots__ = ("chunks", "crossings", "hot", "infos", "terms")

    def __init__(
        self,
        chunks: list[str],
        infos: list[ChunkInfo | None],
        hot: set[ChunkInfo],
        crossings: list[tuple[int, tuple[Completion, ...]]],
        terms: int,
    ) -> None:
        self.chunks = chunks
        self.infos = infos  # the analysis of each chunk, in text order
        self.hot = hot  # the distinct analyses that hold a term or open a phrase
        # (chunk index, phrases that completed there having started in an earlier chunk)
        self.crossings = crossings
        self.terms = terms  # bit n set: term n occurs

    def spans(self) -> dict[int, tuple[int, int]]:
        """Term -> (start, end) of its first occurrence in ``" ".join(chunks)``.

        For every term of :attr:`terms`. "First" is by the chunk where the
        occurrence starts; inside a chunk a single-word term comes before a
        phrase, then phrases by where they start.
        """
        terms = self.terms
        if not terms:
            return {}
        infos = self.infos
        hot = self.hot
        if len(hot) > _FEW_HOT:
            # One pass in C: later positions are overwritten by earlier ones.
            count = len(infos)
            where = dict(zip(reversed(infos), range(count - 1, -1, -1), strict=True))
            order = sorted(where[info] for info in hot)
        else:
            order = sorted(map(infos.index, hot))
        offsets = list(accumulate(map((1).__add__, map(len, self.chunks)), initial=0))
        # Term -> (chunk where it starts, kind, start, end); the earliest chunk last.
        best: dict[int, tuple[int, int, int, int]] = {}
        for ci in reversed(order):
            info = infos[ci]
            assert info is not None
            base = offsets[ci]
            for term, (kind, start, end) in info.in_chunk().items():
                best[term] = (ci, kind, base + start, base + end)
        for ci, completions in self.crossings:
            last = infos[ci]
            assert last is not None
            for term, wi, count in completions:
                first_ci, start = _back(infos, offsets, ci, wi, count)
                known = best.get(term)
                if known is None or (first_ci, 1, start) < known[:3]:
                    best[term] = (first_ci, 1, start, offsets[ci] + last.words[wi][1])
        return {term: (hit[2], hit[3]) for term, hit in best.items() if terms >> term & 1}


def _back(
    infos: list[ChunkInfo | None], offsets: list[int], ci: int, wi: int, count: int
) -> tuple[int, int]:
    """(chunk, offset) where a phrase of ``count`` words ends at word ``wi`` of chunk ``ci``.

    The words of a phrase are consecutive words of the text: only chunks of
    dashes (no words) may lie between them.
    """
    remaining = count - 1 - wi  # words of the phrase before chunk ci
    while True:
        ci -= 1
        info = infos[ci]
        assert info is not None
        words = info.words
        if len(words) >= remaining:
            return ci, offsets[ci] + words[len(words) - remaining][0]
        remaining -= len(words)
