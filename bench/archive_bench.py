"""Archive benchmark: page, category and search latency with 100,000 stories (SQLite, PostgreSQL).

Fills a fresh database with synthetic stories (Turkish and English words, one
or two categories each, one in ten uncategorised, one in twenty about "şarj
istasyonu"), serves the archive on a loopback port and requests each page
sequentially, a fixed number of times after a warm-up. Latency is measured
at the client, so it includes HTTP, SQL and rendering. The target is p95
under 50 ms for `/`, a category page and a search.

Two sites serve the same database side by side: "before" with the page
cache off (every request renders, as the archive did before the cache) and
"after" with it on. First each page alone, the sites taking turns request by
request; then under load: readers in another process send the mix (home,
categories, older pages, searches of which a third were never asked before,
story pages, conditional feed polls) while a writer stores a new story every
second, emptying the cache each time.

    python -m bench.archive_bench [--stories 100000] [--requests 200] [--mixed 2000]
        [--rate 40] [--ingest-every 1] [--postgres URL|--no-postgres] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from aiohttp import web
from sqlalchemy import insert, text

from bot.models import CatalogFeed
from bot.storage import Storage
from bot.storage import schema as t
from bot.web.cache import DEFAULT_SIZE
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


@dataclass
class Served:
    """One archive site on a loopback port: "before" (page cache off) or "after"."""

    name: str
    site: ArchiveSite
    runner: web.AppRunner
    base: str


async def serve(storage: Storage, name: str, cache_size: int) -> Served:
    rules = load_rules()
    site = ArchiveSite(
        storage, lambda: rules, bot_username=lambda: "evbot_news_bot", cache_size=cache_size
    )
    app = web.Application()
    site.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    return Served(name, site, runner, f"http://127.0.0.1:{runner.addresses[0][1]}")


async def timed(http: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> float:
    """Milliseconds for one GET, measured at the client."""
    began = time.perf_counter()
    response = await http.get(url, headers=headers)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code not in (200, 304):
        response.raise_for_status()
    return elapsed


async def sequential(
    storage: Storage, sites: list[Served], stories: int, requests: int
) -> list[tuple[str, str, float, float, float]]:
    """(route, site, p50, p95, max) in ms: each page alone, one request at a time.

    The sites take turns request by request, so a burst of load from other
    jobs on the machine hits both alike.
    """
    deep = await storage.archive_stories(category="municipality", limit=4000)
    paths = [
        ("/", "/"),
        ("/c/municipality", "/c/municipality"),
        ("/c/municipality, page 200", f"/c/municipality?before={deep[-1].id}"),
        ("/search?q=sarj istasyonu", "/search?q=sarj+istasyonu"),
        ("/search?q=togg batarya", "/search?q=togg+batarya"),
        ("/s/<id>", f"/s/{stories // 2 + 1}"),
        ("/feeds/all.atom", "/feeds/all.atom"),
    ]
    results = []
    async with httpx.AsyncClient(timeout=30) as http:
        for label, path in paths:
            for served in sites:
                for _ in range(10):
                    await timed(http, served.base + path)
            times: dict[str, list[float]] = {s.name: [] for s in sites}
            for _ in range(requests):
                for served in sites:
                    times[served.name].append(await timed(http, served.base + path))
            for served in sites:
                t_ = times[served.name]
                results.append(
                    (label, served.name, statistics.median(t_), percentile(t_, 95), max(t_))
                )
    return results


SEARCHES = [
    "sarj istasyonu",
    "togg batarya",
    "elektrikli otobüs",
    "belediye",
    "lityum hücre",
    "izmir",
    "EPDK lisans",
    "teşvik",
    "şarj",
    "ford otosan",
    "scooter kask",
    "ihracat rekor",
    "battery plant",
    "charging grid",
    "menzil",
    "kocaeli fabrika",
    "tübitak",
    "hibrit filo",
]


def mixed_requests(rng: random.Random, stories: int, count: int) -> list[tuple[str, str]]:
    """`count` (route class, path) pairs in the proportions readers produce.

    Home and category pages dominate, with a few older pages; searches are
    drawn from a list of typical queries plus one in three never seen before
    (a cache cannot help those); story pages are spread over the archive.
    """
    mix: list[tuple[str, str]] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.25:
            mix.append(("home", "/" + rng.choice(["", "?lang=en"])))
        elif roll < 0.50:
            mix.append(("category", f"/c/{rng.choice(CATEGORY_IDS)}"))
        elif roll < 0.58:
            before = rng.randint(stories // 2, stories)
            mix.append(("older page", f"/c/{rng.choice(CATEGORY_IDS)}?before={before}"))
        elif roll < 0.73:
            novel = rng.random() < 1 / 3
            words = " ".join(rng.sample(WORDS, 2)) if novel else rng.choice(SEARCHES)
            mix.append(("search", "/search?" + urlencode({"q": words})))
        elif roll < 0.85:
            # Every tenth id is uncategorised (see synthetic): not a public page.
            story_id = rng.randrange(0, stories - 10, 10) + rng.randint(1, 9)
            mix.append(("story", f"/s/{story_id}"))
        else:
            tag = rng.choice(["all", "all", *CATEGORY_IDS])
            mix.append(("feed", f"/feeds/{tag}.atom"))
    return mix


async def ingest_one(storage: Storage, story_id: int, rng: random.Random) -> None:
    """Store one more story the way the bulk fill does (the FTS triggers keep search current)."""
    row, categories, feeds = synthetic(story_id - 1, rng, datetime.now(UTC))
    row["first_seen_at"] = row["published_at"] = datetime.now(UTC)
    async with storage.engine.begin() as conn:
        await conn.execute(insert(t.items), [row])
        if categories:
            await conn.execute(
                insert(t.item_categories),
                [{"item_id": story_id, "category": c} for c in categories],
            )
        await conn.execute(
            insert(t.item_sources),
            [
                {
                    "item_id": story_id,
                    "feed_id": feeds[0],
                    "link": row["link"],
                    "seen_at": row["first_seen_at"],
                }
            ],
        )


def load_client(
    base: str, mix: list[tuple[str, str]], rate: float, seed: int, etags: dict[str, str]
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Send `mix` to `base` as readers would: `rate` requests a second on average, at random
    (Poisson) moments, whether or not earlier ones were answered. Ms per request by route
    class, and the feed ETags seen (for the next round's conditional polls).

    Runs in its own process, so the readers' HTTP work does not share the
    server's event loop. Open loop: a slow answer does not slow the arrivals,
    so queueing shows in the figures as it would for real readers.
    """

    async def run() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {}
        rng = random.Random(seed)

        async def one(http: httpx.AsyncClient, route: str, path: str) -> None:
            # Feed readers poll conditionally, as real ones do.
            headers = {"If-None-Match": etags[path]} if path in etags else None
            began = time.perf_counter()
            response = await http.get(base + path, headers=headers)
            times.setdefault(route, []).append((time.perf_counter() - began) * 1000)
            if response.status_code not in (200, 304):
                response.raise_for_status()
            if route == "feed" and "etag" in response.headers:
                etags[path] = response.headers["etag"]

        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            sent = []
            due = time.perf_counter()
            for route, path in mix:
                due += rng.expovariate(rate)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                sent.append(asyncio.create_task(one(http, route, path)))
            await asyncio.gather(*sent)
        return times

    return asyncio.run(run()), etags


