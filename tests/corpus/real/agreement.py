#!/usr/bin/env python3
"""Inter-annotator agreement of the two blind labellers (A, B) on items.jsonl.

Reads `labels: {"A": [...], "B": [...]}` (each labeller's blind `gold` set) and prints
the exact-match rate over items and Cohen's kappa per category (binary: category in the
gold set or not), plus each labeller's exact-match rate with the adjudicated `gold`.
Plain python3, no dependencies:  python3 tests/corpus/real/agreement.py
"""

import json
import os
import sys

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


def kappa(a, b):
    """Cohen's kappa for two equal-length lists of booleans."""
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=False)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def main(path):
    with open(path, encoding="utf-8") as lines:
        items = [json.loads(line) for line in lines]
    A = [set(d["labels"]["A"]) for d in items]
    B = [set(d["labels"]["B"]) for d in items]
    F = [set(d["gold"]) for d in items]
    n = len(items)
    exact = sum(a == b for a, b in zip(A, B, strict=False))
    print(f"items: {n}")
    print(f"exact match A=B (gold sets): {exact}/{n} = {exact / n:.3f}")
    print(f"items adjudicated: {sum(1 for d in items if d.get('adjudicated'))}")
    negA = [not a for a in A]
    negB = [not b for b in B]
    rows = [(c, [c in a for a in A], [c in b for b in B]) for c in CATS]
    rows.append(("(negative: no category)", negA, negB))
    print()
    print(
        f"{'category':<30} {'A':>4} {'B':>4} {'both':>5} {'only A':>7} {'only B':>7} {'kappa':>6}"
    )
    for name, xa, xb in rows:
        both = sum(x and y for x, y in zip(xa, xb, strict=False))
        oa = sum(x and not y for x, y in zip(xa, xb, strict=False))
        ob = sum(y and not x for x, y in zip(xa, xb, strict=False))
        print(
            f"{name:<30} {sum(xa):>4} {sum(xb):>4} {both:>5} {oa:>7} {ob:>7} {kappa(xa, xb):>6.3f}"
        )
    ks = [kappa(xa, xb) for _, xa, xb in rows[:-1]]
    print(
        f"{'mean kappa (8 categories)':<30} {'':>4} {'':>4} {'':>5} {'':>7} {'':>7}"
        f" {sum(ks) / len(ks):>6.3f}"
    )
    print()
    for who, L in (("A", A), ("B", B)):
        m = sum(x == f for x, f in zip(L, F, strict=False))
        print(f"exact match {who} vs final gold: {m}/{n} = {m / n:.3f}")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "items.jsonl"))
