"""Archive benchmark: page, category and search latency with 100,000 stories (SQLite, PostgreSQL).

Fills a fresh database with synthetic stories (Turkish and English words, one
or two categories each, one in ten uncategorised, one in twenty about "şarj
istasyonu"), serves the archive on a loopback port and requests each page
sequentially, a fixed number of times after a warm-up. Latency is measured
at the client, so it includes HTTP, SQL and rendering. The target is p95
under 50 ms for `/`, a category page and a search.

    python -m bench.archive_bench [--stories 100000] [--requests 200] [--postgres URL|--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from aiohttp import web
from sqlalchemy import insert, text

from bot.models import CatalogFeed
from bot.storage import Storage
from bot.storage import schema as t
from bot.web.site import ArchiveSite
from rules import load_rules
from rules.model import CATEGORY_IDS

TARGET_MS = 50.0
VOCABULARY = (
    "elektrikli araç batarya fabrika üretim yatırım belediye otobüs togg ford otosan karsan "
    "yönetmelik epdk lisans teşvik ihracat satış pazar rekor hücre lityum scooter kask "
    "yarışma tübitak teknofest filo hibrit menzil kocaeli izmir istanbul ankara bursa "
    "electric vehicle battery plant sales market charging grid subsidy export record"
)
WORDS = VOCABULARY.split()
FEEDS = [
    CatalogFeed(f"feed{n}", f"Kaynak {n}", f"https://f{n}.example/rss", "tr", None, True)
    for n in range(20)
]


def synthetic(n: int, rng: random.Random, start: datetime) -> tuple[dict, list[str], list[str]]:
    """One story row, its categories and its feeds."""
    words = rng.choices(WORDS, k=rng.randint(6, 11))
    if n % 20 == 0:
        words.insert(rng.randint(0, len(words)), "şarj istasyonu")
    title = " ".join(words).capitalize()
    summary = " ".join(rng.choices(WORDS, k=rng.randint(15, 35)))
    categories = [] if n % 10 == 9 else rng.sample(CATEGORY_IDS, rng.choice((1, 1, 2)))
    feeds = rng.sample([f.id for f in FEEDS], rng.choice((1, 1, 1, 2, 3)))
    row = {
        "id": n + 1,
        "feed_id": feeds[0],
        "title": title,
        "summary": summary,
        "link": f"https://{feeds[0]}.example/news/{n}",
        "canonical_link": f"https://{feeds[0]}.example/news/{n}",
        "title_key": title.lower(),
        "published_at": start + timedelta(minutes=n),
        "first_seen_at": start + timedelta(minutes=n),
        "categories": json.dumps(categories),
        "topics": "[]",
        "entities": "[]",
        "matches": json.dumps({c: ["elektrikli"] for c in categories}),
    }
    return row, categories, feeds


async def fill(storage: Storage, count: int) -> float:
    """Insert `count` stories in bulk; seconds taken."""
    began = time.perf_counter()
    await storage.sync_catalog(FEEDS)
    rng = random.Random(18)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chunk = 5000
    for first in range(0, count, chunk):
        items, cats, sources = [], [], []
        for n in range(first, min(first + chunk, count)):
            row, categories, feeds = synthetic(n, rng, start)
            items.append(row)
            cats += [{"item_id": row["id"], "category": c} for c in categories]
            sources += [
                {
                    "item_id": row["id"],
                    "feed_id": f,
                    "link": row["link"],
                    "seen_at": row["first_seen_at"] + timedelta(seconds=k),
                }
                for k, f in enumerate(feeds)
            ]
        async with storage.engine.begin() as conn:
            await conn.execute(insert(t.items), items)
            await conn.execute(insert(t.item_categories), cats)
            await conn.execute(insert(t.item_sources), sources)
    async with storage.engine.begin() as conn:
        if storage.dialect == "postgresql":
            await conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('items', 'id'), {count})")
            )
        await conn.execute(text("ANALYZE"))
    return time.perf_counter() - began


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def measure(
    storage: Storage, stories: int, requests: int
) -> list[tuple[str, float, float, float]]:
    """(route, p50, p95, max) in ms for each page."""
    rules = load_rules()
    site = ArchiveSite(storage, lambda: rules, bot_username=lambda: "evbot_news_bot")
    app = web.Application()
    site.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    paths = [
        ("/", "/"),
        ("/c/municipality", "/c/municipality"),
        ("/c/municipality, page 200", None),
        ("/search?q=sarj istasyonu", "/search?q=sarj+istasyonu"),
        ("/search?q=togg batarya", "/search?q=togg+batarya"),
        ("/s/<id>", "/s/{middle}"),
        ("/feeds/all.atom", "/feeds/all.atom"),
    ]
    results = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for label, path in paths:
                path = path and path.format(middle=stories // 2 + 1)
                if path is None:  # a deep page: the id 200 pages back, by walking the ids
                    deep = await storage.archive_stories(category="municipality", limit=4000)
                    path = f"/c/municipality?before={deep[-1].id}"
                for _ in range(10):
                    (await http.get(path)).raise_for_status()
                times = []
                for _ in range(requests):
                    began = time.perf_counter()
                    response = await http.get(path)
                    times.append((time.perf_counter() - began) * 1000)
                    response.raise_for_status()
                results.append((label, statistics.median(times), percentile(times, 95), max(times)))
    finally:
        await runner.cleanup()
    return results


async def run_backend(
    name: str, url: str, schema: str | None, args: argparse.Namespace
) -> list[str]:
    storage = await Storage.open(url, schema=schema)
    try:
        seconds = await fill(storage, args.stories)
        rows = await measure(storage, args.stories, args.requests)
    finally:
        await storage.close()
    lines = []
    for label, p50, p95, worst in rows:
        verdict = "✓" if p95 < TARGET_MS else "✗"
        lines.append(f"| {name} | `{label}` | {p50:.1f} | {p95:.1f} {verdict} | {worst:.1f} |")
    print(f"{name}: {args.stories:,} stories loaded in {seconds:.0f} s", flush=True)
    print("\n".join(lines), flush=True)  # at once, in case a later backend fails
    return lines


async def main_async(args: argparse.Namespace) -> int:
    lines: list[str] = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="evbot-archive-bench-") as tmp:
            path = f"sqlite:///{Path(tmp)}/bench.sqlite3"
            lines += await run_backend("SQLite", path, None, args)
    if args.postgres:
        import asyncpg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(args.postgres)
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.close()
        try:
            lines += await run_backend("PostgreSQL", args.postgres, schema, args)
        finally:
            conn = await asyncpg.connect(args.postgres)
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await conn.close()
    print()
    print(
        f"Archive latency, {args.stories:,} stories, {args.requests} sequential requests per "
        f"page after a warm-up, measured at the client (HTTP + SQL + rendering); "
        f"target p95 < {TARGET_MS:g} ms."
    )
    print(
        f"{datetime.now(UTC):%Y-%m-%d}, machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print()
    print("| database | page | p50 ms | p95 ms | max ms |")
    print("|---|---|---:|---:|---:|")
    for line in lines:
        print(line)
    return 0 if all("✓" in line for line in lines) else 1


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    default_pg = os.environ.get("EVBOT_TEST_POSTGRES_URL")
    parser.add_argument(
        "--postgres", default=default_pg, help="PostgreSQL URL (default: EVBOT_TEST_POSTGRES_URL)"
    )
    parser.add_argument("--no-postgres", dest="postgres", action="store_const", const=None)
    parser.add_argument("--no-sqlite", dest="skip_sqlite", action="store_true")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
