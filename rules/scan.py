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

__all__ = [
    "NO_SCAN",
    "ChunkInfo",
    "Completion",
    "Opener",
    "Place",
    "Scan",
    "Span",
    "Step",
    "offsets",
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
# Where a term first occurs (see spans()): (which text, chunk index, (start, -end, the words)).
Place = tuple[int, int, tuple[int, int, str]]


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

    __slots__ = (
        "acro",
        "chunk",
        "cont",
        "key",
        "lead",
        "plain",
        "quoted",
        "singles",
        "spans",
        "words",
    )

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
        # The spans with their words, once an explanation has read them (see spans()).
        self.quoted: tuple[tuple[int, tuple[int, int, str]], ...] | None = None


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


def spans(scan: Scan, where: int = 0) -> dict[int, Place]:
    """Term -> (where, chunk index, (start, -end, words)) of its first occurrence.

    For every term the scan found. "First" is by the chunk where the
    occurrence starts; inside a chunk a single-word term comes before a
    phrase, then phrases by where they start. Start and end are offsets in
    that chunk, and the end of a phrase that runs into the ``k``-th next
    chunk is ``k << 32 | offset`` there: places sort in text order (the end
    is negated so that, sorted, a longer hit comes first), and most are the
    chunk's own memoised ``(start, -end, words)``, so a pass over a text
    builds one small tuple per term. ``where`` is put first as it is given
    (explanations pass 0 for the title, 1 for the summary).
    """
    terms, chunks, infos, hot_infos, crossings, dropped = scan
    if not terms:
        return {}
    # Where each analysis first occurs, latest first: the earliest chunk's spans win.
    if len(hot_infos) > _FEW_HOT:
        # One pass in C: earlier positions overwrite later ones.
        first_at = dict(zip(reversed(infos), range(len(infos) - 1, -1, -1), strict=True))
        order = sorted(map(first_at.__getitem__, hot_infos), reverse=True)
    else:
        order = sorted(map(infos.index, hot_infos), reverse=True)
    found: dict[int, Place] = {}
    for ci in order:
        info = infos[ci]
        assert info is not None
        quoted = info.quoted
        if quoted is None:
            quoted = info.quoted = _quoted(info)
        for term, span in quoted:
            found[term] = (where, ci, span)
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
            start = head.words[len(head.words) - before][0]
            known = found.get(term)
            if known is None or (known[1], known[2][0]) > (first, start):
                end = last.words[wi][1]
                words = f"{' '.join(chunks[first:ci])[start:]} {last.chunk[:end]}"
                found[term] = (where, first, (start, -((ci - first) << 32 | end), words))
    if dropped:
        for term in [term for term in found if dropped >> term & 1]:
            del found[term]
    return found


def _quoted(info: ChunkInfo) -> tuple[tuple[int, tuple[int, int, str]], ...]:
    """(term, (start, -end, words)) of each term's first occurrence inside the chunk.

    Made on the first explanation that reads the chunk and kept on its
    analysis, so the words of a chunk met again are not sliced again and
    their hash, which looks up the Hit, is computed once.
    """
    if info.spans is None:
        start, end, _ = info.words[0]
        span = (start, -end, info.chunk[start:end])
        return tuple((term, span) for term in info.singles)
    return tuple(
        (term, (start, -end, info.chunk[start:end])) for term, (start, end) in info.spans.items()
    )


def offsets(chunks: list[str], place: Place) -> tuple[int, int]:
    """(start, end) of a place (see :func:`spans`) as offsets in ``" ".join(chunks)``."""
    _, first, (start, neg_end, _) = place
    last = first + (-neg_end >> 32)
    return (
        sum(map(len, chunks[:first])) + first + start,
        sum(map(len, chunks[:last])) + last + (-neg_end & _OFFSET),
    )


_OFFSET = (1 << 32) - 1
