"""Value types returned by the rules package."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CATEGORY_IDS",
    "CategoryInfo",
    "Classification",
    "Hit",
    "RulesError",
    "TagInfo",
]

CATEGORY_IDS: tuple[str, ...] = (
    "battery-manufacturing",
    "micro-mobility",
    "municipality",
    "regulation",
    "ev-market",
    "commercial-ev-manufacturing",
    "ev-manufacturing",
    "competition",
)


class RulesError(Exception):
    """A rules file that cannot be used; ``problems`` holds one "FILE:LINE: message" each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class CategoryInfo:
    """A category as shown to users."""

    id: str
    name_tr: str
    name_en: str
    description: str = ""

    def name(self, lang: str) -> str:
        """The name in ``lang`` ("tr" or anything else for English)."""
        return self.name_tr if lang == "tr" else self.name_en


_NOT_HASHTAG = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class TagInfo:
    """A topic or entity tag; shown on alerts as a hashtag."""

    id: str
    label: str
    label_tr: str = ""

    def name(self, lang: str) -> str:
        """The label in ``lang`` (Turkish label when there is one)."""
        return self.label_tr if lang == "tr" and self.label_tr else self.label

    @property
    def hashtag(self) -> str:
        """``#ChargingStations`` style: letters, digits and underscores only."""
        words = _NOT_HASHTAG.split(self.label or self.id)
        body = "".join(w[:1].upper() + w[1:] for w in words if w).replace("_", "")
        if not body:
            body = self.id.replace("-", "_")
        if not body[0].isalpha():
            body = "_" + body
        return "#" + body


@dataclass(frozen=True)
class Hit:
    """A term that fired: where it was found and the words it matched there."""

    term: str
    where: Literal["title", "summary"]
    text: str


_WHERE_TR = {"title": "başlık", "summary": "özet"}
_EMPTY: Mapping[str, tuple[str, str]] = MappingProxyType({})


@dataclass(frozen=True, init=False)
class Classification:
    """Result of classifying one item, with the evidence for every label."""

    categories: tuple[str, ...]
    topics: tuple[str, ...]
    entities: tuple[str, ...]
    matches: Mapping[str, tuple[Hit, ...]]
    # id -> (Turkish name, English name); only used to render explanations.
    names: Mapping[str, tuple[str, str]] = field(repr=False, compare=False)

    def __init__(
        self,
        categories: tuple[str, ...],
        topics: tuple[str, ...],
        entities: tuple[str, ...],
        matches: Mapping[str, tuple[Hit, ...]],
        names: Mapping[str, tuple[str, str]] = _EMPTY,
    ) -> None:
        # One is made per classified item: filling the instance dict directly costs
        # a third of the five frozen-dataclass object.__setattr__ calls.
        fields = self.__dict__
        fields["categories"] = categories
        fields["topics"] = topics
        fields["entities"] = entities
        fields["matches"] = matches
        fields["names"] = names

    def to_json(self) -> dict[str, object]:
        """JSON-ready dict; ``matches`` lists, per category, the rule terms that fired."""
        return {
            "categories": list(self.categories),
            "topics": list(self.topics),
            "entities": list(self.entities),
            "matches": {
                cat: _unique(hit.term for hit in self.matches.get(cat, ()))
                for cat in self.categories
            },
        }

    def explain(self, lang: str) -> str:
        """Short plain-text explanation, one line per category, in ``lang`` (tr/en)."""
        turkish = lang == "tr"
        if not self.categories:
            return "Hiçbir kategoriye uymadı." if turkish else "No category matched."
        lines = []
        for cat in self.categories:
            tr, en = self.names.get(cat, (cat, cat))
            evidence = ", ".join(
                f"'{hit.text}' ({_WHERE_TR[hit.where] if turkish else hit.where})"
                for hit in self.matches.get(cat, ())
            )
            lines.append(f"{tr if turkish else en}: {evidence}")
        return "\n".join(lines)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
