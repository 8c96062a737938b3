"""`python -m bench` (or `make bench`): every benchmark, one after the other.

Each benchmark prints a markdown table with the machine and date; copy the
tables into docs/benchmarks.md. Run them on a quiet machine: they measure
ratios side by side within one run, but absolute figures follow the load.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    ("Rules classification", ["bench.rules_bench"]),
    ("Feeds polling", ["bench.feeds_bench"]),
    ("Delivery (2,000 chats × 5 stories, Telegram's limits)", ["bench.delivery_bench"]),
    (
        "Delivery with kill -9 mid-burst",
        ["bench.delivery_bench", "--chats", "300", "--stories", "2", "--crash-after", "150"],
    ),
]


def main() -> int:
    """Run all benchmarks; the exit status is the first failure's."""
    status = 0
    for title, args in BENCHMARKS:
        print(f"\n## {title}\n", flush=True)
        result = subprocess.run([sys.executable, "-m", *args], check=False)
        status = status or result.returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main())
