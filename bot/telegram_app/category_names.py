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


def _lookup(phrase: str, categories: Sequence[CategoryInfo]) -> str | None:
    exact = [c.id for c in categories if phrase in _names(c)]
    if exact:
        return exact[0]
    prefixed = {c.id for c in categories for name in _names(c) if name.startswith(phrase)}
    if len(prefixed) == 1 and len(phrase) >= 3:
        return prefixed.pop()
    return None


def resolve(args: Sequence[str], categories: Sequence[CategoryInfo]) -> Resolution:
    """Turn command arguments into category ids."""
    words = [w for part in " ".join(args).split(",") for w in [part.strip()] if w]
    tokens: list[str] = []
    for part in words:
        tokens.extend(part.split())
    if any(_key(tok) in {_key(w) for w in ALL_WORDS} for tok in tokens):
        return Resolution(ids=tuple(c.id for c in categories), unknown=(), all=True)
    found: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(tokens):
        for j in range(len(tokens), i, -1):
            hit = _lookup(_key(" ".join(tokens[i:j])), categories)
            if hit is not None:
                if hit not in found:
                    found.append(hit)
                i = j
                break
        else:
            unknown.append(tokens[i])
            i += 1
    return Resolution(ids=tuple(found), unknown=tuple(unknown), all=False)