async def under_load(
    storage: Storage, sites: list[Served], stories: int, args: argparse.Namespace
) -> tuple[list[tuple[str, str, float, float, float, int]], float, int]:
    """(route class, site, p50, p95, max, requests) under mixed load; wall s; stories stored.

    The readers' mix arrives at `args.rate` requests a second, in rounds of
    200 that alternate between the sites (so both see the same machine load),
    while a writer stores a new story every `args.ingest_every` seconds,
    which empties the page cache each time.
    """
    mix = mixed_requests(random.Random(18), stories, args.mixed)
    done = asyncio.Event()
    stored = 0

    async def writer() -> None:
        nonlocal stored
        write_rng = random.Random(19)
        while not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), args.ingest_every)
            except TimeoutError:
                await ingest_one(storage, stories + 1 + stored, write_rng)
                stored += 1

    times: dict[tuple[str, str], list[float]] = {}
    etags: dict[str, dict[str, str]] = {s.name: {} for s in sites}
    began = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(pool, load_client, sites[0].base, [], 1.0, 0, {})  # start it
        writing = asyncio.create_task(writer())
        try:
            for round_, first in enumerate(range(0, len(mix), 200)):
                for served in sites:
                    found, etags[served.name] = await loop.run_in_executor(
                        pool,
                        load_client,
                        served.base,
                        mix[first : first + 200],
                        args.rate,
                        round_,
                        etags[served.name],
                    )
                    for route, values in found.items():
                        times.setdefault((route, served.name), []).extend(values)
        finally:
            done.set()
            await writing
    wall = time.perf_counter() - began
    rows = [
        (route, site, statistics.median(v), percentile(v, 95), max(v), len(v))
        for (route, site), v in sorted(times.items())
    ]
    return rows, wall, stored


async def explain(storage: Storage) -> None:
    """Print the plan of the cache's version query (it runs on every request)."""
    async with storage.engine.connect() as conn:
        if storage.dialect == "postgresql":
            sql = (
                "EXPLAIN ANALYZE SELECT (SELECT max(id) FROM items), (SELECT min(id) FROM items), "
                "(SELECT max(seen_at) FROM item_sources)"
            )
        else:
            sql = (
                "EXPLAIN QUERY PLAN SELECT (SELECT max(id) FROM items), "
                "(SELECT min(id) FROM items), (SELECT max(seen_at) FROM item_sources)"
            )
        for row in await conn.execute(text(sql)):
            print("   ", " | ".join(str(c) for c in row), flush=True)


