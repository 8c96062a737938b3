"""The rules benchmarks run with one command and print the figures the docs quote."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_rules_bench_prints_engine_and_baselines() -> None:
    out = _run("bench.rules_bench", "--items", "60", "--repeat", "3")
    engine = re.search(r"\| rules engine \(`RuleSet.classify`, cold start\) \| ([\d,]+) \|", out)
    naive = re.search(r"\| naive baseline .*? \| ([\d,]+) \|", out)
    assert engine and naive, out
    ratio = re.search(r"ratio engine / naive baseline \| ([\d.]+)×", out)
    assert ratio and float(ratio.group(1)) > 1, out


def test_rules_compare_measures_both_trees() -> None:
    inside = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True)
    if inside.returncode != 0:
        pytest.skip("rules_compare needs a git checkout to take the old version from")
    out = _run("bench.rules_compare", "HEAD", "--rounds", "1", "--items", "40")
    assert re.search(r"\| 1 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|", out), out
    assert re.search(r"cold: median [\d.]+ → [\d.]+ µs/item", out), out
