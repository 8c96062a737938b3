#!/usr/bin/env python3
"""Reproduce the frozen dev/test split of items.jsonl.

Rule (deterministic, no randomness):
  1. Primary label of an item = its rarest gold category (fewest items in the full
     set; ties broken by the category order below); items with gold [] -> "negative".
  2. Stratum = (primary label, language).
  3. Strata are visited in a fixed order (categories in the order below, then
     "negative"; "tr" before "en"). Inside a stratum items are sorted by
     SHA-256(id) hex digest. One running counter over all strata assigns items
     alternately dev, test, dev, test, ... (so every stratum is split to within one
     item and the totals to within one).
  4. Duplicates listed in FOLLOW (same story stored twice in one language) skip
     step 3 and go to the split of the item they duplicate.

Usage:
  python3 split.py           # write dev.jsonl and test.jsonl next to items.jsonl
  python3 split.py --check   # verify the committed dev.jsonl / test.jsonl match
Lines are copied byte-for-byte from items.jsonl, in items.jsonl order.
"""

import hashlib
import json
import os
import sys
from collections import Counter

CATS = [
    "battery-manufacturing",
    "micro-mobility",
    "municipality",
    "regulation",
    "ev-market",
    "commercial-ev-manufacturing",
    "ev-manufacturing",
    "competition",
]
FOLLOW = {"r0390": "r0035"}  # exact duplicate -> same split as its original
HERE = os.path.dirname(os.path.abspath(__file__))


def primary(gold, freq):
    if not gold:
        return "negative"
    return min(gold, key=lambda c: (freq[c], CATS.index(c)))


def split(lines):
    items = [json.loads(line) for line in lines]
    freq = Counter(c for d in items for c in d["gold"])
    strata = {}
    for d in items:
        if d["id"] in FOLLOW:
            continue
        strata.setdefault((primary(d["gold"], freq), d["language"]), []).append(d["id"])
    order = [(p, lang) for p in [*CATS, "negative"] for lang in ("tr", "en")]
    assert set(strata) <= set(order)
    where, k = {}, 0
    for key in order:
        for i in sorted(strata.get(key, []), key=lambda i: hashlib.sha256(i.encode()).hexdigest()):
            where[i] = "dev" if k % 2 == 0 else "test"
            k += 1
    for dup, orig in FOLLOW.items():
        where[dup] = where[orig]
    out = {"dev": [], "test": []}
    for line, d in zip(lines, items, strict=False):
        out[where[d["id"]]].append(line)
    return out, items, where


def table(items, where):
    rows = [("items", lambda d: True), ("negatives (gold [])", lambda d: not d["gold"])]
    rows += [(c, lambda d, c=c: c in d["gold"]) for c in CATS]
    print("| | dev | test | dev tr/en | test tr/en |")
    print("|---|---:|---:|---:|---:|")
    for name, f in rows:
        cnt = Counter((where[d["id"]], d["language"]) for d in items if f(d))
        dv, ts = cnt["dev", "tr"] + cnt["dev", "en"], cnt["test", "tr"] + cnt["test", "en"]
        print(
            f"| {name} | {dv} | {ts} | {cnt['dev', 'tr']}/{cnt['dev', 'en']}"
            f" | {cnt['test', 'tr']}/{cnt['test', 'en']} |"
        )


def main(argv):
    with open(os.path.join(HERE, "items.jsonl"), encoding="utf-8") as f:
        lines = f.readlines()
    out, items, where = split(lines)
    if "--check" in argv:
        ok = True
        for name in ("dev", "test"):
            with open(os.path.join(HERE, name + ".jsonl"), encoding="utf-8") as f:
                if f.readlines() != out[name]:
                    print(f"{name}.jsonl does NOT match split.py applied to items.jsonl")
                    ok = False
        print("split OK" if ok else "split MISMATCH")
        return 0 if ok else 1
    for name in ("dev", "test"):
        with open(os.path.join(HERE, name + ".jsonl"), "w", encoding="utf-8") as f:
            f.writelines(out[name])
    table(items, where)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
