#!/usr/bin/env python3
"""Sanity-check the JSONL files of the real-news corpus (ids, fields, category names).

Usage: python3 validate.py [file.jsonl ...]   (default: every *.jsonl here)
"""

import glob
import json
import os
import re
import sys

CATS = {
    "battery-manufacturing",
    "micro-mobility",
    "municipality",
    "regulation",
    "ev-market",
    "commercial-ev-manufacturing",
    "ev-manufacturing",
    "competition",
}
# Files of one labeller's blind labels: id and labels, no text.
LABELS_ONLY = re.compile(r"(extra_|round\d+_)?labels_[A-Z]{1,2}\.jsonl")
# The items as the second labeller saw them: text only.
UNLABELLED = re.compile(r"(extra|round\d+)_items\.jsonl")
# A development item whose summary opens with the same characters as a test item
# is the same story (another URL or outlet's copy): it would leak the frozen split.
SAME_STORY_CHARS = 100
# Each round's id letter and the labellers whose blind labels its items record.
PAIRS = {
    "r": [{"A", "B"}],
    "x": [{"B", "C"}],
    "y": [{"D", "E"}, {"F", "E"}],
    "z": [{"G", "E"}, {"H", "E"}],
    "w": [{"J", "E"}, {"K", "E"}],
    "v": [{"L", "Q"}, {"M", "R"}, {"P", "N"}],
    "u": [{"S", "U"}, {"T", "V"}],
    "t": [{"W", "Y"}, {"X", "Z"}],
    "s": [{"I", "AA"}, {"O", "AB"}],
    "q": [{"AC", "AE"}, {"AD", "AF"}],
    "p": [{"AG", "AI"}, {"AH", "AJ"}],
    "o": [{"AK", "AM"}, {"AL", "AN"}],
    "n": [{"AO", "AQ"}, {"AP", "AR"}],
    "m": [{"AS", "AW"}, {"AT", "AX"}],
    "l": [{"AU", "AY"}, {"AV", "AZ"}],
    "k": [{"BA", "BC"}, {"BB", "BD"}],
    "j": [{"BE", "BG"}, {"BF", "BH"}],
    "i": [{"BI", "BK"}, {"BJ", "BL"}],
    "h": [{"BM", "BO"}, {"BN", "BP"}],
    "g": [{"BQ", "BS"}, {"BR", "BT"}],
    "f": [{"BU", "BW"}, {"BV", "BX"}],
    "e": [{"BY", "CA"}, {"BZ", "CB"}],
}
HERE = os.path.dirname(os.path.abspath(__file__))


def check(path):
    errs, ids = [], []
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    for n, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
        except ValueError as e:
            errs.append(f"{path}:{n}: bad JSON: {e}")
            continue
        i = d.get("id")
        if not isinstance(i, str) or not re.fullmatch(rf"[{''.join(PAIRS)}]\d{{4}}", i):
            errs.append(f"{path}:{n}: bad id {i!r}")
        ids.append(i)
        for key in ("gold", "also_ok"):
            v = d.get(key, [])
            unlabelled = UNLABELLED.fullmatch(os.path.basename(path))
            if key == "gold" and "gold" not in d and not unlabelled:
                errs.append(f"{path}:{n}: {i}: no gold")
            if not isinstance(v, list) or not set(v) <= CATS or len(set(v)) != len(v):
                errs.append(f"{path}:{n}: {i}: bad {key} {v!r}")
        if set(d.get("gold", [])) & set(d.get("also_ok", [])):
            errs.append(f"{path}:{n}: {i}: category in both gold and also_ok")
        if "labels" in d:
            lab = d["labels"]
            if set(lab) not in PAIRS[i[0]] or any(not set(x) <= CATS for x in lab.values()):
                errs.append(f"{path}:{n}: {i}: bad labels {lab!r}")
        if not LABELS_ONLY.fullmatch(os.path.basename(path)):
            for key in ("language", "title", "summary", "source"):
                if key not in d:
                    errs.append(f"{path}:{n}: {i}: missing {key}")
            if d.get("language") not in ("tr", "en"):
                errs.append(f"{path}:{n}: {i}: bad language")
    if len(set(ids)) != len(ids):
        errs.append(f"{path}: duplicate ids")
    return ids, errs


def stories_repeating_the_test_split(paths):
    """Items outside the test split that repeat a test item's story (by its opening)."""
    by_name = {os.path.basename(p): p for p in paths}
    if "test.jsonl" not in by_name:
        return []
    openings = {}
    with open(by_name["test.jsonl"], encoding="utf-8") as handle:
        for line in handle:
            d = json.loads(line)
            openings[d["summary"][:SAME_STORY_CHARS]] = d["id"]
    errs = []
    for name, path in sorted(by_name.items()):
        if name in ("test.jsonl", "items.jsonl") or LABELS_ONLY.fullmatch(name):
            continue
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                d = json.loads(line)
                twin = openings.get(d.get("summary", "")[:SAME_STORY_CHARS])
                if twin is not None and twin != d.get("id"):
                    errs.append(f"{name}: {d.get('id')} is the test item {twin}'s story")
    return errs


def main(paths):
    paths = paths or sorted(glob.glob(os.path.join(HERE, "*.jsonl")))
    allerr = []
    seen = {}
    for p in paths:
        ids, errs = check(p)
        seen[os.path.basename(p)] = set(ids)
        allerr += errs
        print(f"{os.path.basename(p)}: {len(ids)} items, {len(errs)} errors")
    allerr += stories_repeating_the_test_split(paths)
    if "items.jsonl" in seen:
        full = seen["items.jsonl"]
        for name in ("labels_B.jsonl",):
            if name in seen and seen[name] != full:
                allerr.append(f"{name}: ids differ from items.jsonl")
        if "extra.jsonl" in seen and seen["extra.jsonl"] & full:
            allerr.append("extra.jsonl: ids overlap items.jsonl")
        if "dev.jsonl" in seen and "test.jsonl" in seen:
            if seen["dev.jsonl"] & seen["test.jsonl"]:
                allerr.append("dev/test overlap")
            if seen["dev.jsonl"] | seen["test.jsonl"] != full:
                allerr.append("dev+test != items")
    for unlabelled in sorted(n for n in seen if UNLABELLED.fullmatch(n)):
        merged = unlabelled.replace("_items", "")
        if merged in seen and seen[merged] != seen[unlabelled]:
            allerr.append(f"{merged}: ids differ from {unlabelled}")
    for e in allerr:
        print(e)
    return 1 if allerr else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
