"""Term suggestions: which words of labelled texts would fix a category's misses.

For each category, the candidates are the words and two-word phrases (in
``match_key`` form: Turkish-folded, no diacritics) of the items the rules miss
for it (gold has the category, the rules do not give it). Each candidate is
scored as if it were added to the category as a plain ``any`` term: the items
it would newly label, and the precision, recall and F1 the category would then
have on the given items (scored like :func:`rules.evaluate`: ``also_ok`` labels
are neither right nor wrong). Candidates are pre-ranked by exact word / word-pair
occurrence, then the best ones are re-scored with the real term matcher (which
also matches suffixed forms) so the reported figures are what the rule would do.

Nothing here changes a rules file: the output is for an editor to read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rules.keywords import KeywordMatcher
from rules.links import item_title
from rules.model import CATEGORY_IDS
from rules.ruleset import RuleSet
from rules.text import clean_text, match_key, tokens

__all__ = ["Suggestion", "format_suggestions", "suggest_terms"]

# Function words that make poor terms on their own (already in match_key form).
_STOPWORDS = frozenset(
    [
        "ve",
        "ile",
        "bir",
        "bu",
        "su",
        "o",
        "da",
        "de",
        "ki",
        "mi",
        "icin",
        "gibi",
        "kadar",
        "daha",
        "en",
        "cok",
        "olan",
        "olarak",
        "sonra",
        "once",
        "ise",
        "ya",
        "veya",
        "ama",
        "ancak",
        "her",
        "hem",
        "yeni",
        "ilk",
        "son",
        "yil",
        "yili",
        "yilinda",
        "tarafindan",
        "uzere",
        "oldu",
        "olacak",
        "etti",
        "edildi",
        "yapti",
        "yapildi",
        "gore",
        "ayrica",
        "bin",
        "milyon",
        "milyar",
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "new",
        "first",
        "than",
        "more",
        "most",
        "into",
        "about",
        "after",
        "over",
        "also",
        "which",
        "who",
        "said",
        "says",
    ]
)


@dataclass(frozen=True)
class Suggestion:
    """One candidate term for a category and what adding it would do."""

    category: str
    term: str
    fixes: int  # missed items of the category the term would now label
    new_false: int  # items the term would wrongly label (not gold, not also_ok)
    precision: float
    recall: float
    f1: float
    f1_before: float
    # Items of the category (caught or missed) whose text has the term: a term
    # many of them share is likelier to hold on news not yet seen than one that
    # only repeats the wording of the item it fixes.
    shared: int = 0

    def to_json(self) -> dict[str, object]:
        """Plain JSON form."""
        return {
            "category": self.category,
            "term": self.term,
            "fixes": self.fixes,
            "new_false": self.new_false,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "f1_before": round(self.f1_before, 4),
            "shared": self.shared,
        }


@dataclass(frozen=True)
class _Item:
    title: str
    summary: str
    words: frozenset[str]  # words and "w1 w2" pairs of title + summary
    gold: frozenset[str]
    also_ok: frozenset[str]
    predicted: frozenset[str]


def _labels(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list | tuple):
        return frozenset(str(v) for v in value)
    return frozenset()


def _grams(text: str) -> set[str]:
    """Words (3+ characters, not only digits) and adjacent word pairs of ``text``."""
    found: set[str] = set()
    words = [w for _, _, w in tokens(match_key(clean_text(text)))]
    for n, word in enumerate(words):
        if _usable(word):
            found.add(word)
        if n + 1 < len(words):
            nxt = words[n + 1]
            # "bu kapsamda", "baskisi ve": a function word at either end makes a phrase
            # that only repeats one text's wording.
            if _usable(word) and _usable(nxt):
                found.add(f"{word} {nxt}")
    return found


def _usable(word: str) -> bool:
    return len(word) >= 3 and not word.isdigit() and word not in _STOPWORDS


def _order(s: Suggestion) -> tuple[int, str]:
    """Phrases before single words, then alphabetical."""
    return -s.term.count(" "), s.term


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _score(
    category: str, items: Sequence[_Item], hit: Sequence[bool]
) -> tuple[int, int, int, int, int]:
    """(tp, fp, fn, fixes, new_false) for ``category`` if items with ``hit`` also got it."""
    tp = fp = fn = fixes = new_false = 0
    for item, extra in zip(items, hit, strict=True):
        had = category in item.predicted
        gets = had or extra
        if category in item.gold:
            if gets:
                tp += 1
                fixes += not had
            else:
                fn += 1
        elif gets and category not in item.also_ok:
            fp += 1
            new_false += not had
    return tp, fp, fn, fixes, new_false


def _prepare(ruleset: RuleSet, rows: Iterable[Mapping[str, object]]) -> list[_Item]:
    items = []
    for row in rows:
        if "gold" not in row:
            continue
        title = item_title(row)
        summary = str(row.get("summary") or "")
        result = ruleset.classify(title, summary)
        items.append(
            _Item(
                title,
                summary,
                frozenset(_grams(title) | _grams(summary)),
                _labels(row.get("gold")),
                _labels(row.get("also_ok")),
                frozenset(result.categories),
            )
        )
    return items


def suggest_terms(
    ruleset: RuleSet,
    rows: Iterable[Mapping[str, object]],
    top: int = 10,
    categories: Sequence[str] | None = None,
) -> dict[str, list[Suggestion]]:
    """Per category, up to ``top`` terms that would fix the most misses (best F1 first)."""
    items = _prepare(ruleset, rows)
    wanted = list(categories) if categories else list(CATEGORY_IDS)
    result: dict[str, list[Suggestion]] = {}
    for category in wanted:
        tp, fp, fn, _, _ = _score(category, items, [False] * len(items))
        f1_before = _prf(tp, fp, fn)[2]
        missed = [i for i in items if category in i.gold and category not in i.predicted]
        candidates: set[str] = set()
        for item in missed:
            candidates |= item.words
        # Cheap pass on exact occurrence, then the real matcher on the best few.
        rough = []
        for term in candidates:
            hit = [term in i.words for i in items]
            tp2, fp2, fn2, fixes, _ = _score(category, items, hit)
            shared = sum(h and category in i.gold for h, i in zip(hit, items, strict=True))
            rough.append((_prf(tp2, fp2, fn2)[2], fixes, shared, term))
        rough.sort(key=lambda r: (-r[0], -r[1], -r[2], r[3]))
        scored: list[tuple[Suggestion, int]] = []
        for _, _, _, term in rough[: max(top * 3, top)]:
            try:
                matcher = KeywordMatcher.compile([term])
            except ValueError:
                continue
            hit = [matcher.match(i.title, i.summary) is not None for i in items]
            tp2, fp2, fn2, fixes, new_false = _score(category, items, hit)
            if not fixes:
                continue
            p, r, f1 = _prf(tp2, fp2, fn2)
            # Among equals, a term shared by more of the category's items is more general.
            shared = sum(h and category in i.gold for h, i in zip(hit, items, strict=True))
            suggestion = Suggestion(category, term, fixes, new_false, p, r, f1, f1_before, shared)
            scored.append((suggestion, shared))
        # Among equals a two-word phrase is the safer term on unseen text.
        scored.sort(key=lambda x: (-x[0].f1, -x[0].fixes, x[0].new_false, -x[1], *_order(x[0])))
        result[category] = [s for s, _ in scored[:top]]
    return result


def format_suggestions(suggestions: Mapping[str, Sequence[Suggestion]]) -> str:
    """A readable table per category."""
    lines: list[str] = []
    for category, found in suggestions.items():
        if lines:
            lines.append("")
        if not found:
            lines.append(f"{category}: no term would fix a miss")
            continue
        lines.append(f"{category} (F1 now {found[0].f1_before:.3f})")
        header = (
            f"{'term':<32} {'fixes':>5} {'false':>5} {'prec':>6} {'recall':>6} {'F1':>6} {'in':>4}"
        )
        lines.append(f"  {header}")
        for s in found:
            lines.append(
                f"  {s.term:<32} {s.fixes:5d} {s.new_false:5d} "
                f"{s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.shared:4d}"
            )
    if any(suggestions.values()):
        lines += ["", "in: how many of the category's items have the term (more is more general)"]
    return "\n".join(lines)