async def run_backend(
    name: str, url: str, schema: str | None, args: argparse.Namespace
) -> tuple[list[str], list[str]]:
    storage = await Storage.open(url, schema=schema)
    sites: list[Served] = []
    try:
        seconds = await fill(storage, args.stories)
        print(f"{name}: {args.stories:,} stories loaded in {seconds:.0f} s", flush=True)
        print(f"{name}: plan of the version query:", flush=True)
        await explain(storage)
        sites = [await serve(storage, "before", 0), await serve(storage, "after", DEFAULT_SIZE)]
        rows = await sequential(storage, sites, args.stories, args.requests)
        load_rows = []
        if args.mixed:
            load_rows, wall, stored = await under_load(storage, sites, args.stories, args)
            total = sum(r[5] for r in load_rows)
            print(
                f"{name} under load: {total} requests in {wall:.1f} s, {stored} stories stored "
                "meanwhile; cache "
                f"hits {sites[1].site.cache.hits}, misses {sites[1].site.cache.misses}",
                flush=True,
            )
    finally:
        for served in sites:
            await served.runner.cleanup()
        await storage.close()
    lines = _table(name, rows)
    load_lines = _table(name, [(r[0] + f" ({r[5]})", *r[1:5]) for r in load_rows])
    print("\n".join(lines + load_lines), flush=True)  # at once, in case a later backend fails
    return lines, load_lines


def _table(name: str, rows: list[tuple[str, str, float, float, float]]) -> list[str]:
    """Markdown rows: before and after side by side, with after/before of p95."""
    by_route: dict[str, dict[str, tuple[float, float, float]]] = {}
    for label, site, p50, p95, worst in rows:
        by_route.setdefault(label, {})[site] = (p50, p95, worst)
    lines = []
    for label, sites in by_route.items():
        b, a = sites.get("before"), sites.get("after")
        if b is None or a is None:
            continue
        verdict = "✓" if a[1] < TARGET_MS else "✗"
        lines.append(
            f"| {name} | `{label}` | {b[0]:.1f} | {b[1]:.1f} | {a[0]:.1f} | {a[1]:.1f} {verdict} "
            f"| {a[2]:.1f} | {a[1] / b[1]:.2f} |"
        )
    return lines


async def main_async(args: argparse.Namespace) -> int:
    lines: list[str] = []
    load_lines: list[str] = []
    load_before = os.getloadavg()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="evbot-archive-bench-") as tmp:
            path = f"sqlite:///{Path(tmp)}/bench.sqlite3"
            found = await run_backend("SQLite", path, None, args)
            lines += found[0]
            load_lines += found[1]
    if args.postgres:
        import asyncpg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(args.postgres)
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.close()
        try:
            found = await run_backend("PostgreSQL", args.postgres, schema, args)
            lines += found[0]
            load_lines += found[1]
        finally:
            conn = await asyncpg.connect(args.postgres)
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await conn.close()
    header = (
        "| database | page | before p50 | before p95 | after p50 | after p95 | after max "
        "| p95 after/before |"
    )
    print()
    print(
        f"Archive latency, {args.stories:,} stories, measured at the client (HTTP + SQL + "
        f"rendering), ms; 'before' = page cache off (every request renders, as before "
        f"the cache), 'after' = page cache on; target p95 < {TARGET_MS:g} ms."
    )
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, load average {load_before[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    print()
    print(f"Each page alone: {args.requests} sequential requests per page and site, the two sites")
    print("taking turns, after 10 warm-up requests each.")
    print()
    print(header)
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for line in lines:
        print(line)
    if load_lines:
        print()
        print(
            f"Under load: {args.mixed} requests of the readers' mix per site arriving at "
            f"{args.rate:g}/s (Poisson, open loop, from another process), in rounds of 200 "
            f"alternating between the sites; a new story stored every {args.ingest_every:g} s "
            "(each empties the cache); feeds polled with If-None-Match; (n) = requests."
        )
        print()
        print(header)
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for line in load_lines:
            print(line)
    return 0 if all("✓" in line for line in lines + load_lines) else 1


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--mixed", type=int, default=2000, help="requests of the mixed load per site (0: none)"
    )
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second under load")
    parser.add_argument(
        "--ingest-every", type=float, default=1.0, help="seconds between stories stored under load"
    )
    default_pg = os.environ.get("EVBOT_TEST_POSTGRES_URL")
    parser.add_argument(
        "--postgres", default=default_pg, help="PostgreSQL URL (default: EVBOT_TEST_POSTGRES_URL)"
    )
    parser.add_argument("--no-postgres", dest="postgres", action="store_const", const=None)
    parser.add_argument("--no-sqlite", dest="skip_sqlite", action="store_true")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
