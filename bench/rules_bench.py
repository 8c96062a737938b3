"""Rules classification throughput: the engine against a naive per-term regex loop.

Run: ``python -m bench.rules_bench [--items N]``. Prints a markdown table.

Both contenders see the same items, built from the labelled corpus by pairing
the title of one item with the summary of another and adding a serial number
(so no two texts are identical). The engine starts from a freshly loaded rule
set, so the figure includes filling its word cache; a second engine row also
reads every ``Classification.matches`` entry, as bot/ingest.py does for each
new item. The baseline is what a first attempt looks like: every term of the
same rules file, lower-cased, searched with ``re.search(term, text.lower())``.
A second, stronger baseline precompiles the patterns first. The process is
pinned to one CPU. Each engine row is the median of ``--repeat`` runs (each
from a fresh rule set, so each is a cold start) with the slowest and fastest
beside it; the baselines take minutes, so they run once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from rules import load_rules

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "corpus.jsonl"


def build_items(count: int) -> list[tuple[str, str]]:
    """``count`` (title, summary) pairs derived from the corpus."""
    with open(CORPUS, encoding="utf-8") as handle:
        base = [json.loads(line) for line in handle if line.strip()]
    items = []
    for n in range(count):
        head = base[n % len(base)]
        tail = base[(n * 7 + 3) % len(base)]
        items.append((f"{head['title']} ({n})", str(tail.get("summary") or "")))
    return items


def bench_engine(items: list[tuple[str, str]]) -> float:
    """Items per second of RuleSet.classify, starting from a cold rule set."""
    ruleset = load_rules()
    start = time.perf_counter()
    for title, summary in items:
        ruleset.classify(title, summary)
    return len(items) / (time.perf_counter() - start)


def bench_engine_explained(items: list[tuple[str, str]]) -> float:
    """Items per second of classify plus reading every explanation, as bot/ingest.py does."""
    ruleset = load_rules()
    start = time.perf_counter()
    for title, summary in items:
        result = ruleset.classify(title, summary)
        _ = {key: [hit.term for hit in hits] for key, hits in result.matches.items()}
    return len(items) / (time.perf_counter() - start)


def baseline_terms() -> list[str]:
    """Every term of the bundled rules as an escaped, lower-cased regex."""
    sources = [source.strip("=*") for source in load_rules().term_sources()]
    return [re.escape(source.lower()) for source in sources]


def bench_baseline(items: list[tuple[str, str]], terms: list[str]) -> float:
    """Items per second of looping over every term with re.search on lower()-ed text."""
    start = time.perf_counter()
    for title, summary in items:
        text = f"{title} {summary}".lower()
        _ = [term for term in terms if re.search(term, text)]
    return len(items) / (time.perf_counter() - start)


def bench_precompiled(items: list[tuple[str, str]], terms: list[str]) -> float:
    """The same loop with every pattern compiled once beforehand."""
    patterns = [re.compile(term) for term in terms]
    start = time.perf_counter()
    for title, summary in items:
        text = f"{title} {summary}".lower()
        _ = [p.pattern for p in patterns if p.search(text)]
    return len(items) / (time.perf_counter() - start)


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, or the platform's answer."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def repeated(
    bench: Callable[[list[tuple[str, str]]], float], items: list[tuple[str, str]], times: int
) -> tuple[float, float, float]:
    """(median, slowest, fastest) items per second of ``times`` runs of ``bench``."""
    rates = [bench(items) for _ in range(times)]
    return statistics.median(rates), min(rates), max(rates)


def main() -> None:
    """Run both benchmarks and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each engine row")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    items = build_items(args.items)
    terms = baseline_terms()
    engine, engine_low, engine_high = repeated(bench_engine, items, args.repeat)
    explained, explained_low, explained_high = repeated(bench_engine_explained, items, args.repeat)
    baseline = bench_baseline(items, terms)
    precompiled = bench_precompiled(items, terms)
    print(f"Rules classification benchmark, {dt.date.today().isoformat()}")
    print()
    print(f"- machine: {cpu_model()}, nproc {os.cpu_count()}, one core used")
    print(f"- Python {platform.python_version()}, {len(items):,} items, {len(terms)} terms")
    print(f"- load average at start: {os.getloadavg()[0]:.2f}")
    print()
    print(f"| contender | items/s (median of {args.repeat}) | slowest – fastest run |")
    print("|---|---:|---:|")
    print(
        f"| rules engine (`RuleSet.classify`, cold start) | {engine:,.0f} "
        f"| {engine_low:,.0f} – {engine_high:,.0f} |"
    )
    print(
        f"| rules engine + explanations (`result.matches` read, cold start) | {explained:,.0f} "
        f"| {explained_low:,.0f} – {explained_high:,.0f} |"
    )
    print(
        f"| naive baseline (`re.search(term, text.lower())` per term) | {baseline:,.0f} | one run |"
    )
    print(f"| precompiled baseline (`pattern.search` per term) | {precompiled:,.0f} | one run |")
    print(f"| ratio engine / naive baseline | {engine / baseline:.1f}× | |")
    print(f"| ratio engine / precompiled baseline | {engine / precompiled:.1f}× | |")
    print(f"| ratio engine + explanations / precompiled | {explained / precompiled:.1f}× | |")


if __name__ == "__main__":
    main()
