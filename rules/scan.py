"""What the matcher remembers about a chunk, and what one pass over a text records.

The matcher (rules/matcher.py) reads a text once, chunk by chunk (a chunk is
what lies between two spaces of the cleaned text). It memoises per chunk, as
written, a :class:`ChunkInfo`: the terms complete inside the chunk as
bitmasks for the rule logic, and *where* inside the chunk each one first
occurs for explanations; phrases that run on past the chunk's end are
followed with remembered :data:`Step`\\ s, which also record the
:data:`Quote` of each phrase they complete (where it starts and ends, and
its words).

One pass over a text gives a :data:`Scan`: the terms found (a bitmask), the
chunk analyses in text order and the phrases completed across chunks.
:func:`first_places` turns that record into the place where each term first
occurs, with its words, without reading the text again: that is all an
explanation needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from rules.model import Hit

__all__ = [
    "NO_SCAN",
    "SUMMARY",
    "ChunkInfo",
    "Continued",
    "Opener",
    "Place",
    "Quote",
    "Scan",
    "Span",
    "Step",
    "first_places",
    "quote_phrase",
]

# One occurrence of a term: (start, -(k << 32 | end), term, its Hit in a title, its
# Hit in a summary). Start and end are offsets in the chunk where it starts, or, for
# a phrase that runs into the k-th next chunk, the end is an offset in that chunk.
# Sorted with the index of the chunk where it starts, quotes fall in text order, a
# longer one first.
Quote = tuple[int, int, int, Hit, Hit]
# Open phrases: the pattern the next word must satisfy -> (phrase, step, needs the
# text-wide acronym test) for each phrase waiting for it.
Opens = dict[int, list[tuple[int, int, bool]]]
# (start, end, pattern ids) of one word inside a chunk.
Word = tuple[int, int, frozenset[int]]
Span = tuple[int, int]  # (start, end) of a term's words in a chunk


class Opener:
    """Phrases open at the end of a chunk, and what they do in the chunks that follow."""

    __slots__ = ("opens", "pairs", "trail")

    def __init__(self, opens: Opens, trail: str) -> None:
        self.opens = opens
        self.trail = trail  # what follows the chunk's last word (part of the next gap)
        # Next chunk -> what these phrases do there: a step depends only on these
        # phrases and that chunk, so it is remembered here.
        self.pairs: dict[str, Step] = {}


class Continued(Opener):
    """Phrases still open one or more chunks after the chunk they started in.

    One is made per remembered step, so it is reached from one sequence of
    chunks only and knows it: the chunk where the phrases started, the whole
    chunks they ran through since, and those chunks' text, each followed by
    a space. So a step from here can quote the phrases it completes.
    """

    __slots__ = ("between", "head", "middle")

    def __init__(
        self,
        opens: Opens,
        trail: str,
        head: ChunkInfo,
        middle: tuple[ChunkInfo, ...],
        between: str,
    ) -> None:
        super().__init__(opens, trail)
        self.head = head
        self.middle = middle
        self.between = between


# What open phrases do in one next chunk: (terms complete, terms needing the
# acronym test, phrases still open after it, quotes of the completed ones).
Step = tuple[int, int, "Opener | None", tuple[Quote, ...]]


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
        # The spans as quotes, once an explanation has read them (see first_places()).
        self.quoted: tuple[Quote, ...] | None = None


# One pass of the matcher over a text (CompiledMatcher.scan): (terms found, bit n
# for term n; the analysis of each chunk in text order; the indices of the chunks
# that hold a term or open a phrase, in order; (index of the chunk where they start,
# quotes) of the phrases completed in a later chunk; acronyms seen in a text in
# capitals, which do not count). A plain tuple: two are made per classified item,
# and building a class instance cost a twentieth of the whole classification.
Scan = tuple[
    int,
    list[ChunkInfo | None],
    list[int],
    list[tuple[int, tuple[Quote, ...]]],
    int,
]
NO_SCAN: Scan = (0, [], [], [], 0)  # what a text without terms gives


# (chunk index, quote, its Hit in that text): where a quote is. The summary's chunk
# indices are raised by SUMMARY, so its places sort after the title's.
Place = tuple[int, Quote, Hit]
SUMMARY = 1 << 20


def first_places(scan: Scan, sources: Sequence[str], base: int = 0) -> dict[int, Place]:
    """Term -> the place where it first occurs in the scanned text, for every term found.

    Inside a chunk a single word comes before a phrase, then phrases by
    where they start (each chunk's quotes say so); a phrase across chunks
    never beats a word of the chunk it starts in. Acronyms the scan
    dropped have no place. ``base`` (0 or SUMMARY) is added to the chunk
    indices and says which Hit to take; ``sources`` are the terms as
    written, for the Hits.
    """
    _, infos, hot, crossings, dropped = scan
    hit = 4 if base else 3  # the index of the Hit for this text in a quote
    first: dict[int, Place] = {}
    for at in reversed(hot):  # the last first: an earlier chunk overwrites a later one
        quoted = infos[at].quoted  # type: ignore[union-attr]  # hot chunks have analyses
        if quoted is None:
            quoted = _quoted(infos[at], sources)  # type: ignore[arg-type]
        at += base
        for quote in quoted:
            first[quote[2]] = (at, quote, quote[hit])  # type: ignore[assignment]
    for at, quotes in crossings:
        at += base
        for quote in quotes:
            place = (at, quote, quote[hit])
            known = first.get(quote[2])
            if known is None or place < known:
                first[quote[2]] = place  # type: ignore[assignment]
    if dropped:
        for term in [term for term in first if dropped >> term & 1]:
            del first[term]
    return first


def _quoted(info: ChunkInfo, sources: Sequence[str]) -> tuple[Quote, ...]:
    """The quote of each term's first occurrence inside the chunk, kept on its analysis.

    Made on the first explanation that reads the chunk, so the words of a
    chunk met again are not sliced again nor its Hits made again.
    """
    if info.spans is None:
        start, end, _ = info.words[0]
        spans = dict.fromkeys(info.singles, (start, end))
    else:
        spans = info.spans
    info.quoted = tuple(
        _quote(term, sources[term], start, end, info.chunk[start:end])
        for term, (start, end) in spans.items()
    )
    return info.quoted


def _quote(term: int, source: str, start: int, end: int, words: str) -> Quote:
    return (start, -end, term, Hit(source, "title", words), Hit(source, "summary", words))


def quote_phrase(
    term: int,
    source: str,
    head: ChunkInfo,
    middle: Sequence[ChunkInfo],
    between: str,
    last: ChunkInfo,
    index: int,
    before: int,
) -> Quote | None:
    """The quote of a phrase from ``head`` through ``middle`` to word ``index`` of ``last``.

    ``before`` of its words lie before ``last``; ``between`` is the text of
    ``middle``. None when ``head`` holds the term as one word: that
    occurrence comes first, and the phrase is never quoted.
    """
    if term in head.singles:
        return None
    before -= sum(len(info.words) for info in middle)  # a chunk of dashes has none
    start = head.words[len(head.words) - before][0]
    end = last.words[index][1]
    words = f"{head.chunk[start:]} {between}{last.chunk[:end]}"
    return _quote(term, source, start, (len(middle) + 1) << 32 | end, words)
