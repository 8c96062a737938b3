"""`evbot feeds …` subcommands that need no database: check, import-opml, export-opml.

`bot.cli.main` calls :func:`register`. Hooks for the application:

* ``classify(title, summary) -> str``: when given, ``feeds check`` prints its
  result (e.g. the categories) under each entry;
* ``extra(feeds_subparsers)``: called with the ``feeds`` sub-subparsers so
  ``feeds list`` (which needs the database) can be added next to these.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from feeds.catalog import (
    DEFAULT_CATALOG_PATH,
    CatalogError,
    FeedSpec,
    dump_catalog,
    load_catalog,
)
from feeds.fetch import DEFAULT_MAX_BYTES, FetchStatus, Validators, build_client, fetch
from feeds.opml import OpmlError, opml_to_specs, specs_to_opml
from feeds.parse import FeedParseError, parse_feed

__all__ = ["Classify", "check_feed", "register"]

Classify = Callable[[str, str], str]


def _catalog_path(value: str | None) -> Path:
    if value:
        return Path(value)
    env = os.environ.get("EVBOT_FEEDS_FILE")
    return Path(env) if env else DEFAULT_CATALOG_PATH


async def check_feed(
    url: str,
    *,
    out: TextIO,
    limit: int = 20,
    max_bytes: int = DEFAULT_MAX_BYTES,
    classify: Classify | None = None,
    total_timeout: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Fetch ``url`` once, print what a poll would see; exit status 0 if usable."""
    async with build_client(transport=transport) as client:
        result = await fetch(
            client, url, Validators(), max_bytes=max_bytes, total_timeout=total_timeout
        )
    print(f"URL:     {url}", file=out)
    if result.final_url != url:
        print(f"final:   {result.final_url}", file=out)
    if result.moved_to:
        print(f"moved permanently to {result.moved_to} (update the catalog)", file=out)
    status = result.http_status if result.http_status is not None else "-"
    print(f"HTTP:    {status}  ({result.elapsed:.2f} s)", file=out)
    if result.status is not FetchStatus.OK or result.body is None:
        print(f"error:   {result.error_kind}: {result.error}", file=out)
        return 1
    ctype = result.content_type or "no content type"
    print(f"body:    {len(result.body)} bytes, {ctype}", file=out)
    validators = [
        k
        for k, v in (
            ("ETag", result.validators.etag),
            ("Last-Modified", result.validators.last_modified),
        )
        if v
    ]
    print(f"conditional GET: {', '.join(validators) or 'not supported by the server'}", file=out)
    try:
        parsed = parse_feed(
            result.body,
            base_url=result.final_url,
            now=datetime.now(UTC),
            content_type=result.content_type,
        )
    except FeedParseError as exc:
        print(f"error:   {exc}", file=out)
        return 1
    print(f"feed:    {parsed.title or '(untitled)'} — {len(parsed.entries)} entries", file=out)
    for warning in parsed.warnings:
        print(f"warning: {warning}", file=out)
    for entry in parsed.entries[:limit]:
        when = entry.published.strftime("%Y-%m-%d %H:%M UTC") if entry.published else "no date"
        print(f"\n- {entry.title}", file=out)
        print(f"  {when} · {entry.link or 'no link'}", file=out)
        print(f"  id: {entry.identity}", file=out)
        if classify is not None:
            print(f"  {classify(entry.title, entry.summary)}", file=out)
    if len(parsed.entries) > limit:
        print(f"\n… {len(parsed.entries) - limit} more", file=out)
    return 0


def _write(text: str, target: str | None) -> None:
    if target:
        Path(target).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _import_opml(args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
        imported = opml_to_specs(text, default_language=args.language)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.file}: cannot read: {exc}", file=sys.stderr)
        return 1
    except OpmlError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    existing: list[FeedSpec] = []
    if args.catalog and Path(args.catalog).exists():
        try:
            existing = load_catalog(args.catalog)
        except CatalogError as exc:
            print(exc, file=sys.stderr)
            return 1
    # Merge: keep every existing feed, add new URLs with ids made unique.
    urls = {spec.url for spec in existing}
    ids = {spec.id for spec in existing}
    merged = list(existing)
    added = 0
    for spec in imported:
        if spec.url in urls:
            continue
        feed_id, n = spec.id, 2
        while feed_id in ids:
            feed_id, n = f"{spec.id}-{n}", n + 1
        ids.add(feed_id)
        urls.add(spec.url)
        merged.append(replace(spec, id=feed_id))
        added += 1
    _write(dump_catalog(merged), args.catalog)
    print(f"{added} feeds imported, {len(imported) - added} already present", file=sys.stderr)
    return 0


def _export_opml(args: argparse.Namespace) -> int:
    try:
        specs = load_catalog(_catalog_path(args.catalog))
    except CatalogError as exc:
        print(exc, file=sys.stderr)
        return 1
    _write(specs_to_opml(specs), args.output)
    return 0


def register(
    subparsers: Any,
    *,
    classify: Classify | None = None,
    extra: Callable[[Any], None] | None = None,
) -> argparse.ArgumentParser:
    """Add ``feeds`` with ``check``, ``import-opml`` and ``export-opml``.

    ``subparsers`` is the object returned by ``add_subparsers()``. Returns the
    ``feeds`` parser. Each leaf sets ``func(Namespace) -> int`` (exit status).
    """
    feeds = subparsers.add_parser("feeds", help="check feeds, import/export OPML")
    sub = feeds.add_subparsers(dest="feeds_command", metavar="COMMAND", required=True)

    check = sub.add_parser("check", help="fetch a feed once and show its parsed entries")
    check.add_argument("url")
    check.add_argument("--limit", type=int, default=20, help="entries to show (default 20)")
    check.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")

    def run_check(args: argparse.Namespace) -> int:
        return asyncio.run(
            check_feed(
                args.url,
                out=sys.stdout,
                limit=args.limit,
                classify=classify,
                total_timeout=args.timeout,
            )
        )

    check.set_defaults(func=run_check)

    imp = sub.add_parser("import-opml", help="add the feeds of an OPML file to a catalog")
    imp.add_argument("file")
    imp.add_argument(
        "--catalog",
        metavar="OUT",
        help="catalog YAML to merge into and write (default: print to stdout)",
    )
    imp.add_argument(
        "--language",
        choices=("tr", "en"),
        default="tr",
        help="language of outlines without one (default tr)",
    )
    imp.set_defaults(func=_import_opml)

    exp = sub.add_parser("export-opml", help="write the catalog as OPML 2.0")
    exp.add_argument(
        "--catalog",
        metavar="FILE",
        help="catalog YAML (default: $EVBOT_FEEDS_FILE or the bundled one)",
    )
    exp.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    exp.set_defaults(func=_export_opml)

    if extra is not None:
        extra(sub)
    return feeds  # type: ignore[no-any-return]
