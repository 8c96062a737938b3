"""Decide which entries of one poll are new stories (pure; no I/O, no clock).

For each entry, in order, the first rule that applies wins:

1. **AlreadySeen** — any of ``entry.identities`` is in ``seen_identities``
   (what this feed produced before, tombstones included) or was produced by
   an earlier entry of the same batch. Never alerted again, whatever
   happened to the story since (it may have disappeared and come back).
2. **SameStory** (known story) — a story in ``recent_stories`` first seen
   within ``window`` of the entry's time (its date, else ``now``) has the
   same canonical link, or a title at least ``SIMILARITY_THRESHOLD`` similar
   (best match wins). The entry is a new *source* of that story: record it,
   do not alert.
3. **SameStory** (same batch) — the same tests against entries of this batch
   already decided ``NewStory``; ``batch_index`` is the index of that
   decision in the returned list and ``story_id`` is ``None``. Apply the
   decisions in order and link the entry to the story created for that index.
4. **NewStory** — ``alert`` is ``False`` on the feed's first poll (the
   backlog is recorded, not pushed), else ``True``.

Title similarity (``title_similarity``) is the Sørensen–Dice coefficient of
the sets of word stems of the two ``title_key`` strings, ``2·|A∩B|/(|A|+|B|)``,
where a word's stem is its first five characters (after dropping a final
``s`` from words over three letters, for English plurals). Fixed-prefix ("F5")
stemming is a known good cheap stemmer for Turkish, whose words vary by
suffix (``ihalesini``/``ihalesi``, ``üretimi``/``üretimine``), and it folds
English plurals and tenses as well. A match needs ``SIMILARITY_THRESHOLD``
= 0.9: near-identical titles (case, punctuation, suffixes, word order, one
added word in a long title). That is deliberately strict: one word swapped in
a short headline ("Ankara'da" → "İzmir'de", "cuts" → "raises") scores
0.80–0.86 and is a *different* story as often as not; a missed merge costs a
duplicate alert, a false merge silently loses a story. Two more guards: the
words containing digits (years, percentages, models such as ``T10X``/``T10F``)
must be the same set in both titles, and a title key under
``MIN_TITLE_CHARS`` characters or ``MIN_TITLE_WORDS`` words ("Son dakika",
"Video") never matches by title. ``tests/feeds/test_dedupe.py`` holds the
Turkish and English pairs (merges and non-merges) this was set against.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from feeds.entries import Entry

__all__ = [
    "MIN_TITLE_CHARS",
    "MIN_TITLE_WORDS",
    "SIMILARITY_THRESHOLD",
    "STEM_CHARS",
    "AlreadySeen",
    "Decision",
    "KnownStory",
    "NewStory",
    "SameStory",
    "decide",
    "recent_window_start",
    "title_similarity",
    "titles_match",
]

SIMILARITY_THRESHOLD = 0.9
MIN_TITLE_CHARS = 15
MIN_TITLE_WORDS = 3
DEFAULT_WINDOW = timedelta(hours=48)

_DIGIT_WORD = re.compile(r"\w*\d\w*")


@dataclass(frozen=True)
class KnownStory:
    """A stored story, as the decider needs it."""

    story_id: int
    canonical_link: str | None
    title_key: str
    first_seen: datetime


@dataclass(frozen=True)
class NewStory:
    """A story not known before; ``alert`` is False on a feed's first poll."""

    entry: Entry
    alert: bool


@dataclass(frozen=True)
class SameStory:
    """Another source (or a new guid/link) of a known story; never alerted.

    Exactly one of ``story_id`` (a stored story) and ``batch_index`` (the
    index, in the returned decisions, of the ``NewStory`` of this batch it
    repeats) is set. ``reason`` is human-readable, e.g. ``"canonical link"``
    or ``"title 0.93 similar"``.
    """

    entry: Entry
    story_id: int | None
    reason: str
    batch_index: int | None = None


