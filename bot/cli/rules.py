"""The rules subcommands of the evbot CLI: classify, check-rules, eval-rules, suggest-terms.

``register(subparsers)`` is called by bot.cli.main; each command returns its exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rules import (
    CATEGORY_IDS,
    DEFAULT_RULES_PATH,
    RulesError,
    RuleSet,
    check_rules,
    evaluate,
    load_rules,
)
from rules.links import item_title
from rules.suggest import format_suggestions, suggest_terms

if TYPE_CHECKING:
    from bot.models import FeedbackRow

__all__ = [
    "cmd_check_rules",
    "cmd_classify",
    "cmd_eval_rules",
    "cmd_suggest_terms",
    "feedback_items",
    "register",
]

RULES_ENV = "EVBOT_RULES_FILE"
DATABASE_ENV = "EVBOT_DATABASE_URL"


def _rules_path(explicit: str | None) -> Path:
    """--rules, else $EVBOT_RULES_FILE, else the bundled rules."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(RULES_ENV, "").strip()
    return Path(env) if env else DEFAULT_RULES_PATH


def _load(explicit: str | None, err: IO[str]) -> RuleSet | None:
    try:
        return load_rules(_rules_path(explicit))
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the classify, check-rules and eval-rules subcommands."""
    classify = subparsers.add_parser(
        "classify",
        help="classify items (JSON Lines on stdin or --input) or one free text",
        description=(
            "Classify JSON Lines items ({id, title, summary?, language?, link?}; an item"
            " without a title is read with the headline its link spells) or one text."
        ),
    )
    classify.add_argument("text", nargs="?", help="free text to classify (instead of JSON Lines)")
    classify.add_argument("--input", metavar="FILE", help="read JSON Lines from FILE, not stdin")
    classify.add_argument("--rules", metavar="FILE", help=f"rules file (default: ${RULES_ENV})")
    classify.add_argument("--lang", default="en", choices=("en", "tr"), help="explanation language")
    classify.set_defaults(func=cmd_classify)

    check = subparsers.add_parser(
        "check-rules", help="validate a rules file", description="Validate a rules file."
    )
    check.add_argument("file", nargs="?", help=f"rules file (default: ${RULES_ENV} or bundled)")
    check.set_defaults(func=cmd_check_rules)

    ev = subparsers.add_parser(
        "eval-rules",
        help="score the rules on a labelled corpus",
        description="Per-category precision/recall/F1 on a JSON Lines corpus with gold labels.",
    )
    ev.add_argument(
        "corpus", nargs="?", help="JSON Lines file with id, title, summary, gold, also_ok"
    )
    ev.add_argument("--rules", metavar="FILE", help=f"rules file (default: ${RULES_ENV})")
    ev.add_argument(
        "--feedback",
        action="store_true",
        help=f"also score the editors' stored corrections (database from ${DATABASE_ENV})",
    )
    ev.add_argument("--min-macro-f1", type=float, help="exit 1 if macro F1 is below this")
    ev.add_argument(
        "--max-false-alarms", type=float, help="exit 1 if the false-alarm rate (0-1) is above this"
    )
    ev.set_defaults(func=cmd_eval_rules)

    sug = subparsers.add_parser(
        "suggest-terms",
        help="propose terms that would fix the rules' misses on a labelled corpus",
        description=(
            "Per category, words and two-word phrases of the labelled texts that would fix "
            "the most misses if added as an 'any' term, with the precision and recall the "
            "category would then have on these corpora (pooled) and how many of its items "
            "share the term. Nothing is changed."
        ),
    )
    sug.add_argument(
        "corpus",
        nargs="+",
        help="JSON Lines files with id, title, summary, gold, also_ok (pooled; several "
        "rounds together favour terms that hold across them)",
    )
    sug.add_argument("--rules", metavar="FILE", help=f"rules file (default: ${RULES_ENV})")
    sug.add_argument("--top", type=int, default=10, help="terms per category (default 10)")
    sug.add_argument(
        "--category", action="append", choices=CATEGORY_IDS, help="only this category (repeatable)"
    )
    sug.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sug.set_defaults(func=cmd_suggest_terms)


def _read_lines(args: argparse.Namespace) -> Iterator[tuple[int, str]]:
    if args.input:
        with open(args.input, encoding="utf-8") as handle:
            yield from enumerate(handle, 1)
    else:
        yield from enumerate(sys.stdin, 1)


def cmd_classify(args: argparse.Namespace) -> int:
    """evbot classify: JSON line per input item, or a readable answer for one text."""
    ruleset = _load(args.rules, sys.stderr)
    if ruleset is None:
        return 2
    if args.text is not None:
        result = ruleset.classify(args.text)
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        print(result.explain(args.lang))
        tags = [t.hashtag for t in ruleset.topics if t.id in result.topics]
        tags += [t.hashtag for t in ruleset.entities if t.id in result.entities]
        if tags:
            print(" ".join(tags))
        return 0
    status = 0
    try:
        for number, line in _read_lines(args):
            if not line.strip():
                continue
            item = _parse_item(line)
            if isinstance(item, str):
                print(f"line {number}: {item}", file=sys.stderr)
                status = 1
                continue
            result = ruleset.classify(
                item_title(item),
                str(item.get("summary") or ""),
                str(item["language"]) if item.get("language") else None,
            )
            out = {"id": item.get("id"), **result.to_json()}
            print(json.dumps(out, ensure_ascii=False), flush=False)
    except OSError as exc:
        print(f"cannot read input: {exc}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    return status


def _parse_item(line: str) -> dict[str, Any] | str:
    """The item of one input line, or a message saying what is wrong with it."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(item, dict):
        return "expected a JSON object"
    if "id" not in item:
        return "missing 'id'"
    for key in ("title", "summary", "language"):
        if item.get(key) is not None and not isinstance(item[key], str):
            return f"'{key}' must be a string"
    if not item.get("title") and not item.get("summary"):
        return "needs a 'title' or a 'summary'"
    return item


