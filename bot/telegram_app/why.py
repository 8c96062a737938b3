"""The answer to an alert's Why? button, in words a reader knows (pure).

The classifier remembers which rule terms fired (`=Siro`, `produce*`); a reader
should see the words of the story that matched (`Siro`, `produced`), so the
terms are matched again against the story's own text and the matched text is
shown. Telegram caps a button's answer at 200 characters: `fit` says whether
the whole answer fits, so the caller can send a message instead of losing the end.
"""

from __future__ import annotations

from collections.abc import Sequence

from rules import clean_text
from rules.matcher import CompiledMatcher
from rules.terms import TermError, parse_term

ANSWER_LIMIT = 200  # Telegram's cap on answerCallbackQuery text


def _readable(term: str) -> str:
    """A rule term without its syntax: `=Siro` → `Siro`, `produce*` → `produce…`."""
    body = term.strip()
    prefix = body.endswith("*")
    body = body.removeprefix("=").removesuffix("*").strip()
    return body + ("…" if prefix else "")


def matched_text(terms: Sequence[str], title: str, summary: str = "") -> list[str]:
    """The words of the story each term matched (first occurrence), without duplicates."""
    shown: list[str] = []
    for term in terms:
        word: str | None = None
        try:
            matcher = CompiledMatcher([parse_term(term)])
        except TermError:
            matcher = None
        if matcher is not None:
            for text in (clean_text(title), clean_text(summary)):
                hits = matcher.first_hits(text) if text else {}
                if hits:
                    _, start, end = next(iter(hits.values()))
                    word = text[start:end]
                    break
        word = word or _readable(term)
        if word and word.casefold() not in {w.casefold() for w in shown}:
            shown.append(word)
    return shown
