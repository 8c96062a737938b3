"""Before/after for the rules engine: a git revision against the working tree, in turns.

Run: ``python -m bench.rules_compare REV [--rounds 4] [--items 10000]``.

A noisy machine moves absolute figures by 10-30% between runs minutes apart,
so one run of each version says little. This checks REV out into a temporary
git worktree and alternates the two versions ``--rounds`` times, each time in
a fresh process that classifies the same items from a cold rule set (best of
7), then again warm, then from a cold rule set reading every explanation (as
bot/ingest/classify.py does). Prints a markdown table and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(items: int) -> dict[str, float]:
    """Best-of-7 microseconds per item for the ``rules`` package on sys.path.

    Cold (fresh rule set) and warm, classification alone and with every
    explanation read as bot/ingest/classify.py reads it.
    """
    from bench.rules_bench import build_items
    from rules import load_rules

    data = build_items(items)
    times: dict[str, list[float]] = {"cold_us": [], "warm_us": [], "explained_us": []}
    for _ in range(7):
        ruleset = load_rules()
        for kind in ("cold_us", "warm_us"):
            start = time.perf_counter()
            for title, summary in data:
                ruleset.classify(title, summary)
            times[kind].append((time.perf_counter() - start) / len(data) * 1e6)
        ruleset = load_rules()
        start = time.perf_counter()
        for title, summary in data:
            result = ruleset.classify(title, summary)
            _ = {key: [hit.term for hit in hits] for key, hits in result.matches.items()}
        times["explained_us"].append((time.perf_counter() - start) / len(data) * 1e6)
    import rules

    if Path(rules.__file__).resolve().parents[1] != Path.cwd().resolve():
        raise SystemExit(f"measured the wrong tree: {rules.__file__}")
    return {kind: min(values) for kind, values in times.items()}


def _run_in(tree: Path, items: int) -> dict[str, float]:
    # This file runs as a script (the old tree may not have it); ``rules`` and
    # ``bench.rules_bench`` come from ``tree``, ahead of the editable install.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT)])}
    child = [sys.executable, str(Path(__file__).resolve()), "--child", "--items", str(items)]
    out = subprocess.run(child, cwd=tree, env=env, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.splitlines()[-1])
    return result


def main() -> None:
    """Alternate REV and the working tree; print per-round figures and median ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        print(json.dumps(measure(args.items)))
        return
    if not args.rev:
        parser.error("a git revision is needed, e.g. HEAD~3")
    with tempfile.TemporaryDirectory(prefix="evbot-rules-") as tmp:
        old = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old),
                        args.rev], check=True)  # fmt: skip
        try:
            rows = []
            for _ in range(args.rounds):
                rows.append((_run_in(old, args.items), _run_in(ROOT, args.items)))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           check=False)  # fmt: skip
    print(f"Rules engine, {args.rev} (A) against the working tree (B), {args.items:,} items")
    print()
    kinds = ("cold_us", "warm_us", "explained_us")
    heads = " | ".join(f"A {k[:-3]} µs/item | B {k[:-3]} µs/item" for k in kinds)
    print(f"| round | {heads} |")
    print("|---:|" + "---:|" * (2 * len(kinds)))
    for n, (a, b) in enumerate(rows, 1):
        print(f"| {n} | " + " | ".join(f"{a[k]:.2f} | {b[k]:.2f}" for k in kinds) + " |")
    for kind in kinds:
        before = statistics.median(a[kind] for a, _ in rows)
        after = statistics.median(b[kind] for _, b in rows)
        print(
            f"\n{kind[:-3]}: median {before:.2f} → {after:.2f} µs/item ({before / after:.2f}×; "
            f"{1e6 / before:,.0f} → {1e6 / after:,.0f} items/s)"
        )


if __name__ == "__main__":
    main()
