"""Resolve what users type after /subscribe and /unsubscribe to category ids.

Matching is case- and diacritic-insensitive (`mevzuat`, `MEVZUAT`, `Belediyeler`,
`belediyeler`, `mikromobilite`, `batarya uretimi`): ids, English names and
Turkish names are compared on their folded form, then on a unique prefix.
Several categories may be given at once, separated by spaces or commas; a
multi-word name is recognised before its words are tried one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules import CategoryInfo
from rules.text import match_key

ALL_WORDS = frozenset({"all", "hepsi", "tümü", "tumu", "*"})


def _key(text: str) -> str:
    return " ".join(match_key(text).replace("-", " ").replace("_", " ").replace(".", " ").split())


@dataclass(frozen=True)
class Resolution:
    """Ids found (in the order given), words not understood, and whether `all` was asked."""

    ids: tuple[str, ...]
    unknown: tuple[str, ...]
    all: bool


def _names(category: CategoryInfo) -> list[str]:
    return [_key(category.id), _key(category.name_en), _key(category.name_tr)]


@dataclass(frozen=True)
class _Index:
    """Every category's folded names, built once per call."""

    names: tuple[tuple[str, tuple[str, ...]], ...]  # (id, folded names), in category order
    longest: int  # most words in one name: no longer phrase can match

    @classmethod
    def of(cls, categories: Sequence[CategoryInfo]) -> _Index:
        names = tuple((c.id, tuple(_names(c))) for c in categories)
        longest = max((len(n.split()) for _, ns in names for n in ns), default=1)
        return cls(names, longest)


def _lookup(phrase: str, index: _Index) -> str | None:
    for cat_id, names in index.names:
        if phrase in names:
            return cat_id
    prefixed = {cat_id for cat_id, names in index.names for n in names if n.startswith(phrase)}
    if len(prefixed) == 1 and len(phrase) >= 3:
        return prefixed.pop()
    return None


# Words looked at; what follows is reported as not understood. Every category's
# name in full is fewer words than this, and it bounds the work a message can ask for.
MAX_WORDS = 40
_ALL_KEYS = frozenset(_key(w) for w in ALL_WORDS)


def resolve(args: Sequence[str], categories: Sequence[CategoryInfo]) -> Resolution:
    """Turn command arguments into category ids (linear in the input: phrases are short)."""
    words = [w for part in " ".join(args).split(",") for w in [part.strip()] if w]
    tokens: list[str] = []
    for part in words:
        tokens.extend(part.split())
    tokens, beyond = tokens[:MAX_WORDS], tokens[MAX_WORDS:]
    if any(_key(tok) in _ALL_KEYS for tok in tokens):
        return Resolution(ids=tuple(c.id for c in categories), unknown=(), all=True)
    index = _Index.of(categories)
    found: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(tokens):
        # Longest phrase first, but never longer than the longest name: the old
        # "every span to the end" made 1,000 words a million lookups.
        for j in range(min(len(tokens), i + index.longest), i, -1):
            hit = _lookup(_key(" ".join(tokens[i:j])), index)
            if hit is not None:
                if hit not in found:
                    found.append(hit)
                i = j
                break
        else:
            unknown.append(tokens[i])
            i += 1
    return Resolution(ids=tuple(found), unknown=(*unknown, *beyond), all=False)
