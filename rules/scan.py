"""What the matcher remembers about a chunk, and what one pass over a text records.

The matcher (rules/matcher.py) reads a text once, chunk by chunk (a chunk is
what lies between two spaces of the cleaned text). It memoises per chunk, as
written, a :class:`ChunkInfo`: the terms complete inside the chunk as
bitmasks for the rule logic, and *where* inside the chunk each one first
occurs for explanations; phrases that run on past the chunk's end are
followed with remembered :data:`Step`\\ s, which also say where in the next
chunk each phrase ends.

One pass over a text gives a :data:`Scan`: the terms found (a bitmask), the
chunk analyses in text order and the phrases completed across chunks.
:func:`spans` turns that record into the place of the first occurrence of
each term without reading the text again: that is all an explanation needs.
"""

from __future__ import annotations

from operator import attrgetter

__all__ = [
    "NO_SCAN",
    "ChunkInfo",
    "Completion",
    "Opener",
    "Scan",
    "Span",
    "Step",
    "offset",
    "quote",
    "spans",
]

# A phrase completed in a chunk after the one it started in: (term, index of its
# last word in that chunk, how many of its words lie in the chunks before).
Completion = tuple[int, int, int]
# Open phrases: the pattern the next word must satisfy -> (phrase, step, needs the
# text-wide acronym test) for each phrase waiting for it.
Opens = dict[int, list[tuple[int, int, bool]]]
# (start, end, pattern ids) of one word inside a chunk.
Word = tuple[int, int, frozenset[int]]
Span = tuple[int, int]  # (start, end) of a term's words: offsets in a chunk, or places


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

    __slots__ = ("acro", "chunk", "cont", "key", "lead", "plain", "singles", "spans", "words")

    def __init__(
        self,
        chunk: str,
        key: str,
        words: tuple[Word, ...],
        plain: int,
        acro: int,
        opens: Opens,
        singles: frozenset[int] = frozenset(),
        spans: dict[int, Span] | None = None,
    ) -> None:
        super().__init__(opens, key[words[-1][1] :] if words else "")
        self.chunk = chunk
        self.key = key
        self.words = words
        self.lead = key[: words[0][0]] if words else ""
        self.plain = plain  # terms complete inside the chunk (bitmask)
        self.acro = acro  # … that also need the text-wide acronym test (bitmask)
        self.singles = singles  # the single-word terms among them
        # Term -> its first occurrence inside the chunk (single words before
        # phrases); None for a one-word chunk, where every term is that word.
        self.spans = spans
        # (phrase, step) -> walk result when a phrase continues into this chunk.
        self.cont: dict[tuple[int, int], tuple[int, bool] | None] = {}


_FEW_HOT = 16  # more distinct chunks with terms: find where each first occurs in one pass


# One pass of the matcher over a text (CompiledMatcher.scan): (terms found, bit n
# for term n; the chunks; the analysis of each chunk in text order; the distinct
# analyses that hold a term or open a phrase; (chunk index, phrases completed there
# that started in an earlier chunk) each; acronyms seen in a text in capitals, which
# do not count). A plain tuple: two are made per classified item, and building a
# class instance cost a twentieth of the whole classification.
Scan = tuple[
    int,
    list[str],
    list[ChunkInfo | None],
    set[ChunkInfo],
    list[tuple[int, tuple[Completion, ...]]],
    int,
]
NO_SCAN: Scan = (0, [], [], set(), [], 0)  # what a text without terms gives


def spans(scan: Scan) -> dict[int, Span]:
    """Term -> (start, end) of its first occurrence, as places (see :func:`quote`).

    For every term the scan found. "First" is by the chunk where the
    occurrence starts; inside a chunk a single-word term comes before a
    phrase, then phrases by where they start. A place is ``chunk index << 32
    | offset in the chunk``: places sort in text order, and no offsets into
    the joined text need to be added up.
    """
    terms, chunks, infos, hot_infos, crossings, dropped = scan
    if not terms:
        return {}
    # Where each analysis first occurs: where its chunk does (strings compare faster).
    if len(hot_infos) > _FEW_HOT:
        # One pass in C: earlier positions overwrite later ones.
        where = dict(zip(reversed(chunks), range(len(chunks) - 1, -1, -1), strict=True))
        order = sorted(map(where.__getitem__, map(_CHUNK, hot_infos)))
    else:
        order = sorted(map(chunks.index, map(_CHUNK, hot_infos)))
    found: dict[int, Span] = {}
    for ci in reversed(order):  # the earliest chunk last: its spans win
        info = infos[ci]
        assert info is not None
        base = ci << 32
        if info.spans is None:
            start, end, _ = info.words[0]
            span = (base | start, base | end)
            for term in info.singles:
                found[term] = span
        else:
            for term, (start, end) in info.spans.items():
                found[term] = (base | start, base | end)
    for ci, completions in crossings:
        last = infos[ci]
        assert last is not None
        for term, wi, before in completions:
            first = ci - 1  # walk back to the chunk where the phrase starts
            head = infos[first]
            assert head is not None  # a phrase runs through chunks of words or dashes
            while len(head.words) < before:  # only a chunk of dashes has fewer words
                before -= len(head.words)
                first -= 1
                head = infos[first]
                assert head is not None
            if term in head.singles:
                continue  # the same term as one word of that chunk comes first
            start = first << 32 | head.words[len(head.words) - before][0]
            known = found.get(term)
            if known is None or known[0] > start:
                found[term] = (start, ci << 32 | last.words[wi][1])
    if dropped:
        for term in [term for term in found if dropped >> term & 1]:
            del found[term]
    return found


def quote(chunks: list[str], start: int, end: int) -> str:
    """The text between two places (see :func:`spans`) of ``" ".join(chunks)``."""
    first = start >> 32
    last = end >> 32
    if first == last:
        return chunks[first][start & _OFFSET : end & _OFFSET]
    words = " ".join(chunks[first:last])[start & _OFFSET :]
    return f"{words} {chunks[last][: end & _OFFSET]}"


def offset(chunks: list[str], place: int) -> int:
    """The offset in ``" ".join(chunks)`` of a place (see :func:`spans`)."""
    chunk = place >> 32
    return sum(map(len, chunks[:chunk])) + chunk + (place & _OFFSET)


_OFFSET = (1 << 32) - 1
_CHUNK = attrgetter("chunk")
