"""Who gets a story, when, and why: the one place that decides it (pure).

`plan_alerts` turns a new story and the chats that may want it (storage finds
them: `Storage.audience`) into alert intents that storage writes with the
story. When a row falls due, `recheck` asks the same questions of the chat as
it is then, so a chat that paused, unsubscribed or went away since the row was
queued gets nothing, and the row ends with the reason recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.delivery.keywords import EXCLUDED, KeywordMatchers, compile_keywords, keyword_decision
from bot.delivery.times import DEFAULT_TIMEZONE, chat_prefs, release_time
from bot.models import AlertIntent, AlertReason, Candidate, Delivery, OutboxKind

__all__ = ["KeywordCache", "StoryFacts", "plan_alerts", "recheck"]


@dataclass(frozen=True)
class StoryFacts:
    """What the planner needs of a story."""

    title: str
    summary: str
    categories: tuple[str, ...]


class KeywordCache:
    """Compiled keyword matchers by term list, so each chat's terms compile once."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._compiled: dict[tuple[str, ...], KeywordMatchers] = {}

    def get(self, terms: Iterable[str]) -> KeywordMatchers:
        """The matchers for these terms (in any order)."""
        key = tuple(sorted(terms))
        found = self._compiled.get(key)
        if found is None:
            if len(self._compiled) >= self._limit:
                self._compiled.clear()
            found = self._compiled[key] = compile_keywords(key)
        return found


_SHARED_CACHE = KeywordCache()


@dataclass(frozen=True)
class _Skip:
    why: str


def _decide(
    story: StoryFacts,
    categories: frozenset[str],
    keywords: Sequence[str],
    cache: KeywordCache,
) -> tuple[tuple[str, ...], str | None] | _Skip:
    """(categories, keyword) that bring the story to a chat, or why not."""
    followed = tuple(sorted(categories.intersection(story.categories)))
    keyword: str | None = None
    if keywords:
        match = keyword_decision(cache.get(keywords), story.title, story.summary)
        if match is EXCLUDED:
            return _Skip("excluded by keyword")  # a chat's own "-term" outranks its categories
        if isinstance(match, str):
            keyword = match
    if not followed and keyword is None:
        return _Skip("unsubscribed")
    return followed, keyword


def plan_alerts(
    story: StoryFacts,
    candidates: Sequence[Candidate],
    now: datetime,
    *,
    default_timezone: str = DEFAULT_TIMEZONE,
    cache: KeywordCache | None = None,
) -> list[AlertIntent]:
    """The alerts a new story makes: one per receiving chat that wants it, due now or held.

    Inactive and paused chats get nothing. A chat gets the story for the
    categories it follows or for its own keyword, unless one of its `-term`s
    matches. Quiet hours and digests hold the alert until their release time.
    """
    cache = cache or _SHARED_CACHE
    intents: list[AlertIntent] = []
    for candidate in candidates:
        chat = candidate.chat
        if not chat.active or chat.paused:
            continue
        decided = _decide(story, candidate.categories, candidate.keywords, cache)
        if isinstance(decided, _Skip):
            continue
        categories, keyword = decided
        due = release_time(chat_prefs(chat, default_timezone), now)
        intents.append(
            AlertIntent(
                chat_id=chat.id,
                due=due,
                reason=AlertReason(categories=categories, keyword=keyword, held=due > now),
            )
        )
    return intents


def recheck(row: Delivery, *, cache: KeywordCache | None = None) -> str | None:
    """Why a due row must not be sent any more (None: send it).

    Asked of the chat as it is when the row falls due: paused chats get nothing
    (held alerts and broadcasts included; operator notices still go), and an
    alert goes only while the chat still follows one of the story's categories
    or still has a keyword that matches it.
    """
    if not row.chat_active:
        return "chat inactive"
    if row.kind is OutboxKind.NOTICE:
        return None
    if row.chat_paused:
        return "paused"
    if row.kind is not OutboxKind.ALERT or row.item is None:
        return None
    story = StoryFacts(row.item.title, row.item.summary, row.item.categories)
    decided = _decide(story, row.chat_categories, row.chat_keywords, cache or _SHARED_CACHE)
    return decided.why if isinstance(decided, _Skip) else None