def cmd_check_rules(args: argparse.Namespace) -> int:
    """evbot check-rules: exit 0 and a summary line, or 1 and one line per problem."""
    path = _rules_path(args.file)
    problems = check_rules(path)
    if problems:
        for problem in problems:
            print(problem)
        return 1
    print(f"{path}: OK, {load_rules(path).summary_line()}")
    return 0


def _read_corpus(path: str) -> list[dict[str, Any]] | None:
    """The JSON objects of a JSON Lines corpus, or None after printing why it cannot be read."""
    items: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    print(f"{path}:{number}: invalid JSON ({exc.msg})", file=sys.stderr)
                    return None
                if isinstance(item, dict):
                    items.append(item)
    except OSError as exc:
        print(f"cannot read corpus: {exc}", file=sys.stderr)
        return None
    return items


def cmd_suggest_terms(args: argparse.Namespace) -> int:
    """evbot suggest-terms: per category, the terms that would fix the most misses."""
    ruleset = _load(args.rules, sys.stderr)
    if ruleset is None:
        return 2
    items: list[dict[str, object]] = []
    for path in args.corpus:
        read = _read_corpus(path)
        if read is None:
            return 2
        items.extend(read)
    found = suggest_terms(ruleset, items, top=max(args.top, 1), categories=args.category)
    if args.json:
        out = {cat: [s.to_json() for s in terms] for cat, terms in found.items()}
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(format_suggestions(found))
    return 0


def cmd_eval_rules(args: argparse.Namespace) -> int:
    """evbot eval-rules: print the report; exit 1 if a given target is missed."""
    if not args.corpus and not args.feedback:
        print("give a corpus file, --feedback, or both", file=sys.stderr)
        return 2
    ruleset = _load(args.rules, sys.stderr)
    if ruleset is None:
        return 2
    sets: list[tuple[str, list[dict[str, Any]]]] = []
    if args.corpus:
        items = _read_corpus(args.corpus)
        if items is None:
            return 2
        sets.append((args.corpus, items))
    if args.feedback:
        stored = _read_feedback()
        if stored is None:
            return 2
        sets.append((f"stored corrections ({len(stored)})", stored))
    failed = []
    for name, items in sets:
        report = evaluate(ruleset, items)
        if len(sets) > 1:
            print(f"== {name} ==")
        print(report.format())
        if len(sets) > 1:
            print()
        if args.min_macro_f1 is not None and report.macro_f1 < args.min_macro_f1:
            failed.append(f"{name}: macro F1 {report.macro_f1:.3f} < {args.min_macro_f1}")
        if args.max_false_alarms is not None and report.false_alarm_rate > args.max_false_alarms:
            failed.append(
                f"{name}: false alarms {report.false_alarm_rate:.1%} > {args.max_false_alarms:.1%}"
            )
    for message in failed:
        print(f"TARGET MISSED: {message}", file=sys.stderr)
    return 1 if failed else 0


def _read_feedback() -> list[dict[str, Any]] | None:
    """The stored corrections as corpus items (the latest per story), or None after saying why."""
    from bot.settings import DEFAULT_DATABASE_URL

    url = os.environ.get(DATABASE_ENV, "").strip() or DEFAULT_DATABASE_URL
    try:
        rows = asyncio.run(_stored_feedback(url))
    except Exception as exc:  # any database error: the command explains and exits
        print(
            f"cannot read the stored corrections from ${DATABASE_ENV}: {exc}\n"
            "(is the schema current? run: evbot db upgrade)",
            file=sys.stderr,
        )
        return None
    return feedback_items(rows)


async def _stored_feedback(url: str) -> list[FeedbackRow]:
    # Imported here so the rules commands do not load the database layer.
    from bot.storage import Storage

    storage = await Storage.open(url, migrate=False)
    try:
        return await storage.feedback()
    finally:
        await storage.close()


def feedback_items(rows: list[FeedbackRow]) -> list[dict[str, Any]]:
    """Corrections as labelled items for `evaluate`; a story corrected twice counts once (last)."""
    latest: dict[object, FeedbackRow] = {}
    for row in rows:
        latest[row.item_id if row.item_id is not None else f"row{row.id}"] = row
    return [
        {
            "id": f"feedback-{row.id}",
            "title": row.title,
            "summary": row.summary,
            "language": row.language,
            "gold": list(row.categories),
        }
        for row in latest.values()
    ]