@dataclass(frozen=True)
class AlreadySeen:
    """This feed already produced this entry (possibly long ago)."""

    entry: Entry


Decision = NewStory | SameStory | AlreadySeen


STEM_CHARS = 5


def _stem(word: str) -> str:
    # An English plural "s" would otherwise survive in words under five letters.
    if len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    return word[:STEM_CHARS]


@lru_cache(maxsize=65536)
def _stems(key: str) -> frozenset[str]:
    return frozenset(_stem(word) for word in key.split())


@lru_cache(maxsize=65536)
def _digit_words(key: str) -> frozenset[str]:
    return frozenset(_DIGIT_WORD.findall(key))


def title_similarity(a: str, b: str) -> float:
    """Dice coefficient of the five-letter word stems of two title keys (0..1).

    Pass ``title_key`` values; raw titles work but compare case and accents.
    """
    ta, tb = _stems(a), _stems(b)
    if not ta or not tb:
        return 0.0
    return 2 * len(ta & tb) / (len(ta) + len(tb))


def _title_usable(key: str) -> bool:
    return len(key) >= MIN_TITLE_CHARS and key.count(" ") + 1 >= MIN_TITLE_WORDS


def titles_match(a: str, b: str) -> float | None:
    """Similarity of two title keys if they count as one story, else None."""
    if not (_title_usable(a) and _title_usable(b)):
        return None
    if _digit_words(a) != _digit_words(b):
        return None
    ta, tb = _stems(a), _stems(b)
    # Dice ≥ t needs 2·min/(|A|+|B|) ≥ t: skip hopeless pairs cheaply.
    small, large = sorted((len(ta), len(tb)))
    if 2 * small < SIMILARITY_THRESHOLD * (small + large):
        return None
    score = 2 * len(ta & tb) / (len(ta) + len(tb))
    return score if score >= SIMILARITY_THRESHOLD else None


def recent_window_start(now: datetime, window: timedelta = DEFAULT_WINDOW) -> datetime:
    """Oldest ``first_seen`` worth loading into ``recent_stories``.

    Twice the window back, because an entry dated up to ``window`` in the
    past is compared with stories first seen up to ``window`` before it.
    """
    return now - 2 * window


def _match(
    entry: Entry, link: str | None, key: str, when: datetime, at: datetime, window: timedelta
) -> str | None:
    if abs(when - at) > window:
        return None
    if entry.canonical_link is not None and entry.canonical_link == link:
        return "canonical link"
    score = titles_match(entry.title_key, key)
    if score is not None:
        return f"title {score:.2f} similar"
    return None


def decide(
    entries: Sequence[Entry],
    *,
    seen_identities: Collection[str],
    recent_stories: Sequence[KnownStory],
    first_poll: bool,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> list[Decision]:
    """One decision per entry, in the same order (rules in module docstring)."""
    decisions: list[Decision] = []
    batch_ids: set[str] = set()
    batch_new: list[tuple[int, Entry, datetime]] = []
    for entry in entries:
        keys = entry.identities or (entry.identity,)
        if any(i in seen_identities or i in batch_ids for i in keys):
            decisions.append(AlreadySeen(entry))
            continue
        batch_ids.update(keys)
        when = entry.published or now

        found: SameStory | None = None
        best = -1.0
        for story in recent_stories:
            reason = _match(
                entry, story.canonical_link, story.title_key, when, story.first_seen, window
            )
            if reason is None:
                continue
            rank = 2.0 if reason == "canonical link" else float(reason.split()[1])
            if rank > best:
                best, found = rank, SameStory(entry, story.story_id, reason)
        if found is None:
            for index, other, other_when in batch_new:
                reason = _match(
                    entry, other.canonical_link, other.title_key, when, other_when, window
                )
                if reason is not None:
                    found = SameStory(entry, None, reason, batch_index=index)
                    break
        if found is not None:
            decisions.append(found)
            continue
        batch_new.append((len(decisions), entry, when))
        decisions.append(NewStory(entry, alert=not first_poll))
    return decisions
